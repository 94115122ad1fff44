"""Sales out of the shop's tables: one row per order line, then a tidy table of monthly demand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.tables import Order, OrderLine, Product

ORDER_LINE_COLUMNS = (
    "ordered_at",
    "order_id",
    "product_id",
    "name",
    "category",
    "quantity",
    "unit_price_cents",
    "revenue_cents",
)
LEVELS = {"category": "category", "product": "product_id"}


def _as_utc(moment: object, name: str) -> datetime | None:
    """An aware UTC datetime from a datetime, date, Timestamp or ISO string; naive values are taken as UTC."""
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


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ordered_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "order_id": pd.Series([], dtype=np.int64),
            "product_id": pd.Series([], dtype=np.int64),
            "name": pd.Series([], dtype="str"),
            "category": pd.Series([], dtype="str"),
            "quantity": pd.Series([], dtype=np.int64),
            "unit_price_cents": pd.Series([], dtype=np.int64),
            "revenue_cents": pd.Series([], dtype=np.int64),
        }
    )


def load_order_lines(engine: Engine, since: object = None, until: object = None) -> pd.DataFrame:
    """Every order line with its order time and product, oldest first.

    Products deleted since (``deleted_at`` set) keep their lines: they were sold.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The shop's database (SQLite or PostgreSQL).
    since, until : datetime, date, str or None, default=None
        Keep orders placed at or after ``since`` and before ``until``. Naive values are taken as UTC.

    Returns
    -------
    pandas.DataFrame
        Columns ``ordered_at`` (aware UTC), ``order_id``, ``product_id``, ``name``, ``category``, ``quantity``,
        ``unit_price_cents`` and ``revenue_cents`` (``quantity * unit_price_cents``).

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
    ...     _ = connection.execute(insert(Order), [dict(id=1, user_id=1, total_cents=900,
    ...                                                 created_at=datetime(2025, 3, 2, 9, tzinfo=UTC))])
    ...     _ = connection.execute(insert(OrderLine), [dict(order_id=1, product_id=1, quantity=2,
    ...                                                     unit_price_cents=450)])
    >>> lines = load_order_lines(engine)
    >>> lines[["ordered_at", "name", "revenue_cents"]].to_dict("records")
    [{'ordered_at': Timestamp('2025-03-02 09:00:00+0000', tz='UTC'), 'name': 'Blue Mug', 'revenue_cents': 900}]
    """
    since_utc, until_utc = _as_utc(since, "since"), _as_utc(until, "until")
    if since_utc is not None and until_utc is not None and since_utc >= until_utc:
        raise ValueError(f"since ({since_utc.isoformat()}) must be before until ({until_utc.isoformat()}).")
    query = (
        select(
            Order.created_at.label("ordered_at"),
            OrderLine.order_id,
            OrderLine.product_id,
            Product.name,
            Product.category,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
        )
        .join(Order, OrderLine.order_id == Order.id)
        .join(Product, OrderLine.product_id == Product.id)
        .order_by(Order.created_at, OrderLine.id)
    )
    if since_utc is not None:
        query = query.where(Order.created_at >= since_utc)
    if until_utc is not None:
        query = query.where(Order.created_at < until_utc)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        return _empty_lines()
    lines = pd.DataFrame(rows, columns=list(ORDER_LINE_COLUMNS[:-1]))
    lines["ordered_at"] = pd.to_datetime(lines["ordered_at"], utc=True).astype("datetime64[us, UTC]")
    for column in ("order_id", "product_id", "quantity", "unit_price_cents"):
        lines[column] = lines[column].astype(np.int64)
    for column in ("name", "category"):
        lines[column] = lines[column].astype("str")
    lines["revenue_cents"] = lines["quantity"] * lines["unit_price_cents"]
    return lines


def monthly_demand(
    lines: pd.DataFrame,
    level: str = "category",
    fill_zeros: bool = True,
    complete_only: bool = True,
    until: object = None,
) -> pd.DataFrame:
    """Units and revenue per month and category (or product): the tidy table the forecasters read.

    Parameters
    ----------
    lines : pandas.DataFrame
        Order lines as :func:`load_order_lines` returns them.
    level : {"category", "product"}, default="category"
        What ``key`` is: the category name, or the product id (then ``category`` and ``name`` come along,
        from the product's latest line).
    fill_zeros : bool, default=True
        Give every key a row for every month from the first month of ``lines`` to the last, with zero units
        where nothing sold. Without it, only months with a sale have a row.
    complete_only : bool, default=True
        Drop the last month when the data end inside it (the current month, still filling up).
    until : datetime, date, str or None, default=None
        When the data end (exclusive), to tell whether the last month is complete. None takes the time of
        the last order line, so the month holding it counts as incomplete; pass the ``until`` given to
        :func:`load_order_lines`, or the time the data were read, to keep a month that ended.

    Returns
    -------
    pandas.DataFrame
        Columns ``month`` (month start, naive timestamps in UTC months), ``key``, ``category`` and ``name``
        (product level only), ``units`` and ``revenue_cents``; sorted by key, then month.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({
    ...     "ordered_at": pd.to_datetime(["2025-01-05", "2025-03-09", "2025-04-02"], utc=True),
    ...     "order_id": [1, 2, 3], "product_id": [7, 7, 7], "name": "Blue Mug", "category": "Kitchen",
    ...     "quantity": [2, 1, 5], "unit_price_cents": 450, "revenue_cents": [900, 450, 2250],
    ... })
    >>> demand = monthly_demand(lines)  # April holds the last order, so it is not complete
    >>> demand["month"].dt.strftime("%Y-%m").tolist(), demand["units"].tolist()
    (['2025-01', '2025-02', '2025-03'], [2, 0, 1])
    >>> monthly_demand(lines, until="2025-05-01")["units"].tolist()
    [2, 0, 1, 5]
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 'category' or 'product'; got {level!r}.")
    missing = [c for c in ("ordered_at", "product_id", "category", "quantity", "revenue_cents") if c not in lines]
    if level == "product" and "name" not in lines:
        missing.append("name")
    if missing:
        raise ValueError(
            f"lines is missing column(s) {missing}; pass the frame load_order_lines returns "
            f"(got columns {list(lines.columns)})."
        )
    key_column = LEVELS[level]
    columns = ["month", "key", *(["category", "name"] if level == "product" else []), "units", "revenue_cents"]
    if len(lines) == 0:
        empty = {column: pd.Series([], dtype=np.int64) for column in columns}
        empty["month"] = pd.Series([], dtype="datetime64[us]")
        if level == "category":
            empty["key"] = pd.Series([], dtype="str")
        else:
            empty["category"] = pd.Series([], dtype="str")
            empty["name"] = pd.Series([], dtype="str")
        return pd.DataFrame(empty)[columns]

    ordered_at = pd.to_datetime(lines["ordered_at"], utc=True)
    months = ordered_at.dt.tz_convert(None).dt.to_period("M")
    frame = pd.DataFrame(
        {
            "month": months,
            "key": lines[key_column].to_numpy(),
            "units": lines["quantity"].to_numpy(dtype=np.int64),
            "revenue_cents": lines["revenue_cents"].to_numpy(dtype=np.int64),
        }
    )
    totals = frame.groupby(["key", "month"], sort=True)[["units", "revenue_cents"]].sum()

    first, last = months.min(), months.max()
    end = _as_utc(until, "until") if until is not None else ordered_at.max().to_pydatetime()
    end_month = pd.Period(pd.Timestamp(end).tz_convert(None), freq="M")
    if until is not None:
        # until is exclusive: data ending on the 1st at midnight cover the whole previous month.
        if pd.Timestamp(end).tz_convert(None) == end_month.start_time:
            end_month -= 1
        else:
            end_month -= 1 if complete_only else 0
        last = end_month
    elif complete_only:
        last = end_month - 1

    if fill_zeros:
        grid = pd.MultiIndex.from_product(
            [totals.index.get_level_values("key").unique(), pd.period_range(first, last, freq="M")],
            names=["key", "month"],
        )
        totals = totals.reindex(grid, fill_value=0)
    demand = totals.reset_index()
    demand = demand[(demand["month"] >= first) & (demand["month"] <= last)]
    demand["month"] = demand["month"].dt.to_timestamp(how="start").astype("datetime64[us]")
    demand["units"] = demand["units"].astype(np.int64)
    demand["revenue_cents"] = demand["revenue_cents"].astype(np.int64)
    if level == "product":
        latest = lines.sort_values("ordered_at", kind="stable").groupby("product_id")[["category", "name"]].last()
        demand["category"] = demand["key"].map(latest["category"]).astype("str")
        demand["name"] = demand["key"].map(latest["name"]).astype("str")
        demand["key"] = demand["key"].astype(np.int64)
    else:
        demand["key"] = demand["key"].astype("str")
    return demand[columns].sort_values(["key", "month"], kind="stable").reset_index(drop=True)


def demand_series(demand: pd.DataFrame, value: str = "units") -> dict[object, pd.Series]:
    """Split a tidy demand table into one monthly series per key.

    Parameters
    ----------
    demand : pandas.DataFrame
        As :func:`monthly_demand` returns it (with ``fill_zeros=True``).
    value : {"units", "revenue_cents"}, default="units"

    Returns
    -------
    dict of key to pandas.Series
        Each indexed by month-start timestamps (frequency ``MS``), named after its key.

    Examples
    --------
    >>> import pandas as pd
    >>> demand = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2),
    ...                        "key": ["Coats", "Coats", "Garden", "Garden"], "units": [5, 3, 0, 2]})
    >>> {key: series.tolist() for key, series in demand_series(demand).items()}
    {'Coats': [5, 3], 'Garden': [0, 2]}
    """
    if value not in demand:
        raise ValueError(f"demand has no column {value!r}; expected 'units' or 'revenue_cents'.")
    series = {}
    for key, rows in demand.sort_values("month", kind="stable").groupby("key", sort=True):
        index = pd.DatetimeIndex(rows["month"].to_numpy(), name="month")
        try:
            index.freq = "MS"
        except ValueError:
            raise ValueError(
                f"the months of key {key!r} are not consecutive month starts; build demand with "
                "monthly_demand(..., fill_zeros=True)."
            ) from None
        series[key] = pd.Series(rows[value].to_numpy(), index=index, name=key)
    return series
