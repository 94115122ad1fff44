"""The committed OpenAPI contract is the one the code serves: an API change must update api/openapi.json."""

import json

from unseen.shop.contract import CONTRACT_PATH, current_schema


def test_generated_schema_matches_the_committed_contract():
    committed = json.loads(CONTRACT_PATH.read_text())
    assert current_schema() == committed, "the API changed: review it, then run `make openapi` and commit the file"


def test_contract_lists_the_shop_routes():
    paths = json.loads(CONTRACT_PATH.read_text())["paths"]
    for path in ("/api/auth/register", "/api/auth/login", "/api/auth/logout", "/api/products",
                 "/api/products/{product_id}", "/api/cart", "/api/favourites", "/api/feed", "/api/orders"):
        assert path in paths


def test_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "unseen shop"
