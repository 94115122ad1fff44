"""The shop on a real PostgreSQL server, by URL: schema, seeding and the shopping path."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.conftest import add_product, add_user, login
from tests.servers import temporary_postgres
from unseen.db import create_schema, make_engine
from unseen.shop import create_app
from unseen.simulate.seed import SeedParameters, seed
from unseen.tables import Event, EventKind, Order, Product


@pytest.fixture(scope="module")
def postgres_url():
    with temporary_postgres() as url:
        yield url


@pytest.fixture
def pg_engine(postgres_url):
    engine = make_engine(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    create_schema(engine)
    yield engine
    engine.dispose()


def test_plain_postgresql_url_uses_psycopg3(pg_engine):
    assert pg_engine.dialect.driver == "psycopg"
    assert pg_engine.dialect.name == "postgresql"


def test_schema_creation_is_idempotent(pg_engine):
    create_schema(pg_engine)
    create_schema(pg_engine)
    with pg_engine.connect() as conn:
        tables = set(conn.execute(text("select tablename from pg_tables where schemaname='public'")).scalars())
    assert {"user", "user_session", "product", "cart_item", "favourite", "shop_order", "order_line", "event"} <= tables


def test_seeding_on_postgres_is_idempotent(pg_engine, settings):
    params = SeedParameters(seed=3, customers=12, months=24, products=40, until=date(2026, 6, 30))
    first = seed(pg_engine, settings, params)
    again = seed(pg_engine, settings, params)
    assert first.status == "seeded" and again.status == "already seeded"
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == first.orders
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == first.events


def test_shopping_path_on_postgres(pg_engine, settings):
    with TestClient(create_app(settings, pg_engine)) as client:
        add_user(pg_engine, email="pat@example.com")
        product = add_product(pg_engine, name="Wool Duffle Coat", category="Coats", price_cents=9500, stock=2)
        headers = login(client, "pat@example.com")
        assert client.post("/api/cart", json={"product_id": product.id, "quantity": 3}, headers=headers).status_code == 409
        assert client.post("/api/cart", json={"product_id": product.id, "quantity": 2}, headers=headers).status_code == 200
        order = client.post("/api/orders", headers=headers)
        assert order.status_code == 201
        assert order.json()["total_cents"] == 19000
        assert client.get("/api/orders", headers=headers).json()[0]["id"] == order.json()["id"]
        assert client.post("/api/auth/login", json={"email": "pat@example.com", "password": "nope-nope"}).status_code == 401
        # New sequences keep working after seeding-style bulk inserts and ordinary inserts alike.
        assert client.get(f"/api/products/{product.id}").status_code == 200
    with pg_engine.connect() as conn:
        assert conn.execute(select(Product.stock).where(Product.id == product.id)).scalar_one() == 0
        kinds = set(conn.execute(select(Event.kind)).scalars())
    assert {EventKind.cart_add, EventKind.purchase, EventKind.login_ok, EventKind.login_fail, EventKind.view} <= kinds
