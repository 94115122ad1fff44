"""The cart through the JSON API, and the cart_add / cart_remove events every change writes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import add_product, add_user, login
from tests.shop._records import cart_rows, events, session_of
from unseen.shop import crud
from unseen.tables import EventKind


def _lines(response) -> list[tuple[int, int]]:
    assert response.status_code == 200, response.text
    return [(line["product"]["id"], line["quantity"]) for line in response.json()["items"]]


def _cart_events(engine: Engine) -> list[tuple[str, int, int]]:
    return [(e.kind.value, e.product_id, e.quantity) for e in events(engine)
            if e.kind in (EventKind.cart_add, EventKind.cart_remove)]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/cart"), ("POST", "/api/cart"), ("PUT", "/api/cart/1"),
                                              ("DELETE", "/api/cart/1")])
def test_cart_needs_a_login(client: TestClient, engine: Engine, method: str, path: str):
    add_product(engine)

    response = client.request(method, path, json={"product_id": 1, "quantity": 1})

    assert response.status_code == 401
    assert response.json()["detail"].startswith("log in first")


def test_new_cart_is_empty(client: TestClient, customer):
    assert client.get("/api/cart", headers=customer).json() == {"items": [], "count": 0, "total_cents": 0}


def test_add_puts_the_product_in_the_cart_and_records_cart_add(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=10)

    response = client.post("/api/cart", json={"product_id": mug.id, "quantity": 3}, headers=customer)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["count"], body["total_cents"]) == (3, 1350)
    assert body["items"][0]["product"]["name"] == "Blue Mug"
    assert (body["items"][0]["quantity"], body["items"][0]["line_total_cents"]) == (3, 1350)
    user_session = session_of(engine, customer)
    [event] = events(engine, EventKind.cart_add)
    assert (event.user_id, event.session_id, event.product_id, event.quantity) == (
        user_session.user_id, user_session.id, mug.id, 3)


def test_add_without_a_quantity_adds_one(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)

    assert _lines(client.post("/api/cart", json={"product_id": mug.id}, headers=customer)) == [(mug.id, 1)]


def test_adding_again_adds_to_the_quantity(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", stock=10)
    tea = add_product(engine, name="Teapot", stock=10)

    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)
    client.post("/api/cart", json={"product_id": tea.id, "quantity": 1}, headers=customer)
    response = client.post("/api/cart", json={"product_id": mug.id, "quantity": 3}, headers=customer)

    assert _lines(response) == [(mug.id, 5), (tea.id, 1)]
    assert response.json()["count"] == 6
    assert _cart_events(engine) == [("cart_add", mug.id, 2), ("cart_add", tea.id, 1), ("cart_add", mug.id, 3)]


def test_add_beyond_stock_is_409_naming_the_stock_and_changes_nothing(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", stock=3)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)
    user_id = session_of(engine, customer).user_id

    response = client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)

    assert response.status_code == 409
    assert "only 3 in stock" in response.json()["detail"]
    assert cart_rows(engine, user_id) == [(mug.id, 2)]
    assert _cart_events(engine) == [("cart_add", mug.id, 2)]


def test_add_of_a_sold_out_product_is_409(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug", stock=0)

    response = client.post("/api/cart", json={"product_id": mug.id}, headers=customer)

    assert response.status_code == 409
    assert "none in stock" in response.json()["detail"]
    assert events(engine, EventKind.cart_add) == []


@pytest.mark.parametrize("quantity", [0, -1, -(10**30), 1001, 10**30, 1.5, "two", None, [2]])
def test_add_with_a_bad_quantity_is_422_naming_quantity(client: TestClient, engine: Engine, customer, quantity):
    mug = add_product(engine, stock=5000)

    response = client.post("/api/cart", json={"product_id": mug.id, "quantity": quantity}, headers=customer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "quantity"]
    assert events(engine, EventKind.cart_add) == []


@pytest.mark.parametrize("product_id", [0, -5, 2**31, "mug", None])
def test_add_with_a_bad_product_id_is_422_naming_product_id(client: TestClient, customer, product_id):
    response = client.post("/api/cart", json={"product_id": product_id}, headers=customer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "product_id"]


def test_add_of_an_unknown_product_is_404(client: TestClient, engine: Engine, customer):
    response = client.post("/api/cart", json={"product_id": 999}, headers=customer)

    assert response.status_code == 404
    assert response.json() == {"detail": "no product with id 999"}
    assert events(engine, EventKind.cart_add) == []


def test_each_user_has_their_own_cart(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)
    client.post("/api/cart", json={"product_id": mug.id}, headers=customer)
    add_user(engine, email="sam@example.com")

    other = login(client, "sam@example.com")

    assert _lines(client.get("/api/cart", headers=other)) == []
    assert _lines(client.get("/api/cart", headers=customer)) == [(mug.id, 1)]


# --- set quantity -------------------------------------------------------------------------------------------------


def test_raising_the_quantity_records_cart_add_of_the_difference(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, stock=10)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)

    response = client.put(f"/api/cart/{mug.id}", json={"quantity": 5}, headers=customer)

    assert _lines(response) == [(mug.id, 5)]
    assert _cart_events(engine) == [("cart_add", mug.id, 2), ("cart_add", mug.id, 3)]


def test_lowering_the_quantity_records_cart_remove_of_the_difference(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, stock=10)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 5}, headers=customer)

    response = client.put(f"/api/cart/{mug.id}", json={"quantity": 2}, headers=customer)

    assert _lines(response) == [(mug.id, 2)]
    user_session = session_of(engine, customer)
    [event] = events(engine, EventKind.cart_remove)
    assert (event.user_id, event.session_id, event.product_id, event.quantity) == (
        user_session.user_id, user_session.id, mug.id, 3)


def test_setting_the_same_quantity_records_nothing(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, stock=10)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)

    assert _lines(client.put(f"/api/cart/{mug.id}", json={"quantity": 2}, headers=customer)) == [(mug.id, 2)]
    assert _cart_events(engine) == [("cart_add", mug.id, 2)]


def test_setting_more_than_in_stock_is_409_and_keeps_the_quantity(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, stock=4)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)

    response = client.put(f"/api/cart/{mug.id}", json={"quantity": 5}, headers=customer)

    assert response.status_code == 409
    assert "only 4 in stock" in response.json()["detail"]
    assert _lines(client.get("/api/cart", headers=customer)) == [(mug.id, 2)]
    assert _cart_events(engine) == [("cart_add", mug.id, 2)]


@pytest.mark.parametrize("quantity", [0, -3, 1001, "many"])
def test_setting_a_bad_quantity_is_422(client: TestClient, engine: Engine, customer, quantity):
    mug = add_product(engine, stock=10)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)

    response = client.put(f"/api/cart/{mug.id}", json={"quantity": quantity}, headers=customer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "quantity"]
    assert _lines(client.get("/api/cart", headers=customer)) == [(mug.id, 2)]


def test_setting_the_quantity_of_a_product_not_in_the_cart_is_404(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)

    response = client.put(f"/api/cart/{mug.id}", json={"quantity": 1}, headers=customer)

    assert response.status_code == 404
    assert "not in the cart" in response.json()["detail"]
    assert client.put("/api/cart/999", json={"quantity": 1}, headers=customer).status_code == 404
    assert _cart_events(engine) == []


# --- remove -------------------------------------------------------------------------------------------------------


def test_remove_takes_the_line_out_and_records_cart_remove(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug")
    tea = add_product(engine, name="Teapot")
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 4}, headers=customer)
    client.post("/api/cart", json={"product_id": tea.id}, headers=customer)

    response = client.delete(f"/api/cart/{mug.id}", headers=customer)

    assert _lines(response) == [(tea.id, 1)]
    user_session = session_of(engine, customer)
    [event] = events(engine, EventKind.cart_remove)
    assert (event.user_id, event.session_id, event.product_id, event.quantity) == (
        user_session.user_id, user_session.id, mug.id, 4)


def test_remove_of_a_product_not_in_the_cart_is_404_and_records_nothing(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)

    response = client.delete(f"/api/cart/{mug.id}", headers=customer)

    assert response.status_code == 404
    assert response.json() == {"detail": f"product {mug.id} is not in the cart"}
    assert _cart_events(engine) == []


# --- the change and its event are one transaction ------------------------------------------------------------------


def test_a_cart_change_is_not_kept_when_its_event_cannot_be_written(
        engine: Engine, settings, monkeypatch: pytest.MonkeyPatch):
    from unseen.shop import create_app

    mug = add_product(engine)
    user = add_user(engine, email="jane@example.com")
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
    headers = login(client, "jane@example.com")

    def refuse(**_):
        raise RuntimeError("event store unavailable")

    monkeypatch.setattr(crud, "record_event", refuse)
    response = client.post("/api/cart", json={"product_id": mug.id}, headers=headers)

    assert response.status_code == 500
    assert "event store" not in response.text and "Traceback" not in response.text
    assert cart_rows(engine, user.id) == []
