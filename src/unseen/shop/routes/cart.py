from __future__ import annotations

from fastapi import APIRouter

from unseen.shop import crud
from unseen.shop.deps import CurrentAuth, ProductId, SessionDep
from unseen.shop.schemas import CartAddIn, CartLine, CartPublic, CartUpdateIn
from unseen.tables import ProductPublic

router = APIRouter(prefix="/cart", tags=["cart"])

_CONFLICT = {409: {"description": "Not enough in stock"}, 404: {"description": "No such product, or not in the cart"}}


def cart_public(session, user_id: int) -> CartPublic:
    lines = [
        CartLine(product=ProductPublic.model_validate(p), quantity=i.quantity, line_total_cents=i.quantity * p.price_cents)
        for i, p in crud.get_cart(session=session, user_id=user_id)
    ]
    return CartPublic(items=lines, count=sum(line.quantity for line in lines),
                      total_cents=sum(line.line_total_cents for line in lines))


@router.get("", response_model=CartPublic)
def get_cart(auth: CurrentAuth, session: SessionDep) -> CartPublic:
    """The logged-in user's cart."""
    return cart_public(session, auth.user.id)


@router.post("", response_model=CartPublic, responses=_CONFLICT)
def add_to_cart(body: CartAddIn, auth: CurrentAuth, session: SessionDep) -> CartPublic:
    """Add a quantity of a product (added to what is already in the cart, never beyond stock)."""
    crud.add_to_cart(session=session, user_id=auth.user.id, product_id=body.product_id, quantity=body.quantity,
                     session_id=auth.session.id)
    cart = cart_public(session, auth.user.id)  # read before the commit: afterwards it would take the lock again
    session.commit()
    return cart


@router.put("/{product_id}", response_model=CartPublic, responses=_CONFLICT)
def set_quantity(product_id: ProductId, body: CartUpdateIn, auth: CurrentAuth, session: SessionDep) -> CartPublic:
    """Set the quantity of a product already in the cart."""
    crud.set_cart_quantity(session=session, user_id=auth.user.id, product_id=product_id, quantity=body.quantity,
                           session_id=auth.session.id)
    cart = cart_public(session, auth.user.id)  # read before the commit: afterwards it would take the lock again
    session.commit()
    return cart


@router.delete("/{product_id}", response_model=CartPublic, responses=_CONFLICT)
def remove(product_id: ProductId, auth: CurrentAuth, session: SessionDep) -> CartPublic:
    """Take a product out of the cart."""
    crud.remove_from_cart(session=session, user_id=auth.user.id, product_id=product_id, session_id=auth.session.id)
    cart = cart_public(session, auth.user.id)  # read before the commit: afterwards it would take the lock again
    session.commit()
    return cart
