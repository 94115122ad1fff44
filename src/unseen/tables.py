"""Every table of unseen in one place, with the small family of API models that belongs to each entity.

Times are aware UTC datetimes (``utcnow()``); SQLModel stores them as UTC (without an offset on SQLite) and gives
them back in UTC.
Money is in integer cents.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, StringConstraints
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

MAX_ID = 2**31 - 1
"""The largest id the API accepts (a 32-bit integer): anything larger is refused before it reaches SQL."""


def utcnow() -> datetime:
    """Now, in UTC (every time in every table is an aware UTC datetime)."""
    return datetime.now(UTC)


def _no_control_characters(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


# The length limits come before the check for control characters: placed after a validator function they would be
# measured before the whitespace is stripped, and a name of only spaces would pass as an empty name.
_NoControlCharacters = AfterValidator(_no_control_characters)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _NoControlCharacters]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), _NoControlCharacters]
Description = Annotated[str, StringConstraints(max_length=5000), _NoControlCharacters]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), _NoControlCharacters]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]


class Role(str, enum.Enum):
    customer = "customer"
    operator = "operator"


class EventKind(str, enum.Enum):
    view = "view"
    cart_add = "cart_add"
    cart_remove = "cart_remove"
    favourite_add = "favourite_add"
    favourite_remove = "favourite_remove"
    purchase = "purchase"
    login_ok = "login_ok"
    login_fail = "login_fail"
    logout = "logout"
    login_unusual = "login_unusual"
    """A successful login the login-risk model found unusual for the user (alerted, perhaps stepped up)."""
    step_up_ok = "step_up_ok"
    """The one-time code of a stepped-up login was entered: the session became active."""


# --- users and sessions -------------------------------------------------------------------------------------


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=254)
    full_name: Name


class UserCreate(UserBase):
    password: Password


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=200)
    password_hash: str
    role: Role = Field(default=Role.customer)
    country: str | None = Field(default=None, max_length=2)
    created_at: datetime = Field(default_factory=utcnow)


class UserPublic(SQLModel):
    id: int
    email: str
    full_name: str
    role: Role
    created_at: datetime


class UserSession(SQLModel, table=True):
    """A server-side login session; the browser holds only a random token whose SHA-256 is stored here."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_seen_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=40)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=400)


# --- catalogue ------------------------------------------------------------------------------------------------


class ProductBase(SQLModel):
    name: Name
    category: Category
    price_cents: int = Field(ge=1, le=100_000_000, description="Price in cents")
    stock: int = Field(ge=0, le=10_000_000)
    description: Description = ""


class ProductCreate(ProductBase):
    sku: Sku | None = None


class ProductUpdate(SQLModel):
    name: Name | None = None
    category: Category | None = None
    price_cents: int | None = Field(default=None, ge=1, le=100_000_000)
    stock: int | None = Field(default=None, ge=0, le=10_000_000)
    description: Description | None = None


class Product(SQLModel, table=True):
    __table_args__ = (Index("ix_product_active_category", "deleted_at", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200, index=True)
    category: str = Field(max_length=60, index=True)
    price_cents: int
    stock: int
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)


class ProductPublic(SQLModel):
    id: int
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int
    description: str


# --- cart, favourites, orders -----------------------------------------------------------------------------------


class CartItem(SQLModel, table=True):
    __tablename__ = "cart_item"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    added_at: datetime = Field(default_factory=utcnow)


