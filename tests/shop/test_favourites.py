"""Favourites through the JSON API, and the favourite_add / favourite_remove events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import add_product
from tests.shop._records import events, session_of
from unseen.tables import EventKind


def _ids(response) -> list[int]:
    return [p["id"] for p in response.json()]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/favourites"), ("POST", "/api/favourites"),
                                              ("DELETE", "/api/favourites/1")])
def test_favourites_need_a_login(client: TestClient, engine: Engine, method: str, path: str):
    add_product(engine)

    assert client.request(method, path, json={"product_id": 1}).status_code == 401
    assert events(engine) == []


def test_new_favourite_is_201_and_records_favourite_add(client: TestClient, engine: Engine, customer):
    mug = add_product(engine, name="Blue Mug")

    response = client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)

    assert response.status_code == 201
    assert [p["name"] for p in response.json()] == ["Blue Mug"]
    user_session = session_of(engine, customer)
    [event] = events(engine, EventKind.favourite_add)
    assert (event.user_id, event.session_id, event.product_id, event.quantity) == (
        user_session.user_id, user_session.id, mug.id, None)


def test_existing_favourite_is_200_and_records_nothing_more(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)
    client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)

    response = client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)

    assert response.status_code == 200
    assert _ids(response) == [mug.id]
    assert len(events(engine, EventKind.favourite_add)) == 1


def test_favourites_are_listed_newest_first(client: TestClient, engine: Engine, customer):
    first = add_product(engine, name="Apple")
    second = add_product(engine, name="Zebra")
    client.post("/api/favourites", json={"product_id": first.id}, headers=customer)
    client.post("/api/favourites", json={"product_id": second.id}, headers=customer)

    response = client.get("/api/favourites", headers=customer)

    assert response.status_code == 200
    assert _ids(response) == [second.id, first.id]


def test_favourite_of_an_unknown_product_is_404(client: TestClient, engine: Engine, customer):
    response = client.post("/api/favourites", json={"product_id": 999}, headers=customer)

    assert response.status_code == 404
    assert response.json() == {"detail": "no product with id 999"}
    assert events(engine, EventKind.favourite_add) == []


@pytest.mark.parametrize("product_id", [0, -1, 2**31, 10**30, "one", 1.5, None])
def test_favourite_with_a_bad_product_id_is_422(client: TestClient, customer, product_id):
    response = client.post("/api/favourites", json={"product_id": product_id}, headers=customer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "product_id"]


def test_remove_is_204_and_records_favourite_remove(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)
    client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)

    response = client.delete(f"/api/favourites/{mug.id}", headers=customer)

    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/api/favourites", headers=customer).json() == []
    user_session = session_of(engine, customer)
    [event] = events(engine, EventKind.favourite_remove)
    assert (event.user_id, event.session_id, event.product_id) == (user_session.user_id, user_session.id, mug.id)


def test_remove_of_a_product_that_is_no_favourite_is_404_and_records_nothing(
        client: TestClient, engine: Engine, customer):
    mug = add_product(engine)

    response = client.delete(f"/api/favourites/{mug.id}", headers=customer)

    assert response.status_code == 404
    assert response.json() == {"detail": f"product {mug.id} is not among the favourites"}
    assert events(engine, EventKind.favourite_remove) == []


def test_favourites_can_be_added_again_after_removal(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)
    client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)
    client.delete(f"/api/favourites/{mug.id}", headers=customer)

    response = client.post("/api/favourites", json={"product_id": mug.id}, headers=customer)

    assert response.status_code == 201
    assert [e.kind for e in events(engine) if e.kind.value.startswith("favourite")] == [
        EventKind.favourite_add, EventKind.favourite_remove, EventKind.favourite_add]
