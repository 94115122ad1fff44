from __future__ import annotations

from fastapi import APIRouter, Response, status

from unseen.shop import crud
from unseen.shop.deps import CurrentAuth, ProductId, SessionDep
from unseen.shop.schemas import FavouriteIn
from unseen.tables import ProductPublic

router = APIRouter(prefix="/favourites", tags=["favourites"])


@router.get("", response_model=list[ProductPublic])
def list_favourites(auth: CurrentAuth, session: SessionDep) -> list[ProductPublic]:
    """The logged-in user's favourite products, newest first."""
    return [ProductPublic.model_validate(p) for p in crud.list_favourites(session=session, user_id=auth.user.id)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=list[ProductPublic],
             responses={200: {"description": "Already a favourite; nothing changed"}, 404: {"description": "No such product"}})
def add_favourite(body: FavouriteIn, auth: CurrentAuth, session: SessionDep, response: Response) -> list[ProductPublic]:
    """Mark a product as a favourite (201), or confirm it already is one (200)."""
    added = crud.add_favourite(session=session, user_id=auth.user.id, product_id=body.product_id,
                               session_id=auth.session.id)
    favourites = [ProductPublic.model_validate(p) for p in crud.list_favourites(session=session, user_id=auth.user.id)]
    session.commit()  # after the read: a read after the commit would take the write lock again
    if not added:
        response.status_code = status.HTTP_200_OK
    return favourites


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "Not a favourite"}})
def remove_favourite(product_id: ProductId, auth: CurrentAuth, session: SessionDep) -> Response:
    """Unmark a favourite."""
    crud.remove_favourite(session=session, user_id=auth.user.id, product_id=product_id, session_id=auth.session.id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
