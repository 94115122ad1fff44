"""The catalogue through the JSON API: listing, search, categories, one product, the feed, operator changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.conftest import add_product, add_user, login
from tests.shop._records import cart_rows, events, product, session_of
from unseen.tables import MAX_ID, EventKind


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


# --- listing ----------------------------------------------------------------------------------------------------


def test_list_pages_through_the_catalogue(client: TestClient, engine: Engine):
    for name in ("Apple", "Banana", "Cherry", "Damson", "Elder"):
        add_product(engine, name=name)

    first = client.get("/api/products", params={"per_page": 2})
    last = client.get("/api/products", params={"per_page": 2, "page": 3})
    beyond = client.get("/api/products", params={"per_page": 2, "page": 4})

    assert first.json() | {"items": None} == {"items": None, "total": 5, "page": 1, "per_page": 2, "pages": 3}
    assert _names(first) == ["Apple", "Banana"]
    assert _names(client.get("/api/products", params={"per_page": 2, "page": 2})) == ["Cherry", "Damson"]
    assert _names(last) == ["Elder"]
    assert _names(beyond) == [] and beyond.json()["total"] == 5


def test_list_of_an_empty_catalogue_has_one_empty_page(client: TestClient):
    assert client.get("/api/products").json() == {"items": [], "total": 0, "page": 1, "per_page": 24, "pages": 1}


def test_list_filters_by_category(client: TestClient, engine: Engine):
    add_product(engine, name="Blue Mug", category="Kitchen")
    add_product(engine, name="Green Scarf", category="Clothing")
    add_product(engine, name="Teapot", category="Kitchen")

    response = client.get("/api/products", params={"category": "Kitchen"})

    assert _names(response) == ["Blue Mug", "Teapot"]
    assert response.json()["total"] == 2
    assert _names(client.get("/api/products", params={"category": "Garden"})) == []


def test_search_ignores_case_and_looks_in_name_description_and_category(client: TestClient, engine: Engine):
    add_product(engine, name="Blue Mug", category="Kitchen")
    add_product(engine, name="Scarf", category="Clothing", description="Knitted from BLUE wool")
    add_product(engine, name="Plate", category="Blue Range")
    add_product(engine, name="Red Mug", category="Kitchen")

    assert _names(client.get("/api/products", params={"q": "bLuE"})) == ["Blue Mug", "Plate", "Scarf"]
    assert _names(client.get("/api/products", params={"q": "MUG"})) == ["Blue Mug", "Red Mug"]


def test_search_needs_every_word(client: TestClient, engine: Engine):
    add_product(engine, name="Blue Mug")
    add_product(engine, name="Red Mug")

    assert _names(client.get("/api/products", params={"q": "mug  blue"})) == ["Blue Mug"]


@pytest.mark.parametrize(("query", "expected"), [
    ("%", ["100% Cotton Tee"]),
    ("100%", ["100% Cotton Tee"]),
    ("_", ["snake_case mug"]),
    ("e_c", ["snake_case mug"]),
    ("\\", ["back\\slash"]),
])
def test_search_treats_wildcards_literally(client: TestClient, engine: Engine, query: str, expected: list[str]):
    for name in ("100% Cotton Tee", "1000 Cotton Tees", "snake_case mug", "snakeXcase mug", "back\\slash"):
        add_product(engine, name=name)

    assert _names(client.get("/api/products", params={"q": query})) == expected


def test_search_with_a_sql_fragment_finds_nothing_and_breaks_nothing(client: TestClient, engine: Engine):
    add_product(engine, name="Blue Mug")

    assert _names(client.get("/api/products", params={"q": "' OR 1=1 --"})) == []
    assert _names(client.get("/api/products")) == ["Blue Mug"]


def test_list_orders_by_name_price_or_newest(client: TestClient, engine: Engine):
    add_product(engine, name="Bravo", price_cents=300)
    add_product(engine, name="Alpha", price_cents=900)
    add_product(engine, name="Charlie", price_cents=100)

    assert _names(client.get("/api/products")) == ["Alpha", "Bravo", "Charlie"]
    assert _names(client.get("/api/products", params={"order": "price"})) == ["Charlie", "Bravo", "Alpha"]
    assert _names(client.get("/api/products", params={"order": "newest"})) == ["Charlie", "Alpha", "Bravo"]


@pytest.mark.parametrize(("params", "field"), [
    ({"order": "cheapest"}, "order"),
    ({"page": 0}, "page"),
    ({"page": "two"}, "page"),
    ({"per_page": 101}, "per_page"),
    ({"q": "x" * 201}, "q"),
    ({"category": "x" * 61}, "category"),
])
def test_list_refuses_bad_parameters_by_name(client: TestClient, params: dict, field: str):
    response = client.get("/api/products", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_deleted_products_leave_the_listing_and_categories(client: TestClient, engine: Engine, operator):
    mug = add_product(engine, name="Blue Mug", category="Kitchen")
    add_product(engine, name="Teapot", category="Kitchen")
    add_product(engine, name="Scarf", category="Clothing")
    client.delete(f"/api/products/{mug.id}", headers=operator)

    assert _names(client.get("/api/products")) == ["Scarf", "Teapot"]
    assert client.get("/api/products/categories").json() == {"Clothing": 1, "Kitchen": 1}


def test_categories_count_active_products(client: TestClient, engine: Engine):
    add_product(engine, name="Blue Mug", category="Kitchen")
    add_product(engine, name="Teapot", category="Kitchen")
    add_product(engine, name="Scarf", category="Clothing")

    response = client.get("/api/products/categories")

    assert response.status_code == 200
    assert response.json() == {"Clothing": 1, "Kitchen": 2}


# --- one product ------------------------------------------------------------------------------------------------


def test_get_product_returns_it_and_records_an_anonymous_view(client: TestClient, engine: Engine):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=7, description="Holds tea")

    response = client.get(f"/api/products/{mug.id}")

    assert response.status_code == 200
    assert response.json() == {"id": mug.id, "sku": mug.sku, "name": "Blue Mug", "category": "Kitchen",
                               "price_cents": 450, "stock": 7, "description": "Holds tea"}
    [view] = events(engine, EventKind.view)
    assert (view.product_id, view.user_id, view.session_id, view.quantity) == (mug.id, None, None, None)


def test_a_logged_in_view_names_the_user_and_session(client: TestClient, engine: Engine, customer):
    mug = add_product(engine)

    client.get(f"/api/products/{mug.id}", headers=customer)

    user_session = session_of(engine, customer)
    [view] = events(engine, EventKind.view)
    assert (view.product_id, view.user_id, view.session_id) == (mug.id, user_session.user_id, user_session.id)


def test_unknown_product_is_404_and_records_no_view(client: TestClient, engine: Engine):
    response = client.get("/api/products/999")

    assert response.status_code == 404
    assert response.json() == {"detail": "no product with id 999"}
    assert events(engine, EventKind.view) == []


@pytest.mark.parametrize("product_id", ["0", "-1", str(MAX_ID + 1), str(10**30), "1.5", "mug"])
def test_product_id_out_of_range_or_not_a_number_is_422(client: TestClient, product_id: str):
    response = client.get(f"/api/products/{product_id}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "product_id"]


# --- operator changes -----------------------------------------------------------------------------------------

NEW_PRODUCT = {"name": "Green Scarf", "category": "Clothing", "price_cents": 2500, "stock": 4,
               "description": "Wool"}


def test_operator_creates_a_product(client: TestClient, engine: Engine, operator):
    response = client.post("/api/products", json=NEW_PRODUCT, headers=operator)

    assert response.status_code == 201, response.text
    created = response.json()
    assert {k: created[k] for k in NEW_PRODUCT} == NEW_PRODUCT
    assert created["sku"]
    assert client.get(f"/api/products/{created['id']}").json() == created


def test_create_with_a_taken_sku_is_409(client: TestClient, engine: Engine, operator):
    add_product(engine, sku="MUG-1")

    response = client.post("/api/products", json={**NEW_PRODUCT, "sku": "MUG-1"}, headers=operator)

    assert response.status_code == 409
    assert "MUG-1" in response.json()["detail"]
    assert client.get("/api/products").json()["total"] == 1


def test_create_names_each_bad_field(client: TestClient, operator):
    response = client.post("/api/products", headers=operator, json={
        "name": " ", "category": "Clothing", "price_cents": 0, "stock": -1, "description": "bad\x00byte"})

    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert fields == {"name", "price_cents", "stock", "description"}


def test_operator_updates_some_fields(client: TestClient, engine: Engine, operator):
    mug = add_product(engine, name="Blue Mug", price_cents=450, stock=10)

    response = client.patch(f"/api/products/{mug.id}", json={"price_cents": 500, "stock": 3}, headers=operator)

    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["price_cents"], response.json()["stock"]) == ("Blue Mug", 500, 3)
    assert (product(engine, mug.id).price_cents, product(engine, mug.id).stock) == (500, 3)


def test_update_refuses_bad_values_and_keeps_the_product(client: TestClient, engine: Engine, operator):
    mug = add_product(engine, price_cents=450)

    response = client.patch(f"/api/products/{mug.id}", json={"price_cents": "cheap"}, headers=operator)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "price_cents"]
    assert product(engine, mug.id).price_cents == 450


def test_update_or_delete_of_an_unknown_product_is_404(client: TestClient, operator):
    assert client.patch("/api/products/999", json={"stock": 1}, headers=operator).status_code == 404
    assert client.delete("/api/products/999", headers=operator).status_code == 404


def test_deleted_product_is_gone_from_the_shop_carts_and_favourites(client: TestClient, engine: Engine, operator):
    mug = add_product(engine, name="Blue Mug")
    keep = add_product(engine, name="Teapot")
    jane = add_user(engine, email="jane@example.com")
    customer = login(client, "jane@example.com")
    for product_id in (mug.id, keep.id):
        client.post("/api/cart", json={"product_id": product_id}, headers=customer)
        client.post("/api/favourites", json={"product_id": product_id}, headers=customer)

    response = client.delete(f"/api/products/{mug.id}", headers=operator)

    assert response.status_code == 204
    assert client.get(f"/api/products/{mug.id}").status_code == 404
    assert client.delete(f"/api/products/{mug.id}", headers=operator).status_code == 404
    assert cart_rows(engine, jane.id) == [(keep.id, 1)]
    assert [line["product"]["id"] for line in client.get("/api/cart", headers=customer).json()["items"]] == [keep.id]
    assert [p["id"] for p in client.get("/api/favourites", headers=customer).json()] == [keep.id]
    assert client.post("/api/cart", json={"product_id": mug.id}, headers=customer).status_code == 404
    assert client.post("/api/favourites", json={"product_id": mug.id}, headers=customer).status_code == 404


def test_deleted_product_stays_in_past_orders(client: TestClient, engine: Engine, operator, customer):
    mug = add_product(engine, name="Blue Mug", price_cents=450)
    client.post("/api/cart", json={"product_id": mug.id, "quantity": 2}, headers=customer)
    order = client.post("/api/orders", headers=customer).json()

    client.delete(f"/api/products/{mug.id}", headers=operator)

    expected_lines = [{"product_id": mug.id, "name": "Blue Mug", "quantity": 2, "unit_price_cents": 450}]
    assert client.get("/api/orders", headers=customer).json()[0]["lines"] == expected_lines
    assert client.get(f"/api/orders/{order['id']}", headers=customer).json()["lines"] == expected_lines


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/products", NEW_PRODUCT),
    ("PATCH", "/api/products/{id}", {"stock": 0}),
    ("DELETE", "/api/products/{id}", None),
])
def test_product_changes_need_an_operator(client: TestClient, engine: Engine, method: str, path: str, body):
    mug = add_product(engine, name="Blue Mug", stock=10)
    add_user(engine, email="jane@example.com")
    url = path.format(id=mug.id)

    anonymous = client.request(method, url, json=body)
    customer = client.request(method, url, json=body, headers=login(client, "jane@example.com"))

    assert anonymous.status_code == 401
    assert customer.status_code == 403
    assert customer.json() == {"detail": "this needs the operator role"}
    assert _names(client.get("/api/products")) == ["Blue Mug"]
    assert product(engine, mug.id).stock == 10


# --- feed -------------------------------------------------------------------------------------------------------


def test_feed_puts_best_sellers_first_and_leaves_out_sold_out_products(client: TestClient, engine: Engine, customer):
    quiet = add_product(engine, name="Apple", stock=5)
    seller = add_product(engine, name="Zebra Mug", stock=5)
    add_product(engine, name="Gone", stock=0)
    client.post("/api/cart", json={"product_id": seller.id, "quantity": 2}, headers=customer)
    client.post("/api/orders", headers=customer)

    response = client.get("/api/feed")

    assert response.status_code == 200
    body = response.json()
    assert body["strategy"] == "popular" and (body["page"], body["per_page"]) == (1, 24)
    assert [p["id"] for p in body["items"]] == [seller.id, quiet.id]


def test_feed_pages_and_filters_by_category(client: TestClient, engine: Engine):
    add_product(engine, name="Apple", category="Food")
    add_product(engine, name="Bread", category="Food")
    add_product(engine, name="Scarf", category="Clothing")

    assert _names(client.get("/api/feed", params={"per_page": 1, "page": 2})) == ["Bread"]
    assert _names(client.get("/api/feed", params={"category": "Clothing"})) == ["Scarf"]
    assert client.get("/api/feed", params={"per_page": 0}).status_code == 422
