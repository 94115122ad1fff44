"""Accounts and sessions through the JSON API: register, log in, who am I, log out, expiry."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import PASSWORD, add_user, login
from tests.shop._html import set_cookie_header
from tests.shop._records import events, session_of
from unseen.tables import EventKind, User, UserSession, utcnow

NEW_USER = {"email": "sam@example.com", "full_name": "Sam Shopper", "password": "a long password"}


def _users(engine: Engine) -> list[User]:
    with Session(engine) as session:
        return list(session.exec(select(User)).all())


# --- register --------------------------------------------------------------------------------------------------


def test_register_creates_a_customer_and_returns_no_secret(client: TestClient, engine: Engine):
    response = client.post("/api/auth/register", json={**NEW_USER, "email": "Sam@Example.com"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "sam@example.com"
    assert body["full_name"] == "Sam Shopper"
    assert body["role"] == "customer"
    assert "password" not in response.text and "password_hash" not in body
    stored = _users(engine)
    assert [u.email for u in stored] == ["sam@example.com"]
    assert NEW_USER["password"] not in stored[0].password_hash


def test_registered_account_can_log_in(client: TestClient):
    client.post("/api/auth/register", json=NEW_USER)

    headers = login(client, NEW_USER["email"], NEW_USER["password"])

    assert client.get("/api/auth/me", headers=headers).json()["email"] == NEW_USER["email"]


def test_second_account_with_the_same_email_is_refused(client: TestClient, engine: Engine):
    assert client.post("/api/auth/register", json=NEW_USER).status_code == 201

    same = client.post("/api/auth/register", json=NEW_USER)
    differently_cased = client.post("/api/auth/register", json={**NEW_USER, "email": "SAM@example.COM"})

    for response in (same, differently_cased):
        assert response.status_code == 409
        assert "sam@example.com" in response.json()["detail"]
    assert len(_users(engine)) == 1


def test_register_names_each_bad_field(client: TestClient, engine: Engine):
    response = client.post("/api/auth/register",
                           json={"email": "not-an-email", "full_name": "   ", "password": "short"})

    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert fields == {("body", "email"), ("body", "full_name"), ("body", "password")}
    assert all(error["msg"] for error in response.json()["detail"])
    assert _users(engine) == []


def test_register_without_a_field_names_it(client: TestClient):
    response = client.post("/api/auth/register", json={"email": "sam@example.com", "full_name": "Sam"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert response.json()["detail"][0]["type"] == "missing"


# --- log in ----------------------------------------------------------------------------------------------------


def test_login_returns_a_token_and_sets_a_safe_cookie(client: TestClient, engine: Engine):
    add_user(engine, email="jane@example.com")

    response = client.post("/api/auth/login", json={"email": "jane@example.com", "password": PASSWORD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == "jane@example.com"
    assert body["token"] and body["expires_at"]
    cookie = set_cookie_header(response, "unseen_session").lower()
    assert cookie.startswith(f"unseen_session={body['token']}".lower())
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def test_login_ignores_the_case_of_the_email(client: TestClient, engine: Engine):
    add_user(engine, email="jane@example.com")

    headers = login(client, "JANE@Example.com")

    assert client.get("/api/auth/me", headers=headers).json()["email"] == "jane@example.com"


def test_login_records_login_ok_with_its_session(client: TestClient, engine: Engine):
    user = add_user(engine, email="jane@example.com")

    headers = login(client, "jane@example.com")

    user_session = session_of(engine, headers)
    [event] = events(engine, EventKind.login_ok)
    assert (event.user_id, event.session_id) == (user.id, user_session.id)
    assert event.product_id is None and event.quantity is None
    assert events(engine, EventKind.login_fail) == []


def test_wrong_password_and_unknown_account_get_the_same_answer(client: TestClient, engine: Engine):
    add_user(engine, email="jane@example.com")

    wrong_password = client.post("/api/auth/login", json={"email": "jane@example.com", "password": "not it at all"})
    unknown_account = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "not it at all"})

    assert wrong_password.status_code == unknown_account.status_code == 401
    assert wrong_password.content == unknown_account.content
    assert wrong_password.json() == {"detail": "incorrect e-mail or password"}
    assert wrong_password.headers.get("www-authenticate") == unknown_account.headers.get("www-authenticate")
    assert "set-cookie" not in wrong_password.headers


def test_failed_logins_are_recorded_without_opening_a_session(client: TestClient, engine: Engine):
    user = add_user(engine, email="jane@example.com")

    client.post("/api/auth/login", json={"email": "jane@example.com", "password": "not it at all"})
    client.post("/api/auth/login", json={"email": "Nobody@example.com", "password": "not it at all"})

    known, unknown = events(engine, EventKind.login_fail)
    assert (known.user_id, known.session_id, known.extra["email"]) == (user.id, None, "jane@example.com")
    assert (unknown.user_id, unknown.session_id, unknown.extra["email"]) == (None, None, "nobody@example.com")
    assert events(engine, EventKind.login_ok) == []
    with Session(engine) as session:
        assert session.exec(select(UserSession)).all() == []


def test_login_with_a_malformed_email_names_the_field(client: TestClient):
    response = client.post("/api/auth/login", json={"email": "jane", "password": "x"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "email"]


# --- who am I, log out, expiry ----------------------------------------------------------------------------------


def test_me_with_bearer_token_or_cookie(client: TestClient, customer: dict[str, str]):
    by_header = client.get("/api/auth/me", headers=customer)
    by_cookie = client.get("/api/auth/me")  # the client kept the cookie from logging in

    assert by_header.status_code == by_cookie.status_code == 200
    assert by_header.json() == by_cookie.json()
    assert by_header.json()["email"] == "jane@example.com" and by_header.json()["role"] == "customer"


def test_me_without_a_session_is_401(client: TestClient):
    response = client.get("/api/auth/me")

    assert response.status_code == 401
    assert "log in" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_me_with_an_unknown_or_absurd_token_is_401(client: TestClient):
    for token in ("not-a-token", "x" * 5000):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_logout_ends_the_session(client: TestClient, engine: Engine, customer: dict[str, str]):
    user_session = session_of(engine, customer)

    response = client.post("/api/auth/logout", headers=customer)

    assert response.status_code == 204
    assert 'unseen_session=""' in set_cookie_header(response, "unseen_session")
    assert client.get("/api/auth/me", headers=customer).status_code == 401
    assert client.get("/api/cart", headers=customer).status_code == 401
    ended = session_of(engine, customer)
    assert ended.ended_at is not None and ended.end_reason == "logout"
    [event] = events(engine, EventKind.logout)
    assert (event.user_id, event.session_id) == (user_session.user_id, user_session.id)


def test_logout_leaves_other_sessions_of_the_user_alone(client: TestClient, engine: Engine, customer: dict[str, str]):
    other_device = login(client, "jane@example.com")

    client.post("/api/auth/logout", headers=customer)

    assert client.get("/api/auth/me", headers=other_device).status_code == 200


def test_logout_without_a_session_is_401_and_records_nothing(client: TestClient, engine: Engine):
    assert client.post("/api/auth/logout").status_code == 401
    assert events(engine, EventKind.logout) == []


def test_expired_session_is_401(client: TestClient, engine: Engine, customer: dict[str, str]):
    with Session(engine) as session:
        user_session = session.get(UserSession, session_of(engine, customer).id)
        user_session.expires_at = utcnow() - timedelta(seconds=1)
        session.add(user_session)
        session.commit()

    assert client.get("/api/auth/me", headers=customer).status_code == 401
    assert client.get("/api/orders", headers=customer).status_code == 401
