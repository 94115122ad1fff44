"""What the shop answered is stored: killing the server right after its answer loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.servers import free_port, unseen_command, wait_for_http
from unseen.config import PROJECT_ROOT
from unseen.db import create_schema, make_engine
from unseen.shop.security import hash_password
from unseen.tables import CartItem, Event, EventKind, Order, Product, User

pytestmark = pytest.mark.e2e


def test_kill_after_answer_keeps_the_change_and_its_event(tmp_path):
    url = f"sqlite:///{tmp_path}/shop.db"
    engine = make_engine(url)
    create_schema(engine)
    with Session(engine) as session:
        session.add(User(email="kim@example.com", full_name="Kim", password_hash=hash_password("kim-password")))
        session.add(Product(sku="K1", name="Lantern", category="Lighting", price_cents=999, stock=5))
        session.commit()
    engine.dispose()

    port = free_port()
    server = subprocess.Popen(unseen_command("serve", "--database-url", url, "--port", str(port), "--log-level",
                                             "warning"), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", process=server)
        token = httpx.post(f"{base}/api/auth/login", json={"email": "kim@example.com", "password": "kim-password"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{base}/api/cart", json={"product_id": 1, "quantity": 2}, headers=headers).status_code == 200
        order = httpx.post(f"{base}/api/orders", headers=headers)
        assert order.status_code == 201
    finally:
        os.kill(server.pid, signal.SIGKILL)  # no shutdown, no flush: the answer must already be durable
        server.wait()

    engine = make_engine(url)
    with Session(engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(Event.id)).scalars()]
        stored = session.get(Order, order.json()["id"])
        stock = session.get(Product, 1).stock
        cart = session.exec(select(CartItem)).scalars().all()
    engine.dispose()
    assert kinds == [EventKind.login_ok, EventKind.cart_add, EventKind.purchase]
    assert stored is not None and stored.total_cents == 1998
    assert stock == 3 and cart == []
