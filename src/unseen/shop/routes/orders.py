from __future__ import annotations

from fastapi import APIRouter, status

from unseen.shop import crud
from unseen.shop.deps import CurrentAuth, OrderId, SessionDep
from unseen.shop.schemas import OrderLinePublic, OrderPublic
from unseen.tables import Order

router = APIRouter(prefix="/orders", tags=["orders"])


def orders_public(session, orders: list[Order]) -> list[OrderPublic]:
    lines = crud.order_lines(session=session, order_ids=[o.id for o in orders])
    return [
        OrderPublic(
            id=o.id, created_at=o.created_at, status=o.status, total_cents=o.total_cents,
            lines=[OrderLinePublic(product_id=p.id, name=p.name, quantity=line.quantity,
                                   unit_price_cents=line.unit_price_cents) for line, p in lines[o.id]],
        )
        for o in orders
    ]


@router.get("", response_model=list[OrderPublic])
def list_orders(auth: CurrentAuth, session: SessionDep) -> list[OrderPublic]:
    """The logged-in user's orders, newest first."""
    return orders_public(session, crud.list_orders(session=session, user_id=auth.user.id))


@router.get("/{order_id}", response_model=OrderPublic, responses={404: {"description": "No such order of yours"}})
def get_order(order_id: OrderId, auth: CurrentAuth, session: SessionDep) -> OrderPublic:
    """One of the logged-in user's orders."""
    return orders_public(session, [crud.get_order(session=session, user_id=auth.user.id, order_id=order_id)])[0]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderPublic,
             responses={409: {"description": "Empty cart, or not enough in stock"}})
def checkout(auth: CurrentAuth, session: SessionDep) -> OrderPublic:
    """Check out: the cart becomes an order, stock is decremented atomically and never oversold."""
    order = crud.checkout(session=session, user_id=auth.user.id, session_id=auth.session.id)
    placed = orders_public(session, [order])[0]  # read before the commit: afterwards it would take the lock again
    session.commit()
    return placed
