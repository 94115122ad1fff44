"""Request and response bodies of the JSON API that are not an entity's own family (those live in ``tables``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints
from sqlmodel import SQLModel

from unseen.tables import MAX_ID, ProductPublic, UserPublic

ProductIdField = Annotated[int, Field(ge=1, le=MAX_ID, description="A product id")]
Quantity = Annotated[int, Field(ge=1, le=1000, description="How many, from 1 to 1000 (and no more than in stock)")]


class LoginIn(SQLModel):
    email: EmailStr
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LoginOut(SQLModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; the same session is set as a cookie")
    expires_at: datetime
    user: UserPublic
    step_up_required: bool = Field(
        default=False, description="The login was unusual for this account: the session stays inactive until the "
                                   "one-time code e-mailed to the user is sent to `POST /api/auth/step-up`")


class StepUpIn(SQLModel):
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$", description="The six-digit code e-mailed")


class CartAddIn(SQLModel):
    product_id: ProductIdField
    quantity: Quantity = 1


class CartUpdateIn(SQLModel):
    quantity: Quantity


class FavouriteIn(SQLModel):
    product_id: ProductIdField


class ProductPage(SQLModel):
    items: list[ProductPublic]
    total: int
    page: int
    per_page: int
    pages: int


class CartLine(SQLModel):
    product: ProductPublic
    quantity: int
    line_total_cents: int


class CartPublic(SQLModel):
    items: list[CartLine]
    count: int
    total_cents: int


class OrderLinePublic(SQLModel):
    product_id: int
    name: str
    quantity: int
    unit_price_cents: int


class OrderPublic(SQLModel):
    id: int
    created_at: datetime
    status: str
    total_cents: int
    lines: list[OrderLinePublic]


class FeedPublic(SQLModel):
    strategy: str = Field(description="`personal` (item-kNN over the user's own events) or `popular` (recent sales)")
    model_version: str | None = Field(default=None, description="The recommender version behind a personal feed")
    items: list[ProductPublic]
    page: int
    per_page: int

