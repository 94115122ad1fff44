"""The feed: popular products by recent sales, in stock, with a ranking cache that expires."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import add_product, add_user, login
from unseen.shop import create_app
from unseen.shop.feed import PopularityRanking


def _buy(client, headers, product_id, quantity):
    assert client.post("/api/cart", json={"product_id": product_id, "quantity": quantity}, headers=headers).status_code == 200
    assert client.post("/api/orders", headers=headers).status_code == 201


def test_feed_ranks_by_recent_sales_and_hides_sold_out(client, engine, customer):
    slow = add_product(engine, name="Slow Seller", stock=50)
    fast = add_product(engine, name="Fast Seller", stock=50)
    gone = add_product(engine, name="Last One", stock=1)
    _buy(client, customer, fast.id, 5)
    _buy(client, customer, slow.id, 1)
    _buy(client, customer, gone.id, 1)
    names = [p["name"] for p in client.get("/api/feed").json()["items"]]
    assert names == ["Fast Seller", "Slow Seller"]  # "Last One" is sold out


def test_feed_filters_by_category_and_pages(client, engine):
    for i in range(5):
        add_product(engine, name=f"Mug {i}", category="Kitchen", stock=3)
    add_product(engine, name="Rake", category="Garden", stock=3)
    garden = client.get("/api/feed", params={"category": "Garden"}).json()["items"]
    assert [p["name"] for p in garden] == ["Rake"]
    first = client.get("/api/feed", params={"category": "Kitchen", "per_page": 2, "page": 1}).json()["items"]
    third = client.get("/api/feed", params={"category": "Kitchen", "per_page": 2, "page": 3}).json()["items"]
    assert [p["name"] for p in first] == ["Mug 0", "Mug 1"] and [p["name"] for p in third] == ["Mug 4"]


def test_ranking_is_reused_within_its_lifetime_then_recomputed(settings, engine):
    cached = settings.model_copy(update={"feed_cache_seconds": 0.5})
    with TestClient(create_app(cached, engine)) as client:
        a = add_product(engine, name="A", stock=20)
        b = add_product(engine, name="B", stock=20)
        add_user(engine, email="buyer@example.com")
        headers = login(client, "buyer@example.com")
        assert [p["name"] for p in client.get("/api/feed").json()["items"]] == ["A", "B"]
        _buy(client, headers, b.id, 3)
        assert [p["name"] for p in client.get("/api/feed").json()["items"]] == ["A", "B"]  # still the cached ranking
        time.sleep(0.6)
        assert [p["name"] for p in client.get("/api/feed").json()["items"]] == ["B", "A"]
        assert a.id != b.id


def test_invalidate_forgets_every_category(engine):
    def ranked(ranking):
        with Session(engine) as session:
            return ranking.ranked_ids(session)

    add_product(engine, name="Only", stock=1)
    ranking = PopularityRanking(ttl_seconds=3600)
    assert len(ranked(ranking)) == 1
    add_product(engine, name="Another", stock=1)
    assert len(ranked(ranking)) == 1
    ranking.invalidate()
    assert len(ranked(ranking)) == 2
