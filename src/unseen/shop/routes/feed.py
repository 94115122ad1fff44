from __future__ import annotations

from fastapi import APIRouter, Request

from unseen.shop.deps import OptionalAuth, SessionDep
from unseen.shop.routes.products import CategoryFilter, PageNumber, PerPage
from unseen.shop.schemas import FeedPublic
from unseen.tables import ProductPublic

router = APIRouter(prefix="/feed", tags=["feed"])


@router.get("", response_model=FeedPublic)
def feed(request: Request, session: SessionDep, auth: OptionalAuth, page: PageNumber = 1, per_page: PerPage = 24,
         category: CategoryFilter = None) -> FeedPublic:
    """Products for this visitor: what sells most lately, in stock."""
    items = request.app.state.popularity.products(session, category=category, offset=(page - 1) * per_page,
                                                  limit=per_page)
    return FeedPublic(strategy="popular", items=[ProductPublic.model_validate(p) for p in items], page=page,
                      per_page=per_page)
