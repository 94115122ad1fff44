"""Clickstreams and orders out of the shop's tables, as the frames the behaviour features read.

Both loaders are SQLAlchemy Core selects that run unchanged on SQLite and PostgreSQL. Times come back as aware UTC
timestamps whether or not the database kept the offset (SQLite does not).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.engine import Engine

from unseen.tables import Event, Order, OrderLine, Product

EVENT_COLUMNS = (
    "event_id",
    "at",
    "kind",
    "user_id",
    "session_id",
    "product_id",
    "quantity",
    "order_id",
    "category",
    "price_cents",
)
ORDER_COLUMNS = ("order_id", "user_id", "ordered_at", "value_cents", "units")
_NULLABLE_INTEGERS = ("user_id", "session_id", "product_id", "quantity", "order_id", "price_cents")


def as_utc(moment: object, name: str) -> datetime | None:
    """An aware UTC datetime from a datetime, date, Timestamp or ISO string; naive values are taken as UTC.

    Parameters
    ----------
    moment : datetime, date, str, pandas.Timestamp or None
        The moment to convert. None stays None.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    datetime or None
        The moment as an aware UTC datetime.

    Examples
    --------
    >>> as_utc("2026-03-01", "since")
    datetime.datetime(2026, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if moment is None:
        return None
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    try:
        stamp = pd.Timestamp(moment)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date, a datetime or an ISO date string; got {moment!r}.") from None
    if stamp is pd.NaT:
        raise ValueError(f"{name} must be a date, a datetime or an ISO date string; got {moment!r}.")
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _window(since: object, until: object) -> tuple[datetime | None, datetime | None]:
    since_utc, until_utc = as_utc(since, "since"), as_utc(until, "until")
    if since_utc is not None and until_utc is not None and since_utc >= until_utc:
        raise ValueError(f"since ({since_utc.isoformat()}) must be before until ({until_utc.isoformat()}).")
    return since_utc, until_utc


def _columns(engine: Engine, query, names: tuple[str, ...]) -> dict[str, list]:
    """The result of ``query`` column by column (a frame built from SQLAlchemy rows one by one is several times slower)."""
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    values = list(zip(*rows)) if rows else [[] for _ in names]
    return {name: list(column) for name, column in zip(names, values)}


def load_events(engine: Engine, since: object = None, until: object = None) -> pd.DataFrame:
    """Every event with the category and current price of its product, oldest first.

    Events without a product (logins, logouts) and events of deleted products keep their row; their category and
    price are missing.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The shop's database (SQLite or PostgreSQL).
    since, until : datetime, date, str or None, default=None
        Keep events at or after ``since`` and before ``until``. Naive values are taken as UTC.

    Returns
    -------
    pandas.DataFrame
        Columns ``event_id``, ``at`` (aware UTC), ``kind`` (str), ``user_id``, ``session_id``, ``product_id``,
        ``quantity``, ``order_id`` (from a purchase's ``extra``), ``category`` (str) and ``price_cents``; the id
        and count columns are nullable ``Int64``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from sqlalchemy import insert
    >>> from unseen.db import create_schema, make_engine
    >>> from unseen.tables import Event, Product, User
    >>> engine = make_engine("sqlite://")
    >>> create_schema(engine)
    >>> with engine.begin() as connection:
    ...     _ = connection.execute(insert(User), [dict(id=1, email="a@example.com", full_name="A", password_hash="x")])
    ...     _ = connection.execute(insert(Product), [dict(id=1, sku="MUG", name="Blue Mug", category="Kitchen",
    ...                                                   price_cents=450, stock=9)])
    ...     _ = connection.execute(insert(Event), [
    ...         dict(at=datetime(2026, 3, 2, 9, tzinfo=UTC), kind="login_ok", user_id=1, product_id=None),
    ...         dict(at=datetime(2026, 3, 2, 9, 1, tzinfo=UTC), kind="view", user_id=1, product_id=1)])
    >>> events = load_events(engine)
    >>> events[["at", "kind", "category", "price_cents"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'at': Timestamp('2026-03-02 09:00:00+0000', tz='UTC'), 'kind': 'login_ok', 'category': nan,
      'price_cents': None},
     {'at': Timestamp('2026-03-02 09:01:00+0000', tz='UTC'), 'kind': 'view', 'category': 'Kitchen',
      'price_cents': 450}]
    """
    since_utc, until_utc = _window(since, until)
    event = Event.__table__
    product = Product.__table__
    query = (
        select(
            event.c.id.label("event_id"),
            # Read as text: SQLAlchemy would parse SQLite's timestamps and map kinds to the enum row by row, which
            # takes longer than the query; pandas converts the whole column at once below (PostgreSQL's driver still
            # returns datetimes, which pandas takes as they are).
            type_coerce(event.c.at, String).label("at"),
            type_coerce(event.c.kind, String).label("kind"),
            event.c.user_id,
            event.c.session_id,
            event.c.product_id,
            event.c.quantity,
            event.c.extra["order_id"].as_integer().label("order_id"),
            product.c.category,
            product.c.price_cents,
        )
        .select_from(event.outerjoin(product, event.c.product_id == product.c.id))
        .order_by(event.c.at, event.c.id)
    )
    if since_utc is not None:
        query = query.where(event.c.at >= since_utc)
    if until_utc is not None:
        query = query.where(event.c.at < until_utc)
    events = pd.DataFrame(_columns(engine, query, EVENT_COLUMNS))
    events["event_id"] = events["event_id"].astype(np.int64)
    events["at"] = pd.to_datetime(events["at"], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    events["kind"] = events["kind"].astype("str")
    events["category"] = events["category"].astype("str")
    for column in _NULLABLE_INTEGERS:
        events[column] = events[column].astype("Int64")
    return events


def load_orders(engine: Engine, since: object = None, until: object = None) -> pd.DataFrame:
    """One row per order: who placed it, when, and its value summed over its lines.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The shop's database (SQLite or PostgreSQL).
    since, until : datetime, date, str or None, default=None
        Keep orders placed at or after ``since`` and before ``until``. Naive values are taken as UTC.

    Returns
    -------
    pandas.DataFrame
        Columns ``order_id``, ``user_id``, ``ordered_at`` (aware UTC), ``value_cents`` (sum of
        ``quantity * unit_price_cents`` over the order's lines) and ``units``; oldest first.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from sqlalchemy import insert
    >>> from unseen.db import create_schema, make_engine
    >>> from unseen.tables import Order, OrderLine, Product, User
    >>> engine = make_engine("sqlite://")
    >>> create_schema(engine)
    >>> with engine.begin() as connection:
    ...     _ = connection.execute(insert(User), [dict(id=1, email="a@example.com", full_name="A", password_hash="x")])
    ...     _ = connection.execute(insert(Product), [dict(id=1, sku="MUG", name="Blue Mug", category="Kitchen",
    ...                                                   price_cents=450, stock=9)])
    ...     _ = connection.execute(insert(Order), [dict(id=1, user_id=1, total_cents=1350,
    ...                                                 created_at=datetime(2026, 3, 2, 9, tzinfo=UTC))])
    ...     _ = connection.execute(insert(OrderLine), [dict(order_id=1, product_id=1, quantity=3,
    ...                                                     unit_price_cents=450)])
    >>> load_orders(engine)[["order_id", "user_id", "value_cents", "units"]].to_dict("records")
    [{'order_id': 1, 'user_id': 1, 'value_cents': 1350, 'units': 3}]
    """
    since_utc, until_utc = _window(since, until)
    order = Order.__table__
    line = OrderLine.__table__
    query = (
        select(
            order.c.id.label("order_id"),
            order.c.user_id,
            order.c.created_at.label("ordered_at"),
            func.coalesce(func.sum(line.c.quantity * line.c.unit_price_cents), 0).label("value_cents"),
            func.coalesce(func.sum(line.c.quantity), 0).label("units"),
        )
        .select_from(order.outerjoin(line, line.c.order_id == order.c.id))
        .group_by(order.c.id, order.c.user_id, order.c.created_at)
        .order_by(order.c.created_at, order.c.id)
    )
    if since_utc is not None:
        query = query.where(order.c.created_at >= since_utc)
    if until_utc is not None:
        query = query.where(order.c.created_at < until_utc)
    orders = pd.DataFrame(_columns(engine, query, ORDER_COLUMNS))
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True).astype("datetime64[us, UTC]")
    for column in ("order_id", "user_id", "value_cents", "units"):
        orders[column] = orders[column].astype(np.int64)
    return orders