class Favourite(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    created_at: datetime = Field(default_factory=utcnow)


class Order(SQLModel, table=True):
    __tablename__ = "shop_order"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    total_cents: int
    status: str = Field(default="placed", max_length=20)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    quantity: int
    unit_price_cents: int


# --- events -------------------------------------------------------------------------------------------------------


class Event(SQLModel, table=True):
    """One thing a user did: a view, a cart or favourite change, a purchase, a login or logout."""

    __table_args__ = (
        Index("ix_event_user_at", "user_id", "at"),
        Index("ix_event_kind_at", "kind", "at"),
    )

    # BIGINT on PostgreSQL (events outgrow 2**31), INTEGER on SQLite where only that is an alias of the rowid.
    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite"))
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: EventKind
    user_id: int | None = Field(default=None, foreign_key="user.id")
    session_id: int | None = Field(default=None, foreign_key="user_session.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    quantity: int | None = None
    extra: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Meta(SQLModel, table=True):
    """Small key/value facts about the database itself (what was seeded, with which parameters)."""

    key: str = Field(primary_key=True, max_length=100)
    value: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


# --- monitoring -----------------------------------------------------------------------------------------------------


class RequestLog(SQLModel, table=True):
    """Every request the shop answered (or refused), with its rule category and reasons."""

    __tablename__ = "request_log"
    __table_args__ = (Index("ix_request_log_ip_at", "ip", "at"), Index("ix_request_log_category_at", "category", "at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite"))
    at: datetime = Field(index=True)
    ip: str = Field(max_length=64)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    query: str = Field(default="", max_length=1000)
    status: int
    latency_ms: float
    user_agent: str | None = Field(default=None, max_length=400)
    referer: str | None = Field(default=None, max_length=500)
    user_id: int | None = None
    session_id: int | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    category: str = Field(default="normal", max_length=10)
    score: int = 0
    reasons: list[str] | None = Field(default=None, sa_column=Column(JSON))
    anomaly_kind: str | None = Field(default=None, max_length=40)
    model_score: float | None = None
    blocked: bool = False


class Decision(SQLModel, table=True):
    """An automatic (or operator) action: block an IP, terminate or flag a session, flag an account, notify."""

    __table_args__ = (Index("ix_decision_kind_target", "kind", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)  # block_ip, terminate_session, flag_session, flag_account, notify
    target: str = Field(max_length=200)
    anomaly_kind: str | None = Field(default=None, max_length=40)
    reason: str = Field(max_length=500)
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    offence: int = 1  # how many times this target was acted on, this one included (ban times grow with it)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    expires_at: datetime | None = None
    undone_at: datetime | None = None
    undone_by: int | None = Field(default=None, foreign_key="user.id")


class AllowlistEntry(SQLModel, table=True):
    """An IP address or network (CIDR) that is never blocked."""

    __tablename__ = "allowlist_entry"

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=64, unique=True)
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="user.id")


# --- login risk -------------------------------------------------------------------------------------------------


class LoginAttempt(SQLModel, table=True):
    """One login attempt, successful or not, with where and what it came from and how unusual it was for the user.

    ``source`` is ``live`` for attempts the shop saw and ``seed`` for the history ``unseen seed`` wrote. City and
    region stay empty with the GeoIP data the package ships (country and ASN only).
    """

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_user_at", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    email: str = Field(max_length=254)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    success: bool
    ip: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    region: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    asn: int | None = Field(default=None, sa_column=Column(BigInteger))
    asn_name: str | None = Field(default=None, max_length=200)
    browser: str | None = Field(default=None, max_length=60)
    browser_version: str | None = Field(default=None, max_length=20)
    os: str | None = Field(default=None, max_length=60)
    device: str | None = Field(default=None, max_length=20)
    user_agent: str | None = Field(default=None, max_length=400)
    hour: int | None = None
    weekday: int | None = None
    risk: float | None = None  # the frequency model's (Freeman et al.): log-likelihood ratio, higher is stranger
    svm_risk: float | None = None  # the One-Class SVM's, for comparison
    cold_start: bool = False
    new_features: list[str] | None = Field(default=None, sa_column=Column(JSON))
    action: str = Field(default="none", max_length=20)  # none, alert, step_up
    session_id: int | None = Field(default=None, foreign_key="user_session.id")
    source: str = Field(default="live", max_length=10)


class StepUpChallenge(SQLModel, table=True):
    """A one-time code a risky login must enter before its session becomes active."""

    __tablename__ = "step_up_challenge"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="user_session.id", unique=True, index=True)
    user_id: int = Field(foreign_key="user.id")
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    attempts: int = 0
    verified_at: datetime | None = None
    login_attempt_id: int | None = Field(default=None, foreign_key="login_attempt.id")


# --- churn predictions for other systems --------------------------------------------------------------------------


class ChurnPrediction(SQLModel, table=True):
    """One user's probability of churning, as one model version saw it at one cut-off.

    ``user_id`` is the card holder's id in the transactions layout (``client_id``), not a shop user. Written by
    :func:`unseen.analytics.churn.store_churn_predictions`, which replaces the rows of the same ``as_of`` and
    ``model``; churn there means no transaction in the stated number of days from ``as_of``.
    """

    __tablename__ = "churn_prediction"
    __table_args__ = (UniqueConstraint("as_of", "model", "user_id", name="uq_churn_prediction_as_of_model_user"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(index=True)
    as_of: date
    probability: float
    model: str = Field(max_length=60)
    version: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow)
