"""The shop's database work as plain functions with keyword-only arguments.

Every state change writes its event in the same transaction as the change (the caller commits once), so nothing a
user did is lost or half-recorded if the server stops right after answering.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from unseen.db import session_scope
from unseen.shop.errors import Conflict, NotFound, Unauthorized
from unseen.shop.security import hash_password, new_token, token_hash, verify_password
from unseen.tables import (
    CartItem,
    Event,
    EventKind,
    Favourite,
    Order,
    OrderLine,
    StepUpChallenge,
    Product,
    ProductCreate,
    ProductUpdate,
    Role,
    User,
    UserCreate,
    UserSession,
    utcnow,
)

def record_event(
    *,
    session: Session,
    kind: EventKind,
    user_id: int | None = None,
    session_id: int | None = None,
    product_id: int | None = None,
    quantity: int | None = None,
    extra: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    event = Event(
        kind=kind, user_id=user_id, session_id=session_id, product_id=product_id, quantity=quantity, extra=extra,
        at=at or utcnow(),
    )
    session.add(event)
    return event


def record_view(*, engine: Engine, product_id: int, user_id: int | None, session_id: int | None) -> None:
    """Write a product view in its own short write transaction: the page that shows the product only reads."""
    with session_scope(engine) as session:
        record_event(session=session, kind=EventKind.view, product_id=product_id, user_id=user_id,
                     session_id=session_id)


# --- accounts and sessions ------------------------------------------------------------------------------------


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(*, session: Session, user_in: UserCreate, role: Role = Role.customer) -> User:
    email = str(user_in.email).strip().lower()
    # Hash first: the slow part must not run while the request's write transaction holds the database.
    password_hash = hash_password(user_in.password)
    if get_user_by_email(session=session, email=email) is not None:
        raise Conflict(f"an account with the e-mail {email} already exists; log in instead")
    user = User(email=email, full_name=user_in.full_name, password_hash=password_hash, role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration with the same e-mail won the race
        session.rollback()
        raise Conflict(f"an account with the e-mail {email} already exists; log in instead") from exc
    return user


def authenticate(
    *, session: Session, engine: Engine, email: str, password: str, ip: str | None = None,
    user_agent: str | None = None,
) -> User:
    """The user whose password matches, or :class:`Unauthorized` that does not say whether the account exists.

    The account is looked up and its password checked in a short read of its own, so the deliberately slow password
    hash never runs inside the request's write transaction. Both outcomes are recorded as events (``login_ok`` /
    ``login_fail``) in ``session``.
    """
    with Session(engine, expire_on_commit=False) as reader:
        user = get_user_by_email(session=reader, email=email)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        record_event(
            session=session, kind=EventKind.login_fail, user_id=user.id if user else None,
            extra={"email": email.strip().lower()[:254], "ip": ip, "user_agent": (user_agent or "")[:400]},
        )
        raise Unauthorized("incorrect e-mail or password")
    return user


def start_session(
    *, session: Session, user: User, lifetime: timedelta, ip: str | None = None, user_agent: str | None = None
) -> tuple[UserSession, str]:
    """Open a server-side session and record the ``login_ok`` event; returns the row and the token for the cookie."""
    token = new_token()
    now = utcnow()
    user_session = UserSession(
        token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now, expires_at=now + lifetime,
        ip=ip, user_agent=(user_agent or "")[:400] or None,
    )
    session.add(user_session)
    session.flush()
    record_event(session=session, kind=EventKind.login_ok, user_id=user.id, session_id=user_session.id,
                 extra={"ip": ip, "user_agent": (user_agent or "")[:400]})
    return user_session, token


def resolve_session(*, session: Session, token: str) -> tuple[UserSession, User] | None:
    """The live session and its user for a cookie or bearer token; None when unknown, ended or expired."""
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(UserSession, User).join(User, col(User.id) == UserSession.user_id).where(
            UserSession.token_hash == token_hash(token)
        )
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.ended_at is not None or user_session.expires_at <= utcnow():
        return None
    return user_session, user


def step_up_pending(*, session: Session, session_id: int) -> bool:
    """Whether a session still waits for the one-time code of a stepped-up login."""
    return session.exec(select(StepUpChallenge.id).where(StepUpChallenge.session_id == session_id,
                                                        col(StepUpChallenge.verified_at).is_(None))).first() is not None


def end_session(*, session: Session, user_session: UserSession, reason: str = "logout") -> None:
    user_session.ended_at = utcnow()
    user_session.end_reason = reason
    session.add(user_session)
    record_event(session=session, kind=EventKind.logout, user_id=user_session.user_id, session_id=user_session.id,
                 extra={"reason": reason})


# --- catalogue ------------------------------------------------------------------------------------------------


def get_product(*, session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound(f"no product with id {product_id}")
    return product


def list_products(
    *,
    session: Session,
    page: int = 1,
    per_page: int = 24,
    category: str | None = None,
    query: str | None = None,
    order: str = "name",
) -> tuple[list[Product], int]:
    """One page of the active catalogue, filtered by category and a case-insensitive search; and the total count."""
    conditions = [col(Product.deleted_at).is_(None)]
    if category:
        conditions.append(Product.category == category)
    if query:
        words = [w for w in query.lower().split() if w][:8]
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(
                or_(func.lower(Product.name).like(pattern, escape="\\"),
                    func.lower(Product.description).like(pattern, escape="\\"),
                    func.lower(Product.category).like(pattern, escape="\\"))
            )
    total = session.exec(select(func.count()).select_from(Product).where(*conditions)).one()
    ordering = {"name": [col(Product.name), col(Product.id)],
                "price": [col(Product.price_cents), col(Product.id)],
                "newest": [col(Product.created_at).desc(), col(Product.id).desc()]}[order]
    items = session.exec(
        select(Product).where(*conditions).order_by(*ordering).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(items), int(total)


def list_categories(*, session: Session) -> list[tuple[str, int]]:
    rows = session.exec(
        select(Product.category, func.count()).where(col(Product.deleted_at).is_(None))
        .group_by(Product.category).order_by(Product.category)
    ).all()
    return [(c, int(n)) for c, n in rows]


def popular_product_ids(*, session: Session, category: str | None = None, days: int = 90) -> list[int]:
    """Active, in-stock product ids by units sold in the last ``days`` days, then by name: the ranking behind the
    feed of visitors without history."""
    since = utcnow() - timedelta(days=days)
    sold = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("units"))
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(Order.created_at >= since)
        .group_by(OrderLine.product_id)
        .subquery()
    )
    statement = (
        select(Product.id)
        .outerjoin(sold, sold.c.product_id == Product.id)
        .where(col(Product.deleted_at).is_(None), Product.stock > 0)
    )
    if category:
        statement = statement.where(Product.category == category)
    statement = statement.order_by(func.coalesce(sold.c.units, 0).desc(), col(Product.name), col(Product.id))
    return list(session.exec(statement).all())


def products_by_ids(*, session: Session, ids: list[int]) -> list[Product]:
    """The active products with these ids, in the order given."""
    if not ids:
        return []
    found = {p.id: p for p in session.exec(select(Product).where(col(Product.id).in_(ids), col(Product.deleted_at).is_(None)))}
    return [found[i] for i in ids if i in found]


def _new_sku(session: Session) -> str:
    last = session.exec(select(func.max(Product.id))).one() or 0
    return f"U{last + 1:06d}"


def create_product(*, session: Session, product_in: ProductCreate) -> Product:
    data = product_in.model_dump()
    sku = data.pop("sku") or _new_sku(session)
    if session.exec(select(Product.id).where(Product.sku == sku)).first() is not None:
        raise Conflict(f"a product with SKU {sku} already exists; choose another SKU")
    product = Product(sku=sku, **data)
    session.add(product)
    session.flush()
    return product


def update_product(*, session: Session, product: Product, product_in: ProductUpdate) -> Product:
    changes = product_in.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(product, key, value)
    product.updated_at = utcnow()
    session.add(product)
    return product


def delete_product(*, session: Session, product: Product) -> None:
    """Retire a product: it leaves the catalogue, carts and favourites; order history keeps pointing at it."""
    product.deleted_at = utcnow()
    session.add(product)
    for item in session.exec(select(CartItem).where(CartItem.product_id == product.id)).all():
        session.delete(item)
    for favourite in session.exec(select(Favourite).where(Favourite.product_id == product.id)).all():
        session.delete(favourite)


# --- cart ---------------------------------------------------------------------------------------------------------


def get_cart(*, session: Session, user_id: int) -> list[tuple[CartItem, Product]]:
    rows = session.exec(
        select(CartItem, Product).join(Product, col(Product.id) == CartItem.product_id)
        .where(CartItem.user_id == user_id).order_by(col(CartItem.added_at), col(CartItem.id))
    ).all()
    return [(item, product) for item, product in rows]


def cart_count(*, session: Session, user_id: int) -> int:
    return int(session.exec(select(func.coalesce(func.sum(CartItem.quantity), 0)).where(CartItem.user_id == user_id)).one())


def _check_quantity(product: Product, quantity: int) -> None:
    if quantity < 1:
        raise Conflict(f"quantity must be at least 1, got {quantity}")
    if quantity > product.stock:
        available = "none" if product.stock == 0 else f"only {product.stock}"
        raise Conflict(f"cannot put {quantity} of {product.name!r} in the cart: {available} in stock")


def add_to_cart(*, session: Session, user_id: int, product_id: int, quantity: int, session_id: int | None = None) -> CartItem:
    product = get_product(session=session, product_id=product_id)
    item = session.exec(select(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)).first()
    new_quantity = (item.quantity if item else 0) + quantity
    _check_quantity(product, new_quantity)
    if item is None:
        item = CartItem(user_id=user_id, product_id=product_id, quantity=new_quantity)
    else:
        item.quantity = new_quantity
    session.add(item)
    record_event(session=session, kind=EventKind.cart_add, user_id=user_id, session_id=session_id,
                 product_id=product_id, quantity=quantity)
    return item


def set_cart_quantity(*, session: Session, user_id: int, product_id: int, quantity: int, session_id: int | None = None) -> CartItem:
    product = get_product(session=session, product_id=product_id)
    item = session.exec(select(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)).first()
    if item is None:
        raise NotFound(f"product {product_id} is not in the cart; add it first")
    _check_quantity(product, quantity)
    delta = quantity - item.quantity
    item.quantity = quantity
    session.add(item)
    if delta:
        record_event(session=session, kind=EventKind.cart_add if delta > 0 else EventKind.cart_remove,
                     user_id=user_id, session_id=session_id, product_id=product_id, quantity=abs(delta))
    return item


def remove_from_cart(*, session: Session, user_id: int, product_id: int, session_id: int | None = None) -> None:
    item = session.exec(select(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)).first()
    if item is None:
        raise NotFound(f"product {product_id} is not in the cart")
    session.delete(item)
    record_event(session=session, kind=EventKind.cart_remove, user_id=user_id, session_id=session_id,
                 product_id=product_id, quantity=item.quantity)


# --- favourites -------------------------------------------------------------------------------------------------


def list_favourites(*, session: Session, user_id: int) -> list[Product]:
    rows = session.exec(
        select(Product).join(Favourite, col(Favourite.product_id) == Product.id)
        .where(Favourite.user_id == user_id).order_by(col(Favourite.created_at).desc(), col(Favourite.id).desc())
    ).all()
    return list(rows)


def favourite_ids(*, session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(Favourite.product_id).where(Favourite.user_id == user_id)).all())


def add_favourite(*, session: Session, user_id: int, product_id: int, session_id: int | None = None) -> bool:
    """Mark a favourite; returns False when it already was one (nothing changes, no event)."""
    get_product(session=session, product_id=product_id)
    exists = session.exec(select(Favourite).where(Favourite.user_id == user_id, Favourite.product_id == product_id)).first()
    if exists is not None:
        return False
    session.add(Favourite(user_id=user_id, product_id=product_id))
    record_event(session=session, kind=EventKind.favourite_add, user_id=user_id, session_id=session_id,
                 product_id=product_id)
    return True


def remove_favourite(*, session: Session, user_id: int, product_id: int, session_id: int | None = None) -> None:
    favourite = session.exec(select(Favourite).where(Favourite.user_id == user_id, Favourite.product_id == product_id)).first()
    if favourite is None:
        raise NotFound(f"product {product_id} is not among the favourites")
    session.delete(favourite)
    record_event(session=session, kind=EventKind.favourite_remove, user_id=user_id, session_id=session_id,
                 product_id=product_id)


# --- orders -------------------------------------------------------------------------------------------------------


def checkout(*, session: Session, user_id: int, session_id: int | None = None) -> Order:
    """Turn the cart into an order.

    Stock is decremented with one conditional UPDATE per line (``stock >= quantity``), so two concurrent checkouts
    can never oversell; if any line cannot be served, nothing of the order is kept.
    """
    cart = get_cart(session=session, user_id=user_id)
    if not cart:
        raise Conflict("the cart is empty; add products before checking out")
    now = utcnow()
    order = Order(user_id=user_id, created_at=now, total_cents=sum(i.quantity * p.price_cents for i, p in cart))
    session.add(order)
    session.flush()
    for item, product in cart:
        if product.deleted_at is not None:
            raise Conflict(f"{product.name!r} is no longer sold; remove it from the cart")
        result = session.execute(
            update(Product).where(col(Product.id) == product.id, col(Product.stock) >= item.quantity)
            .values(stock=Product.stock - item.quantity)
        )
        if result.rowcount != 1:
            session.refresh(product)
            raise Conflict(
                f"cannot order {item.quantity} of {product.name!r}: only {product.stock} in stock; "
                "change the quantity in the cart"
            )
        session.add(OrderLine(order_id=order.id, product_id=product.id, quantity=item.quantity,
                              unit_price_cents=product.price_cents))
        record_event(session=session, kind=EventKind.purchase, user_id=user_id, session_id=session_id,
                     product_id=product.id, quantity=item.quantity, extra={"order_id": order.id}, at=now)
        session.delete(item)
    session.flush()
    return order


def list_orders(*, session: Session, user_id: int) -> list[Order]:
    return list(session.exec(
        select(Order).where(Order.user_id == user_id).order_by(col(Order.created_at).desc(), col(Order.id).desc())
    ).all())


def get_order(*, session: Session, user_id: int, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.user_id != user_id:
        raise NotFound(f"no order with id {order_id}")
    return order


def order_lines(*, session: Session, order_ids: list[int]) -> dict[int, list[tuple[OrderLine, Product]]]:
    lines: dict[int, list[tuple[OrderLine, Product]]] = {i: [] for i in order_ids}
    if not order_ids:
        return lines
    rows = session.exec(
        select(OrderLine, Product).join(Product, col(Product.id) == OrderLine.product_id)
        .where(col(OrderLine.order_id).in_(order_ids)).order_by(col(OrderLine.id))
    ).all()
    for line, product in rows:
        lines[line.order_id].append((line, product))
    return lines


def pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


# --- what the feed needs to know about a user -------------------------------------------------------------------

INTEREST_CHANGES = (EventKind.cart_add, EventKind.cart_remove, EventKind.favourite_add, EventKind.favourite_remove,
                    EventKind.purchase)


def interest_stamp(*, session: Session, user_id: int) -> int:
    """The id of the user's latest cart, favourite or purchase event: it changes exactly when their interests do."""
    return int(session.exec(
        select(func.coalesce(func.max(Event.id), 0)).where(Event.user_id == user_id, col(Event.kind).in_(INTEREST_CHANGES))
    ).one())


def recent_product_events(*, session: Session, user_id: int, limit: int = 500) -> list[tuple[int, str, datetime]]:
    """The user's latest product events, newest first: (product_id, kind, at)."""
    rows = session.exec(
        select(Event.product_id, Event.kind, Event.at)
        .where(Event.user_id == user_id, col(Event.product_id).is_not(None))
        .order_by(col(Event.id).desc()).limit(limit)
    ).all()
    return [(int(p), k.value if isinstance(k, EventKind) else str(k), at) for p, k, at in rows]
