from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from unseen.shop import crud
from unseen.shop.deps import OperatorAuth, OptionalAuth, ProductId, SessionDep
from unseen.shop.schemas import ProductPage
from unseen.tables import ProductCreate, ProductPublic, ProductUpdate

router = APIRouter(prefix="/products", tags=["products"])

PageNumber = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100")]
CategoryFilter = Annotated[str | None, Query(max_length=60, description="Only this category")]
SearchQuery = Annotated[str | None, Query(max_length=200, description="Words to find in name, description or category")]


@router.get("", response_model=ProductPage)
def list_products(
    session: SessionDep,
    page: PageNumber = 1,
    per_page: PerPage = 24,
    category: CategoryFilter = None,
    q: SearchQuery = None,
    order: Literal["name", "price", "newest"] = "name",
) -> ProductPage:
    """The active catalogue, paged, with category filter and search."""
    items, total = crud.list_products(session=session, page=page, per_page=per_page, category=category,
                                      query=(q or "").replace("\x00", ""), order=order)
    return ProductPage(items=[ProductPublic.model_validate(p) for p in items], total=total, page=page,
                       per_page=per_page, pages=crud.pages(total, per_page))


@router.get("/categories", response_model=dict[str, int])
def categories(session: SessionDep) -> dict[str, int]:
    """Every category with its number of active products."""
    return dict(crud.list_categories(session=session))


@router.get("/{product_id}", response_model=ProductPublic, responses={404: {"description": "No such product"}})
def get_product(product_id: ProductId, request: Request, session: SessionDep, auth: OptionalAuth) -> ProductPublic:
    """One product; the view is recorded as an event."""
    product = crud.get_product(session=session, product_id=product_id)
    # End this request's read transaction before the view's own write transaction: SQLite cannot open one
    # inside the other when both share a connection (an in-memory database).
    session.commit()
    crud.record_view(engine=request.app.state.engine, product_id=product.id,
                     user_id=auth.user.id if auth else None, session_id=auth.session.id if auth else None)
    return ProductPublic.model_validate(product)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductPublic,
             responses={409: {"description": "The SKU is taken"}})
def create_product(product_in: ProductCreate, session: SessionDep, _: OperatorAuth) -> ProductPublic:
    """Add a product (operators only)."""
    product = crud.create_product(session=session, product_in=product_in)
    session.commit()
    return ProductPublic.model_validate(product)


@router.patch("/{product_id}", response_model=ProductPublic, responses={404: {"description": "No such product"}})
def update_product(product_id: ProductId, product_in: ProductUpdate, session: SessionDep, _: OperatorAuth) -> ProductPublic:
    """Change some fields of a product (operators only)."""
    product = crud.get_product(session=session, product_id=product_id)
    crud.update_product(session=session, product=product, product_in=product_in)
    session.commit()
    return ProductPublic.model_validate(product)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "No such product"}})
def delete_product(product_id: ProductId, session: SessionDep, _: OperatorAuth) -> Response:
    """Retire a product from the catalogue; past orders keep it (operators only)."""
    product = crud.get_product(session=session, product_id=product_id)
    crud.delete_product(session=session, product=product)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
