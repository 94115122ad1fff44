"""What the shop wrote to the database, read back directly: events, sessions, stock."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from unseen.shop.security import token_hash
from unseen.tables import CartItem, Event, EventKind, Order, Product, UserSession


def events(engine: Engine, kind: EventKind | None = None) -> list[Event]:
    """Every event (of one kind), oldest first."""
    with Session(engine) as session:
        statement = select(Event).order_by(col(Event.id))
        if kind is not None:
            statement = statement.where(Event.kind == kind)
        return list(session.exec(statement).all())


def session_of(engine: Engine, headers: dict[str, str]) -> UserSession:
    """The server-side session behind a bearer header."""
    token = headers["Authorization"].removeprefix("Bearer ")
    with Session(engine) as session:
        found = session.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).one()
        session.expunge(found)
        return found


def product(engine: Engine, product_id: int) -> Product:
    with Session(engine, expire_on_commit=False) as session:
        found = session.get(Product, product_id)
        assert found is not None
        return found


def cart_rows(engine: Engine, user_id: int) -> list[tuple[int, int]]:
    """(product id, quantity) of a user's cart rows."""
    with Session(engine) as session:
        rows = session.exec(select(CartItem).where(CartItem.user_id == user_id).order_by(col(CartItem.id))).all()
        return [(row.product_id, row.quantity) for row in rows]


def order_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Order.id)).all())
