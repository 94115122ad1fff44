"""Shared fixtures: a fresh in-memory database and shop per test, and helpers to act as a customer or operator."""

from __future__ import annotations

import os

# scikit-learn runs its array-API check on the hand-written estimators only with SciPy's array API switched on,
# and skips it otherwise; it must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from unseen.config import Settings
from unseen.db import create_schema, make_engine
from unseen.shop import create_app
from unseen.shop.security import hash_password
from unseen.tables import Product, Role, User

from tests.mail import smtp_server, start_server  # noqa: E402,F401  (fixtures: a real SMTP server on loopback)

PASSWORD = "correct horse battery"
TEST_CLIENT = ("127.0.0.1", 50000)


def reference_data_dir() -> Path:
    """The shared reference data: ``UNSEEN_REFERENCE_DATA`` or ``../shared/data`` beside the repository."""
    return Settings().reference_data_dir


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The feed ranking cache is off here so that a test sees the effect of an order at once; test_feed covers it.
    # The test client speaks from 127.0.0.1, which is allowlisted: tests fire requests faster than any shopper and
    # send hostile input on purpose, and the monitor (which judges all of it) must not block the test itself.
    return Settings(environment="test", var_dir=tmp_path / "var", artefacts_dir=tmp_path / "artefacts",
                    models_dir=tmp_path / "models", feed_cache_seconds=0, model_poll_seconds=0,
                    reference_data_dir=reference_data_dir(), allowlist=[TEST_CLIENT[0]])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    # A file, not ``sqlite://``: the monitor's background writer needs a connection of its own, and one shared
    # in-memory connection cannot hold two transactions at once.
    engine = make_engine(f"sqlite:///{tmp_path}/shop.db")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine), client=TEST_CLIENT) as test_client:
        yield test_client


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def add_product(engine: Engine, *, name: str = "Blue Mug", category: str = "Kitchen", price_cents: int = 450,
                stock: int = 10, description: str = "", sku: str | None = None) -> Product:
    with Session(engine, expire_on_commit=False) as session:
        product = Product(sku=sku or f"T-{name[:10]}-{price_cents}-{stock}", name=name, category=category,
                          price_cents=price_cents, stock=stock, description=description)
        session.add(product)
        session.commit()
        return product


def add_user(engine: Engine, *, email: str, role: Role = Role.customer, password: str = PASSWORD) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = User(email=email, full_name=email.split("@")[0].title(), role=role, password_hash=hash_password(password))
        session.add(user)
        session.commit()
        return user


def login(client: TestClient, email: str, password: str = PASSWORD, *, headers: dict | None = None) -> dict[str, str]:
    """Log in through the API; returns the bearer header (the cookie is kept by the client too)."""
    response = client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["step_up_required"] is False, "the login was stepped up: log in from the user's home"
    return {"Authorization": f"Bearer {response.json()['token']}", **(headers or {})}


def home_of(engine: Engine, email: str) -> dict[str, str]:
    """Where a seeded customer last logged in from, as the headers a trusted proxy would pass on: logging in as
    them from anywhere else is unusual for their history, and the shop asks for a one-time code."""
    from sqlalchemy import select as sa_select

    from unseen.tables import LoginAttempt

    with engine.connect() as conn:
        ip, agent = conn.execute(sa_select(LoginAttempt.ip, LoginAttempt.user_agent).where(
            LoginAttempt.email == email, LoginAttempt.success.is_(True)).order_by(LoginAttempt.at.desc())).first()
    return {"X-Forwarded-For": ip, "User-Agent": agent}


@pytest.fixture
def customer(client: TestClient, engine: Engine) -> dict[str, str]:
    add_user(engine, email="jane@example.com")
    return login(client, "jane@example.com")


@pytest.fixture
def operator(client: TestClient, engine: Engine) -> dict[str, str]:
    add_user(engine, email="op@example.com", role=Role.operator)
    return login(client, "op@example.com")
