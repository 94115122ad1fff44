"""load_order_lines and monthly_demand against a tiny in-memory shop."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from unseen.db import create_schema, make_engine
from unseen.ml.trends import demand_series, load_order_lines, monthly_demand
from unseen.tables import Order, OrderLine, Product, User

# (order id, time, [(product id, quantity, unit price)])
ORDERS = [
    (1, datetime(2025, 1, 5, 10, tzinfo=UTC), [(1, 2, 450), (2, 1, 9900)]),
    (2, datetime(2025, 1, 31, 23, 30, tzinfo=UTC), [(1, 1, 450)]),
    (3, datetime(2025, 3, 1, 0, 0, tzinfo=UTC), [(2, 2, 8900), (3, 4, 300)]),
    (4, datetime(2025, 4, 12, 8, tzinfo=UTC), [(1, 3, 500)]),
]


@pytest.fixture
def shop():
    engine = make_engine("sqlite://")
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(insert(User), [dict(id=1, email="ann@example.com", full_name="Ann", password_hash="x")])
        connection.execute(insert(Product), [
            dict(id=1, sku="MUG", name="Blue Mug", category="Kitchen", price_cents=500, stock=5),
            dict(id=2, sku="COAT", name="Pea Coat", category="Coats", price_cents=9900, stock=2),
            dict(id=3, sku="CUP", name="Tea Cup", category="Kitchen", price_cents=300, stock=9,
                 deleted_at=datetime(2025, 5, 1, tzinfo=UTC)),
        ])
        for order_id, at, lines in ORDERS:
            total = sum(quantity * price for _, quantity, price in lines)
            connection.execute(insert(Order), [dict(id=order_id, user_id=1, created_at=at, total_cents=total)])
            connection.execute(insert(OrderLine), [
                dict(order_id=order_id, product_id=product, quantity=quantity, unit_price_cents=price)
                for product, quantity, price in lines
            ])
    yield engine
    engine.dispose()


def test_load_order_lines_joins_orders_lines_and_products(shop):
    lines = load_order_lines(shop)
    assert list(lines.columns) == ["ordered_at", "order_id", "product_id", "name", "category", "quantity",
                                   "unit_price_cents", "revenue_cents"]
    assert len(lines) == 6
    assert str(lines["ordered_at"].dt.tz) == "UTC"
    assert lines["ordered_at"].is_monotonic_increasing
    assert lines["ordered_at"].iloc[0] == pd.Timestamp("2025-01-05 10:00", tz="UTC")
    coat = lines[lines["product_id"] == 2].iloc[0]
    assert (coat["name"], coat["category"], coat["revenue_cents"]) == ("Pea Coat", "Coats", 9900)
    assert lines["revenue_cents"].tolist() == (lines["quantity"] * lines["unit_price_cents"]).tolist()
    assert 3 in lines["product_id"].tolist()  # a product deleted later still counts as sold


def test_load_order_lines_filters_by_time(shop):
    lines = load_order_lines(shop, since=datetime(2025, 1, 31, 23, 30, tzinfo=UTC), until="2025-03-01")
    assert lines["order_id"].tolist() == [2]  # since is inclusive, until exclusive
    lines = load_order_lines(shop, since="2025-03-01")
    assert sorted(set(lines["order_id"])) == [3, 4]
    assert len(load_order_lines(shop, since="2030-01-01")) == 0
    with pytest.raises(ValueError, match="must be before until"):
        load_order_lines(shop, since="2025-05-01", until="2025-01-01")
    with pytest.raises(ValueError, match="since must be a date"):
        load_order_lines(shop, since="last tuesday")


def test_monthly_demand_by_category_fills_zero_months_and_drops_the_current_month(shop):
    demand = monthly_demand(load_order_lines(shop))
    assert list(demand.columns) == ["month", "key", "units", "revenue_cents"]
    # April holds the last order, so it counts as incomplete; February sold nothing at all.
    table = demand.pivot(index="month", columns="key", values="units")
    assert table.index.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03"]
    assert table["Kitchen"].tolist() == [3, 0, 4]
    assert table["Coats"].tolist() == [1, 0, 2]
    assert demand.loc[demand["key"] == "Coats", "revenue_cents"].tolist() == [9900, 0, 17800]
    assert demand["month"].dtype.kind == "M" and demand["month"].dt.tz is None


def test_monthly_demand_until_says_whether_the_last_month_is_complete(shop):
    lines = load_order_lines(shop)
    assert monthly_demand(lines, until="2025-05-01")["month"].max() == pd.Timestamp("2025-04-01")
    assert monthly_demand(lines, until="2025-04-20")["month"].max() == pd.Timestamp("2025-03-01")
    kept = monthly_demand(lines, until="2025-04-20", complete_only=False)
    assert kept["month"].max() == pd.Timestamp("2025-04-01")
    assert monthly_demand(lines, complete_only=False)["month"].max() == pd.Timestamp("2025-04-01")


def test_monthly_demand_by_product_carries_category_and_name(shop):
    demand = monthly_demand(load_order_lines(shop), level="product", until="2025-05-01")
    assert list(demand.columns) == ["month", "key", "category", "name", "units", "revenue_cents"]
    cup = demand[demand["key"] == 3]
    assert cup["units"].tolist() == [0, 0, 4, 0]  # explicit zero months for a sparse product
    assert set(cup["name"]) == {"Tea Cup"} and set(cup["category"]) == {"Kitchen"}
    assert demand.groupby("key").size().tolist() == [4, 4, 4]


def test_monthly_demand_without_zero_filling_keeps_only_sales(shop):
    demand = monthly_demand(load_order_lines(shop), level="product", fill_zeros=False, until="2025-05-01")
    assert (demand["units"] > 0).all()
    assert len(demand) == 5


def test_monthly_demand_of_no_lines_is_an_empty_table(shop):
    demand = monthly_demand(load_order_lines(shop, since="2030-01-01"), level="product")
    assert len(demand) == 0
    assert list(demand.columns) == ["month", "key", "category", "name", "units", "revenue_cents"]


def test_monthly_demand_rejects_bad_input(shop):
    lines = load_order_lines(shop)
    with pytest.raises(ValueError, match="level must be 'category' or 'product'"):
        monthly_demand(lines, level="sku")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['quantity'\]"):
        monthly_demand(lines.drop(columns="quantity"))


def test_demand_series_gives_one_monthly_series_per_key(shop):
    series = demand_series(monthly_demand(load_order_lines(shop)))
    assert sorted(series) == ["Coats", "Kitchen"]
    kitchen = series["Kitchen"]
    assert kitchen.index.freqstr == "MS" and kitchen.name == "Kitchen"
    np.testing.assert_array_equal(kitchen.to_numpy(), [3, 0, 4])
