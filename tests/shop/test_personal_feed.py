"""The personal feed: item-kNN folded in per user, following the user's cart and favourites on the next request."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from tests.conftest import add_user, home_of, login
from unseen.db import make_engine
from unseen.ml.registry import ModelRegistry
from unseen.ml.training import RecommendParameters, train_recommend
from unseen.shop import create_app, crud
from unseen.simulate.seed import SeedParameters, seed
from unseen.tables import Product, User


@pytest.fixture(scope="module")
def trained_shop(tmp_path_factory):
    from unseen.config import Settings

    root = tmp_path_factory.mktemp("personal")
    # Seeded customers log in through a trusted proxy from their home (see tests.conftest.home_of).
    settings = Settings(environment="test", models_dir=root / "models", feed_cache_seconds=0, model_poll_seconds=0,
                        trusted_proxies=["127.0.0.1"])
    engine = make_engine(f"sqlite:///{root}/shop.db")
    seed(engine, settings, SeedParameters(seed=5, customers=80, months=24, products=120, until=date(2026, 10, 31)))
    result = train_recommend(engine, ModelRegistry(settings.models_dir), RecommendParameters(n_neighbors=20, test_days=60))
    assert result.decision.promoted
    yield settings, engine
    engine.dispose()


@pytest.fixture
def shop(trained_shop, monkeypatch):
    settings, engine = trained_shop
    # The popular ranking counts the sales of the last 90 days: on the day after the seeded history ends, not on the
    # day the suite runs, so that which product ranks where (and is picked below) does not change with the calendar.
    monkeypatch.setattr(crud, "utcnow", lambda: datetime(2026, 11, 1, 12, tzinfo=UTC))
    with TestClient(create_app(settings, engine), client=("127.0.0.1", 50000)) as client:
        yield client, engine


def _ids(feed) -> list[int]:
    body = feed if isinstance(feed, dict) else feed.json()
    return [p["id"] for p in body["items"]]


def test_a_shopper_with_history_gets_personal_recommendations(shop):
    client, engine = shop
    headers = login(client, "jane.doe@shoppers.example", "shopper-demo",
                    headers=home_of(engine, "jane.doe@shoppers.example"))
    feed = client.get("/api/feed", headers=headers).json()
    assert feed["strategy"] == "personal" and feed["model_version"].startswith("v")
    assert len(feed["items"]) == 24 and all(p["stock"] > 0 for p in feed["items"])


def test_a_new_shopper_gets_popular_products(shop):
    client, engine = shop
    add_user(engine, email="newcomer@example.com")
    headers = login(client, "newcomer@example.com")
    assert client.get("/api/feed", headers=headers).json()["strategy"] == "popular"
    assert client.get("/api/feed").json()["strategy"] == "popular"


def test_cart_add_changes_the_very_next_feed(shop):
    client, engine = shop
    add_user(engine, email="fresh@example.com")
    headers = login(client, "fresh@example.com")
    before = client.get("/api/feed", headers=headers).json()
    assert before["strategy"] == "popular"
    chosen = before["items"][5]["id"]
    assert client.post("/api/cart", json={"product_id": chosen, "quantity": 1}, headers=headers).status_code == 200
    after = client.get("/api/feed", headers=headers).json()
    assert after["strategy"] == "personal"
    assert _ids(after) != _ids(before)
    assert chosen not in _ids(after)  # what is in the cart is not recommended again

    with Session(engine) as session:
        category = session.get(Product, chosen).category
    same_category = sum(p["category"] == category for p in after["items"][:10])
    assert same_category >= 3  # neighbours of a product are mostly its own kind


def test_favourite_change_is_reflected_at_once_and_cached_otherwise(shop):
    client, engine = shop
    headers = login(client, "jane.doe@shoppers.example", "shopper-demo",
                    headers=home_of(engine, "jane.doe@shoppers.example"))
    first = client.get("/api/feed", headers=headers).json()
    feed = client.app.state.feed
    with Session(engine) as session:
        jane = session.exec(select(User).where(User.email == "jane.doe@shoppers.example")).scalars().one()
    stamp, cached = feed.cache.get(jane.id)
    assert _ids(client.get("/api/feed", headers=headers)) == _ids(first)
    assert feed.cache.get(jane.id)[0] == stamp  # nothing changed: the cached list served

    shown = {p["category"] for p in first["items"]}
    elsewhere = next(p for p in client.get("/api/products", params={"per_page": 100}).json()["items"]
                     if p["category"] not in shown and p["stock"] > 0)
    for _ in range(3):  # a strong new interest: favourite it and put it in the cart
        client.post("/api/favourites", json={"product_id": elsewhere["id"]}, headers=headers)
    assert client.post("/api/cart", json={"product_id": elsewhere["id"], "quantity": 1}, headers=headers).status_code == 200
    after = client.get("/api/feed", headers=headers).json()
    assert feed.cache.get(jane.id)[0] != stamp
    assert _ids(after) != _ids(first)
    assert any(p["category"] == elsewhere["category"] for p in after["items"])


def test_feed_page_shows_recommendations_to_a_logged_in_shopper(shop):
    client, engine = shop
    login(client, "jane.doe@shoppers.example", "shopper-demo", headers=home_of(engine, "jane.doe@shoppers.example"))  # the cookie logs the browser in
    page = client.get("/")
    assert "Recommended for you" in page.text
    assert "Recommended for you" in client.get("/products").text
