"""load_events and load_orders against a tiny in-memory shop database."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert

from unseen.db import create_schema, make_engine
from unseen.ml.clustering import behaviour_features, load_events, load_orders
from unseen.tables import Event, Order, OrderLine, Product, User, UserSession

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _event(minutes, kind, user_id=1, session_id=1, product_id=None, quantity=None, extra=None):
    return dict(at=T0 + timedelta(minutes=minutes), kind=kind, user_id=user_id, session_id=session_id,
                product_id=product_id, quantity=quantity, extra=extra)


@pytest.fixture
def shop():
    engine = make_engine("sqlite://")
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(insert(User), [dict(id=1, email="pat@example.com", full_name="Pat", password_hash="x")])
        connection.execute(insert(UserSession), [dict(id=1, token_hash="a" * 64, user_id=1, created_at=T0,
                                                      expires_at=T0 + timedelta(hours=8))])
        connection.execute(insert(Product), [
            dict(id=1, sku="MUG", name="Blue Mug", category="Kitchen", price_cents=450, stock=9),
            dict(id=2, sku="ELF", name="Felt Elf", category="Christmas", price_cents=1200, stock=3,
                 deleted_at=T0 + timedelta(days=30)),
        ])
        connection.execute(insert(Order), [dict(id=7, user_id=1, total_cents=2850, created_at=T0 + timedelta(minutes=6)),
                                           dict(id=8, user_id=1, total_cents=0, created_at=T0 + timedelta(days=40))])
        connection.execute(insert(OrderLine), [dict(order_id=7, product_id=1, quantity=1, unit_price_cents=450),
                                               dict(order_id=7, product_id=2, quantity=2, unit_price_cents=1200)])
        connection.execute(insert(Event), [
            _event(0, "login_ok", extra={"ip": "10.0.0.1"}),
            _event(1, "view", product_id=1),
            _event(2, "view", product_id=2),
            _event(3, "cart_add", product_id=1, quantity=1),
            _event(4, "cart_add", product_id=2, quantity=2),
            _event(6, "purchase", product_id=1, quantity=1, extra={"order_id": 7}),
            _event(6, "purchase", product_id=2, quantity=2, extra={"order_id": 7}),
            _event(60 * 24 * 3, "view", user_id=None, session_id=None, product_id=1),
        ])
    yield engine
    engine.dispose()


def test_events_come_with_category_price_and_order(shop):
    events = load_events(shop)
    assert len(events) == 8
    assert events["at"].is_monotonic_increasing
    assert str(events["at"].dtype) == "datetime64[us, UTC]"
    assert events["at"].iloc[0] == pd.Timestamp(T0)
    assert events["kind"].tolist()[:3] == ["login_ok", "view", "view"]
    assert events["kind"].dtype == "str" and events["category"].dtype == "str"
    views = events[(events["kind"] == "view") & events["user_id"].notna()]
    assert views["category"].tolist() == ["Kitchen", "Christmas"]  # a deleted product keeps its category
    assert views["price_cents"].tolist() == [450, 1200]
    purchases = events[events["kind"] == "purchase"]
    assert purchases["order_id"].tolist() == [7, 7] and purchases["quantity"].tolist() == [1, 2]
    login = events.iloc[0]
    assert pd.isna(login["category"]) and pd.isna(login["product_id"]) and pd.isna(login["order_id"])
    anonymous = events.iloc[-1]
    assert pd.isna(anonymous["user_id"]) and pd.isna(anonymous["session_id"])


def test_events_in_a_window(shop):
    assert len(load_events(shop, since=T0 + timedelta(minutes=2))) == 6
    assert len(load_events(shop, until=T0 + timedelta(minutes=2))) == 2
    assert len(load_events(shop, since="2026-03-03", until="2026-03-06")) == 1  # naive strings are UTC
    assert len(load_events(shop, since="2027-01-01")) == 0
    with pytest.raises(ValueError, match="must be before until"):
        load_events(shop, since="2026-03-05", until="2026-03-01")
    with pytest.raises(ValueError, match="since must be a date"):
        load_events(shop, since="not a date")


def test_empty_database_gives_an_empty_frame_with_the_columns():
    engine = make_engine("sqlite://")
    create_schema(engine)
    events = load_events(engine)
    assert events.empty and "category" in events and str(events["at"].dtype) == "datetime64[us, UTC]"
    assert load_orders(engine).empty


def test_orders_sum_their_lines(shop):
    orders = load_orders(shop)
    assert orders[["order_id", "user_id", "value_cents", "units"]].to_dict("records") == [
        {"order_id": 7, "user_id": 1, "value_cents": 2850, "units": 3},
        {"order_id": 8, "user_id": 1, "value_cents": 0, "units": 0},  # no lines
    ]
    assert len(load_orders(shop, until="2026-03-10")) == 1


def test_features_from_the_database(shop):
    features = behaviour_features(load_events(shop), load_orders(shop, until="2026-03-10"))
    assert features.index.tolist() == [1]
    row = features.loc[1]
    assert row["sessions"] == 1 and row["purchases"] == 1 and row["monetary"] == 28.5
    assert row["session_length_mean"] == 360.0
    assert row["cat_Kitchen"] == 0.5 and row["cat_Christmas"] == 0.5
    from_events = behaviour_features(load_events(shop))
    assert from_events.loc[1, "purchases"] == 1 and from_events.loc[1, "monetary"] == 28.5
