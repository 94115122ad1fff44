"""Capture: every request becomes a record, written off the request path, nothing lost; blocked clients refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from tests.conftest import add_product, add_user, login
from unseen.monitor.capture import payload_text
from unseen.monitor.network import client_address, parse_networks
from unseen.monitor.service import Block
from unseen.shop import create_app
from unseen.tables import RequestLog, utcnow


def _log(engine) -> list[RequestLog]:
    with Session(engine) as session:
        return list(session.exec(select(RequestLog).order_by(RequestLog.id)).scalars())


def test_every_request_is_recorded_with_what_the_shop_resolved(client, engine, customer):
    product = add_product(engine, name="Lantern", stock=5)
    client.get("/api/products", params={"q": "lantern"}, headers={"User-Agent": "Firefox/133", "Referer": "http://x/"})
    client.post("/api/cart", json={"product_id": product.id, "quantity": 1}, headers=customer)
    client.get("/api/products/999999")
    client.app.state.monitor.drain()
    rows = _log(engine)
    search = next(r for r in rows if r.path == "/api/products")
    assert search.method == "GET" and search.query == "q=lantern" and search.status == 200
    assert search.user_agent == "Firefox/133" and search.referer == "http://x/"
    assert search.ip == "127.0.0.1" and search.latency_ms > 0 and search.response_bytes > 0
    cart = next(r for r in rows if r.path == "/api/cart")
    assert cart.user_id is not None and cart.session_id is not None and cart.request_bytes > 0
    assert next(r for r in rows if r.path == "/api/products/999999").status == 404
    assert all(r.category == "normal" for r in rows) and all(r.reasons is None for r in rows)


def test_nothing_is_lost_under_concurrent_requests(client, engine):
    n_threads, per_thread = 8, 40

    def hammer():
        for _ in range(per_thread):
            assert client.get("/api/products/categories").status_code == 200

    threads = [threading.Thread(target=hammer) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monitor = client.app.state.monitor
    monitor.drain()
    with Session(engine) as session:
        written = session.exec(select(func.count()).select_from(RequestLog)
                               .where(RequestLog.path == "/api/products/categories")).scalars().one()
    assert written == n_threads * per_thread
    assert monitor.stats().dropped == 0 and monitor.stats().write_errors == 0


def test_stop_flushes_what_is_still_queued(settings, engine):
    with TestClient(create_app(settings, engine)) as client:
        for _ in range(50):
            client.get("/health")
    # leaving the block ran the shutdown: every record must be in the table now, no drain needed
    assert sum(r.path == "/health" for r in _log(engine)) == 50


@pytest.fixture
def outsider(settings, engine):
    """A client that is not on the allowlist."""
    with TestClient(create_app(settings.model_copy(update={"allowlist": []}), engine),
                    client=("198.51.100.77", 5000)) as client:
        yield client


def test_a_blocked_ip_gets_403_and_is_still_recorded(outsider, engine):
    client = outsider
    monitor = client.app.state.monitor
    monitor.set_block("198.51.100.77", Block(decision_id=None, expires_at=utcnow() + timedelta(minutes=5), reason="t"))
    refused = client.get("/api/products")
    assert refused.status_code == 403 and "blocked" in refused.json()["detail"]
    monitor.clear_block("198.51.100.77")
    assert client.get("/api/products").status_code == 200
    monitor.drain()
    rows = [r for r in _log(engine) if r.path == "/api/products"]
    assert [(r.status, r.blocked) for r in rows] == [(403, True), (200, False)]


def test_an_expired_block_lets_the_client_in(outsider):
    monitor = outsider.app.state.monitor
    monitor.set_block("198.51.100.77", Block(decision_id=None, expires_at=utcnow() - timedelta(seconds=1), reason="o"))
    assert outsider.get("/api/products").status_code == 200


def test_allowlisted_clients_are_never_refused(settings, engine):
    allowed = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"], "allowlist": ["203.0.113.0/24"]})
    with TestClient(create_app(allowed, engine), client=("127.0.0.1", 5000)) as client:
        monitor = client.app.state.monitor
        monitor.set_block("203.0.113.7", Block(None, utcnow() + timedelta(minutes=5), "test"))
        monitor.set_block("198.51.100.9", Block(None, utcnow() + timedelta(minutes=5), "test"))
        assert client.get("/api/products", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
        assert client.get("/api/products", headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 403


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    proxies = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address("127.0.0.1", "198.51.100.7", proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", "198.51.100.7, 10.1.2.3", proxies) == "198.51.100.7"
    assert client_address("203.0.113.5", "198.51.100.7", proxies) == "203.0.113.5"  # untrusted peer
    assert client_address("127.0.0.1", "not-an-ip", proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", None, proxies) == "127.0.0.1"
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks(["10.0.0.300"])


def test_simulated_clients_are_told_apart_through_a_trusted_proxy(settings, engine):
    proxied = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    with TestClient(create_app(proxied, engine), client=("127.0.0.1", 5000)) as client:
        for ip in ("198.51.100.1", "198.51.100.2"):
            client.get("/health", headers={"X-Forwarded-For": ip})
        client.app.state.monitor.drain()
    assert {r.ip for r in _log(engine) if r.path == "/health"} == {"198.51.100.1", "198.51.100.2"}


def test_bodies_are_inspected_and_replayed_to_the_shop(client, engine):
    add_user(engine, email="ann@example.com")
    assert login(client, "ann@example.com")  # the body reached the route intact
    assert client.post("/api/auth/login", json={"email": "ann@example.com", "password": "wrong-password"}).status_code == 401
    big = client.post("/api/auth/register", content=b"x" * 100_000, headers={"Content-Type": "application/json"})
    assert big.status_code in (413, 422)


def test_payload_text_reads_form_and_json_values():
    assert payload_text(b"q=select+1&csrf_token=abc", "application/x-www-form-urlencoded") == "select 1"
    assert payload_text(b'{"email": "a@b.c", "tags": ["x", {"y": "1 OR 1=1"}]}', "application/json") == \
        "email a@b.c tags x y 1 OR 1=1"
    assert payload_text(b"{not json", "application/json") == "{not json"
    assert payload_text(b"", "application/json") is None


def test_the_request_path_does_not_wait_for_the_database(settings, engine):
    """With the writer stopped, requests are still answered; their records wait in the queue."""
    app = create_app(settings, engine)
    with TestClient(app) as client:
        monitor = app.state.monitor
        monitor.stop()
        for _ in range(20):
            assert client.get("/health").status_code == 200
        assert monitor.stats().queued == 20
        monitor.start()
        monitor.drain()
        assert monitor.stats().queued == 0


def test_real_server_records_loopback_requests(tmp_path):
    from tests.servers import shop_server

    url = f"sqlite:///{tmp_path}/live.db"
    from unseen.db import create_schema, make_engine

    engine = make_engine(url)
    create_schema(engine)
    with shop_server(url) as base:
        for _ in range(5):
            assert httpx.get(f"{base}/api/products").status_code == 200
    rows = [r for r in _log(engine) if r.path == "/api/products"]
    assert len(rows) == 5 and {r.ip for r in rows} == {"127.0.0.1"}
    engine.dispose()
