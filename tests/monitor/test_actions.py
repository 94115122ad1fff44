"""Automatic actions and their undo: bans that grow, allowlist, terminated and flagged sessions, operator API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from tests.conftest import add_user, login
from unseen.monitor.actions import ActionPolicy
from unseen.monitor.records import Category, RequestRecord
from unseen.shop import create_app
from unseen.tables import Decision, Role, UserSession


def judge_by_query(record: RequestRecord) -> RequestRecord:
    """A stand-in for the rules: `?attack=KIND` makes a request an anomaly of that kind."""
    if "attack=" in record.query:
        record.category = Category.anomaly
        record.anomaly_kind = record.query.split("attack=")[1].split("&")[0]
        record.reasons = [f"test-{record.anomaly_kind}"]
        record.score = 5
    return record


@pytest.fixture
def shop(settings, engine):
    proxied = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"], "allowlist": ["192.0.2.0/24"]})
    with TestClient(create_app(proxied, engine), client=("127.0.0.1", 5000)) as client:
        client.app.state.monitor.judge = judge_by_query
        yield client


def _from(ip: str, headers: dict | None = None) -> dict:
    return {"X-Forwarded-For": ip, **(headers or {})}


def _decisions(engine) -> list[Decision]:
    with Session(engine) as session:
        return list(session.exec(select(Decision).order_by(Decision.id)).scalars())


def test_sql_injection_blocks_the_ip_for_the_first_ban_time(shop, engine):
    assert shop.get("/api/products?attack=sql_injection", headers=_from("198.51.100.7")).status_code == 200
    shop.app.state.monitor.drain()
    assert shop.get("/api/products", headers=_from("198.51.100.7")).status_code == 403
    assert shop.get("/api/products", headers=_from("198.51.100.8")).status_code == 200  # others are not affected
    [decision] = _decisions(engine)
    assert (decision.kind, decision.target, decision.anomaly_kind, decision.offence) == \
        ("block_ip", "198.51.100.7", "sql_injection", 1)
    assert decision.expires_at - decision.created_at == pytest.approx(timedelta(seconds=900), abs=timedelta(seconds=2))
    assert decision.evidence["path"] == "/api/products" and "test-sql_injection" in decision.reason


def test_repeat_offenders_get_longer_bans(shop, engine):
    monitor = shop.app.state.monitor
    for _ in range(3):
        shop.get("/api/products?attack=flood", headers=_from("203.0.113.9"))
        monitor.drain()
        blocks = [d for d in _decisions(engine) if d.target == "203.0.113.9"]
        monitor.clear_block("203.0.113.9")  # as if the ban ran out
    lengths = [(d.expires_at - d.created_at).total_seconds() for d in blocks]
    assert [d.offence for d in blocks] == [1, 2, 3]
    assert lengths[1] == pytest.approx(4 * lengths[0], rel=0.01) and lengths[2] == pytest.approx(16 * lengths[0], rel=0.01)
    assert ActionPolicy(ban_seconds=3600, max_ban_seconds=7200).ban_for(5) == timedelta(seconds=7200)


def test_allowlisted_networks_are_never_blocked(shop, engine):
    shop.get("/api/products?attack=flood", headers=_from("192.0.2.44"))
    shop.app.state.monitor.drain()
    assert shop.get("/api/products", headers=_from("192.0.2.44")).status_code == 200
    assert not [d for d in _decisions(engine) if d.kind == "block_ip"]


def test_cart_spam_terminates_the_session(shop, engine):
    add_user(engine, email="spam@example.com")
    headers = login(shop, "spam@example.com")
    assert shop.get("/api/cart?attack=cart_spam", headers=_from("198.51.100.20", headers)).status_code == 200
    shop.app.state.monitor.drain()
    assert shop.get("/api/cart", headers=_from("198.51.100.20", headers)).status_code == 401
    [decision] = _decisions(engine)
    assert decision.kind == "terminate_session"
    with Session(engine) as session:
        assert session.get(UserSession, int(decision.target)).end_reason == "terminated"


def test_password_guessing_blocks_and_flags_the_account(shop, engine):
    add_user(engine, email="victim@example.com")
    shop.post("/api/auth/login?attack=password_guessing", json={"email": "victim@example.com", "password": "guess-1"},
              headers=_from("198.51.100.30"))
    shop.app.state.monitor.drain()
    kinds = {(d.kind, d.target) for d in _decisions(engine)}
    assert kinds == {("block_ip", "198.51.100.30"), ("flag_account", "victim@example.com")}


def test_operator_sees_requests_decisions_and_undoes_a_block(shop, engine):
    add_user(engine, email="op@example.com", role=Role.operator)
    operator = login(shop, "op@example.com")
    shop.get("/api/products?attack=scraping", headers=_from("198.51.100.50"))
    monitor = shop.app.state.monitor
    monitor.drain()
    assert shop.get("/api/products", headers=_from("198.51.100.50")).status_code == 403

    flagged = shop.get("/api/operator/requests", params={"category": "anomaly"}, headers=operator).json()
    assert [r["ip"] for r in flagged] == ["198.51.100.50"] and flagged[0]["anomaly_kind"] == "scraping"
    summary = shop.get("/api/operator/summary", headers=operator).json()
    assert summary["counts"]["anomaly"] == 1 and summary["top_offenders"][0]["ip"] == "198.51.100.50"
    assert summary["monitor"]["dropped"] == 0
    active = shop.get("/api/operator/decisions", params={"active": True}, headers=operator).json()
    assert len(active) == 1 and active[0]["kind"] == "block_ip"

    undone = shop.post(f"/api/operator/decisions/{active[0]['id']}/undo", headers=operator)
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert shop.get("/api/products", headers=_from("198.51.100.50")).status_code == 200  # at once
    assert shop.post(f"/api/operator/decisions/{active[0]['id']}/undo", headers=operator).status_code == 409
    assert shop.post("/api/operator/decisions/999999/undo", headers=operator).status_code == 404
    assert shop.get("/api/operator/decisions", params={"active": True}, headers=operator).json() == []


def test_undoing_a_termination_reopens_the_session(shop, engine):
    add_user(engine, email="op@example.com", role=Role.operator)
    operator = login(shop, "op@example.com")
    add_user(engine, email="buyer@example.com")
    buyer = login(shop, "buyer@example.com")
    shop.get("/api/cart?attack=cart_spam", headers=_from("198.51.100.60", buyer))
    shop.app.state.monitor.drain()
    assert shop.get("/api/cart", headers=buyer).status_code == 401
    decision = shop.get("/api/operator/decisions", headers=operator).json()[0]
    shop.post(f"/api/operator/decisions/{decision['id']}/undo", headers=operator)
    assert shop.get("/api/cart", headers=buyer).status_code == 200


def test_operator_manages_the_allowlist_and_it_applies_at_once(shop, engine):
    add_user(engine, email="op@example.com", role=Role.operator)
    operator = login(shop, "op@example.com")
    shop.get("/api/products?attack=flood", headers=_from("203.0.113.70"))
    shop.app.state.monitor.drain()
    assert shop.get("/api/products", headers=_from("203.0.113.70")).status_code == 403
    created = shop.post("/api/operator/allowlist", json={"network": "203.0.113.0/24", "note": "office"}, headers=operator)
    assert created.status_code == 201 and created.json()["network"] == "203.0.113.0/24"
    assert shop.get("/api/products", headers=_from("203.0.113.70")).status_code == 200
    assert shop.post("/api/operator/allowlist", json={"network": "203.0.113.5/24"}, headers=operator).status_code == 409
    bad = shop.post("/api/operator/allowlist", json={"network": "300.1.2.3"}, headers=operator)
    assert bad.status_code == 422 and "IP address or network" in bad.text
    assert shop.delete(f"/api/operator/allowlist/{created.json()['id']}", headers=operator).status_code == 204
    assert shop.get("/api/operator/allowlist", headers=operator).json() == []


def test_customers_cannot_reach_the_operator_api(shop, engine):
    add_user(engine, email="c@example.com")
    customer = login(shop, "c@example.com")
    paths = ("/api/operator/requests", "/api/operator/decisions", "/api/operator/summary", "/api/operator/allowlist")
    for path in paths:
        assert shop.get(path, headers=customer).status_code == 403
    shop.cookies.clear()
    for path in paths:
        assert shop.get(path).status_code == 401


def test_an_attack_becomes_one_operator_digest_through_smtp(settings, engine, smtp_server):
    from unseen.monitor.notifier import SmtpSettings

    mailing = settings.model_copy(update={
        "trusted_proxies": ["127.0.0.1"],
        "smtp": SmtpSettings(enabled=True, host="127.0.0.1", port=smtp_server.port, batch_seconds=0.3,
                             operator_recipients=["ops@shop.example"], sender="unseen <monitor@shop.example>"),
    })
    with TestClient(create_app(mailing, engine), client=("127.0.0.1", 5000)) as client:
        client.app.state.monitor.judge = judge_by_query
        for i in range(30):  # thirty attackers, each acted on: one digest, not thirty e-mails
            client.get("/api/products?attack=scraping", headers=_from(f"198.51.100.{100 + i}"))
        client.app.state.monitor.drain()
        client.app.state.notifier.flush()
        mails = smtp_server.handler.wait_for(1)
    counted = sum(int(re.match(r"(\d+) notifications", m.body).group(1)) if re.match(r"\d+ notifications", m.body)
                  else 1 for m in mails)
    bodies = "".join(m.body for m in mails)
    assert counted == 30 and len(mails) <= 3  # a digest per batch window, never a mail per attacker
    assert all(m.rcpt_tos == ["ops@shop.example"] and "scraping" in m.message["Subject"] for m in mails)
    assert "198.51.100.100" in bodies and "198.51.100.129" in bodies


def test_a_cart_spammer_who_logs_in_again_is_blocked(shop, engine):
    add_user(engine, email="again@example.com")
    first = login(shop, "again@example.com")
    shop.get("/api/cart?attack=cart_spam", headers=_from("198.51.100.21", first))
    shop.app.state.monitor.drain()
    assert shop.get("/api/cart", headers=_from("198.51.100.21", first)).status_code == 401
    second = login(shop, "again@example.com")
    shop.get("/api/cart?attack=cart_spam", headers=_from("198.51.100.21", second))
    shop.app.state.monitor.drain()
    assert shop.get("/api/products", headers=_from("198.51.100.21")).status_code == 403
    kinds = [d.kind for d in _decisions(engine)]
    assert kinds == ["terminate_session", "terminate_session", "block_ip"]
