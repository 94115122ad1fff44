"""Landing page, product feed (paged, category filter, search) and product pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from unseen.shop import crud
from unseen.shop.deps import OptionalAuth, ProductId, SessionDep
from unseen.shop.pages.render import render

router = APIRouter()


@router.get("/")
def landing(request: Request, auth: OptionalAuth, session: SessionDep):
    feed = request.app.state.feed.page(session, user_id=auth.user.id if auth else None, category=None, offset=0,
                                       limit=8)
    return render(request, "index.html", auth=auth, session=session, feed=feed,
                  categories=crud.list_categories(session=session))


@router.get("/products")
def product_feed(
    request: Request,
    auth: OptionalAuth,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    category: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    order: Annotated[str, Query(pattern="^(name|price|newest)$")] = "name",
):
    per_page = request.app.state.settings.page_size
    query = (q or "").replace("\x00", "").strip()
    items, total = crud.list_products(session=session, page=page, per_page=per_page, category=category or None,
                                      query=query, order=order)
    favourites = crud.favourite_ids(session=session, user_id=auth.user.id) if auth else set()
    picks = None if (query or category or page > 1) else request.app.state.feed.page(
        session, user_id=auth.user.id if auth else None, category=None, offset=0, limit=5)
    return render(request, "products.html", auth=auth, session=session, items=items, total=total, page=page,
                  pages=crud.pages(total, per_page), category=category or "", q=query, order=order, picks=picks,
                  favourites=favourites, categories=crud.list_categories(session=session))


@router.get("/products/{product_id}")
def product_page(product_id: ProductId, request: Request, auth: OptionalAuth, session: SessionDep):
    product = crud.get_product(session=session, product_id=product_id)
    # End this request's read transaction before the view's own write transaction: SQLite cannot open one
    # inside the other when both share a connection (an in-memory database).
    session.commit()
    crud.record_view(engine=request.app.state.engine, product_id=product.id,
                     user_id=auth.user.id if auth else None, session_id=auth.session.id if auth else None)
    favourite = auth is not None and product.id in crud.favourite_ids(session=session, user_id=auth.user.id)
    return render(request, "product.html", auth=auth, session=session, product=product, favourite=favourite)
