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
    """Products for this visitor: personal recommendations for a logged-in user with history (they follow the
    user's cart and favourite changes on the very next request), else what sells most lately. In stock only."""
    result = request.app.state.feed.page(session, user_id=auth.user.id if auth else None, category=category,
                                         offset=(page - 1) * per_page, limit=per_page)
    return FeedPublic(strategy=result.strategy, model_version=result.model_version,
                      items=[ProductPublic.model_validate(p) for p in result.items], page=page, per_page=per_page)
