"""Checkout and order history through the JSON API: purchase events, stock, and no overselling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import add_product, add_user, login
from tests.shop._records import cart_rows, events, order_count, product, session_of
from unseen.config import Settings
from unseen.db import create_schema, make_engine
from unseen.shop import create_app, crud
from unseen.tables import EventKind, Order, OrderLine


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/orders"), ("GET", "/api/orders/1"),
                                              ("POST", "/api/orders")])
def test_orders_need_a_login(client: TestClient, method: str, path: str):
    assert client.request(method, path).status_code == 401


def test_checkout_of_an_empty_cart_is_409(client: TestClient, engine: Engine, customer):
    response = client.post("/api/orders", headers=customer)

    assert response.status_code == 409
    assert "cart is empty" in response.json()["detail"]
    assert order_count(engine) == 0
    assert events(engine, EventKind.purchase) == []


def test_checkout_turns_the_cart_into_an_order(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=10)
    tea = add_product(engine, name="Teapot", price_cents=2000, stock=1)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 3}, headers=customer)
    client.post("/api/cart", json={"product_id": tea.id}, headers=customer)

    response = client.post("/api/orders", headers=customer)

    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["total_cents"]) == ("placed", 3 * 450 + 2000)
    assert order["lines"] == [
        {"product_id": mug.id, "name": "Blue Mug", "quantity": 3, "unit_price_cents": 450},
        {"product_id": tea.id, "name": "Teapot", "quantity": 1, "unit_price_cents": 2000},
    ]
    assert (product(engine, mug.id).stock, product(engine, tea.id).stock) == (7, 0)
    assert client.get("/api/cart", headers=customer).json()["items"] == []


def test_checkout_records_one_purchase_per_line(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", stock=10)
    tea = add_product(engine, name="Teapot", stock=10)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 3}, headers=customer)
    client.post("/api/cart", json={"product_id": tea.id, "quantity": 2}, headers=customer)

    order = client.post("/api/orders", headers=customer).json()

    user_session = session_of(engine, customer)
    purchases = events(engine, EventKind.purchase)
    assert [(e.product_id, e.quantity) for e in purchases] == [(mug.id, 3), (tea.id, 2)]
    for event in purchases:
        assert (event.user_id, event.session_id) == (user_session.user_id, user_session.id)
        assert event.extra == {"order_id": order["id"]}


def test_orders_are_listed_newest_first_and_fetched_one_by_one(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", stock=10)
    client.post("/api/cart", json={"product_id": mug.id}, headers=customer)
    first = client.post("/api/orders", headers=customer).json()
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)
    second = client.post("/api/orders", headers=customer).json()

    listed = client.get("/api/orders", headers=customer)
    one = client.get(f"/api/orders/{first['id']}", headers=customer)

    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()] == [second["id"], first["id"]]
    assert one.status_code == 200 and one.json() == first


def test_another_users_order_is_404(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)
    client.post("/api/cart", json={"product_id": mug.id}, headers=customer)
    order = client.post("/api/orders", headers=customer).json()
    add_user(engine, email="sam@example.com")
    other = login(client, "sam@example.com")

    response = client.get(f"/api/orders/{order['id']}", headers=other)

    assert response.status_code == 404
    assert response.json() == {"detail": f"no order with id {order['id']}"}
    assert client.get("/api/orders", headers=other).json() == []


@pytest.mark.parametrize(("order_id", "status"), [("999", 404), ("0", 422), ("-1", 422), (str(2**31), 422),
                                                  ("first", 422)])
def test_unknown_or_malformed_order_id(client: TestClient, customer, order_id: str, status: int):
    response = client.get(f"/api/orders/{order_id}", headers=customer)

    assert response.status_code == status
    if status == 422:
        assert response.json()["detail"][0]["loc"] == ["path", "order_id"]


def test_checkout_after_the_operator_lowered_stock_is_409_and_keeps_nothing(
        client: TestClient, engine: Engine, customer, operator):
    tea = add_product(engine, name="Teapot", stock=5)
    mug = add_product(engine, name="Blue Mug", stock=5)
    client.post("/api/cart", json={"product_id": tea.id, "quantity": 1}, headers=customer)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 3}, headers=customer)
    user_id = session_of(engine, customer).user_id
    assert client.patch(f"/api/products/{mug.id}", json={"stock": 2}, headers=operator).status_code == 200

    response = client.post("/api/orders", headers=customer)

    assert response.status_code == 409
    assert "only 2 in stock" in response.json()["detail"] and "Blue Mug" in response.json()["detail"]
    assert order_count(engine) == 0
    with Session(engine) as session:
        assert session.exec(select(OrderLine)).all() == []
    assert (product(engine, tea.id).stock, product(engine, mug.id).stock) == (5, 2)
    assert cart_rows(engine, user_id) == [(tea.id, 1), (mug.id, 3)]
    assert events(engine, EventKind.purchase) == []


def test_an_order_is_not_kept_when_its_purchase_event_cannot_be_written(
        engine: Engine, settings, monkeypatch: pytest.MonkeyPatch):
    mug = add_product(engine, stock=5)
    user = add_user(engine, email="jane@example.com")
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
    headers = login(client, "jane@example.com")
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=headers)

    def refuse(**_):
        raise RuntimeError("event store unavailable")

    monkeypatch.setattr(crud, "record_event", refuse)
    response = client.post("/api/orders", headers=headers)

    assert response.status_code == 500
    assert order_count(engine) == 0
    assert product(engine, mug.id).stock == 5
    assert cart_rows(engine, user.id) == [(mug.id, 2)]


# --- concurrency ------------------------------------------------------------------------------------------------


@pytest.fixture
def file_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file, so that two requests really run on two connections at once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def test_two_checkouts_racing_for_the_last_unit_sell_it_once(settings: Settings, file_engine: Engine):
    app = create_app(settings, file_engine)
    last_one = add_product(file_engine, name="Last Teapot", stock=1)
    buyers = []
    for email in ("ann@example.com", "bob@example.com"):
        add_user(file_engine, email=email)
        buyer = TestClient(app)
        headers = login(buyer, email)
        assert buyer.post("/api/cart", json={"product_id": last_one.id}, headers=headers).status_code == 200
        buyers.append((buyer, headers))

    start = threading.Barrier(len(buyers))
    statuses: list[int] = []

    def check_out(buyer: TestClient, headers: dict[str, str]) -> None:
        start.wait()
        statuses.append(buyer.post("/api/orders", headers=headers).status_code)

    threads = [threading.Thread(target=check_out, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409]
    assert order_count(file_engine) == 1
    assert product(file_engine, last_one.id).stock == 0
    with Session(file_engine) as session:
        [line] = session.exec(select(OrderLine)).all()
        assert line.quantity == 1
        assert len(session.exec(select(Order)).all()) == 1
    assert len(events(file_engine, EventKind.purchase)) == 1
