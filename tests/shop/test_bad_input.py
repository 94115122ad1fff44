"""Hostile input against every operation of the JSON API, as a visitor, a customer and an operator.

The operations come from ``app.openapi()``, so a new route is swept without touching this file (a new request body
only needs a valid baseline in ``_baseline_body``). Every answer must be below 500, carry a JSON ``detail`` when it
refuses, name the offending field when it is a 422, and never show a traceback. The values are a fixed list rather
than generated ones so that every run sends exactly the same requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import PASSWORD, add_product, add_user
from unseen.config import Settings
from unseen.db import make_engine
from unseen.shop import create_app, crud
from unseen.tables import CartItem, Favourite, Order, Role, User

SCHEMA = create_app(Settings(environment="test"), make_engine("sqlite://")).openapi()
OPERATIONS = [(method.upper(), path) for path, item in SCHEMA["paths"].items() for method in item]
ROLES = ("anonymous", "customer", "operator")

HOSTILE_JSON: list[Any] = [
    10**30, -(10**30), 2**31, -1, 0, 1.5, 1e308,
    "", "\x00", "a\x00b", "x" * 10_000, "ünïcødé ✓ 🛒 \u202e", "' OR 1=1 --", "%_\\", "<script>alert(1)</script>",
    True, None, [], {}, {"$gt": ""},
]
HOSTILE_TEXT: list[str] = [
    "", "\x00", "a\x00b", "x" * 10_000, "ünïcødé ✓ 🛒", "' OR 1=1 --", "%", "_", "\\", "%00",
    str(10**30), str(-(10**30)), str(2**31), "-1", "0", "1.5", "NaN", "inf", "１", "²",
]
MALFORMED_JSON: list[bytes] = [
    b"{", b'{"a":', b'{"product_id": 1,}', b"{'product_id': 1}", b"NaN", b'{"quantity": NaN, "product_id": 1}',
    b'{"product_id": Infinity}', b'{"product_id": 1e400}', b"\xff\xfe\x00", b"[" * 50_000 + b"]" * 50_000,
    b'{"product_id": 1, "product_id": "x"}', b"",
]
WRONG_SHAPES: list[Any] = [[], "text", 42, None, True, [{"product_id": 1}]]
WRONG_CONTENT_TYPES: list[tuple[str, bytes]] = [
    ("text/plain", b'{"product_id": 1}'),
    ("application/x-www-form-urlencoded", b"product_id=1&quantity=1"),
    ("multipart/form-data; boundary=x",
     b'--x\r\nContent-Disposition: form-data; name="product_id"\r\n\r\n1\r\n--x--\r\n'),
    ("multipart/form-data", b"garbage"),
    ("application/xml", b"<product_id>1</product_id>"),
    ("application/json; charset=utf-16", b'{"product_id": 1}'),
]
LEAKS = ("Traceback", 'File "', "sqlalchemy", "sqlite3", "OperationalError", "IntegrityError")


@dataclass
class Shop:
    """A seeded shop: one product in everyone's cart and favourites, and one order of the customer's."""

    client: TestClient
    engine: Engine
    users: dict[str, User]
    product_id: int
    order_id: int
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str, *, fresh: bool = False) -> dict[str, str]:
        """Bearer header of the role; ``fresh`` opens a new session (the sweep of logout ends them)."""
        if role == "anonymous":
            return {}
        if fresh or role not in self.tokens:
            with Session(self.engine, expire_on_commit=False) as session:
                _, token = crud.start_session(session=session, user=self.users[role], lifetime=timedelta(hours=1))
                session.commit()
            if fresh:
                return {"Authorization": f"Bearer {token}"}
            self.tokens[role] = token
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def shop(settings: Settings, engine: Engine) -> Iterator[Shop]:
    product_id = add_product(engine, name="Blue Mug", stock=50).id
    add_product(engine, name="Teapot", stock=50)
    users = {"customer": add_user(engine, email="jane@example.com"),
             "operator": add_user(engine, email="op@example.com", role=Role.operator)}
    with Session(engine) as session:
        for user in users.values():
            session.add(CartItem(user_id=user.id, product_id=product_id, quantity=1))
            session.add(Favourite(user_id=user.id, product_id=product_id))
        order = Order(user_id=users["customer"].id, total_cents=450)
        session.add(order)
        session.commit()
        order_id = order.id
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield Shop(client, engine, users, product_id, order_id)


# --- what each request looks like ------------------------------------------------------------------------------


@dataclass
class Attempt:
    label: str
    path_params: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    field_location: tuple[str, str] | None = None
    """Where a 422 must point: ``("body", "quantity")``, ``("query", "page")``."""


def _schema_ref(ref: str) -> dict:
    return SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _body_schema_name(operation: dict) -> str | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    return body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def _baseline_body(name: str, shop: Shop) -> dict:
    baselines = {
        "UserCreate": {"email": "new@example.com", "full_name": "New Shopper", "password": "a long password"},
        "LoginIn": {"email": "jane@example.com", "password": PASSWORD},
        "StepUpIn": {"code": "123456"},
        "ProductCreate": {"name": "Scarf", "category": "Clothing", "price_cents": 1200, "stock": 3,
                          "description": "Wool", "sku": "SCARF-1"},
        "ProductUpdate": {"price_cents": 500},
        "AllowlistIn": {"network": "203.0.113.0/24", "note": "office"},
        "CartAddIn": {"product_id": shop.product_id, "quantity": 1},
        "CartUpdateIn": {"quantity": 1},
        "FavouriteIn": {"product_id": shop.product_id},
    }
    assert name in baselines, f"add a valid baseline body for {name} to _baseline_body in this test"
    return baselines[name]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def attempts(method: str, path: str, shop: Shop) -> Iterator[Attempt]:
    """Every hostile request for one operation: first the ones that break the whole body, then field by field."""
    operation = SCHEMA["paths"][path][method.lower()]
    parameters = operation.get("parameters", [])
    valid_path = {p["name"]: str(shop.order_id if p["name"] == "order_id" else shop.product_id)
                  for p in parameters if p["in"] == "path"}
    body_name = _body_schema_name(operation)
    baseline = _baseline_body(body_name, shop) if body_name else None
    valid_body = _json(baseline) if baseline is not None else None
    json_type = "application/json" if baseline is not None else None

    if baseline is None:
        for content_type, junk in [("application/json", b'{"junk": true}'), *WRONG_CONTENT_TYPES[:2],
                                   ("application/json", MALFORMED_JSON[0])]:
            yield Attempt(f"unexpected body as {content_type}", valid_path, body=junk, content_type=content_type)
    else:
        for shape in WRONG_SHAPES:
            yield Attempt(f"body shaped {shape!r}"[:40], valid_path, body=_json(shape), content_type="application/json")
        for text in MALFORMED_JSON:
            yield Attempt(f"malformed body {text[:12]!r}", valid_path, body=text, content_type="application/json")
        for content_type, content in WRONG_CONTENT_TYPES:
            yield Attempt(f"body as {content_type}", valid_path, body=content, content_type=content_type)
        yield Attempt("no body, no content type", valid_path)
        yield Attempt("extra field", valid_path, body=_json({**baseline, "role": "operator", "id": 1}),
                      content_type="application/json")

    for name in valid_path:
        for value in HOSTILE_TEXT:
            yield Attempt(f"path {name}={value[:12]!r}", {**valid_path, name: value}, body=valid_body,
                          content_type=json_type, field_location=("path", name))
    for parameter in (p for p in parameters if p["in"] == "query"):
        for value in HOSTILE_TEXT:
            yield Attempt(f"query {parameter['name']}={value[:12]!r}", valid_path, {parameter["name"]: value},
                          body=valid_body, content_type=json_type, field_location=("query", parameter["name"]))
    if baseline is None:
        return
    for name in _schema_ref(f"#/components/schemas/{body_name}")["properties"]:
        for value in HOSTILE_JSON:
            yield Attempt(f"body {name}={repr(value)[:12]}", valid_path, body=_json({**baseline, name: value}),
                          content_type="application/json", field_location=("body", name))
        yield Attempt(f"body without {name}", valid_path, content_type="application/json",
                      body=_json({k: v for k, v in baseline.items() if k != name}), field_location=("body", name))


def problems_with(response, attempt: Attempt) -> str | None:
    """What is wrong with the answer to a hostile request, or None."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    leaked = [marker for marker in LEAKS if marker in response.text]
    if leaked:
        return f"leaks {leaked}"
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"status {response.status_code} without a JSON body"
    if not isinstance(body, dict) or "detail" not in body:
        return f"status {response.status_code} without a detail: {response.text[:80]}"
    if response.status_code == 422 and attempt.field_location and isinstance(body["detail"], list):
        where, name = attempt.field_location
        if not any(error["loc"][:2] == [where, name] for error in body["detail"]):
            return f"422 does not name {where} {name}: {body['detail']}"
    return None


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_input_is_refused_cleanly(shop: Shop, method: str, path: str):
    failures = []
    sent = 0
    for role in ROLES:
        # A role the route turns away (401, 403) before it reads the body gets the whole-body attempts only:
        # field by field it would hear the same refusal hundreds of times.
        refused = False
        for attempt in attempts(method, path, shop):
            if refused and attempt.field_location is not None:
                continue
            url = path.format(**{k: quote(v, safe="") for k, v in attempt.path_params.items()})
            shop.client.cookies.clear()  # logging in sets a cookie: only the bearer header says who asks
            headers = shop.headers(role, fresh=path.endswith("/logout"))
            if attempt.content_type:
                headers["content-type"] = attempt.content_type
            response = shop.client.request(method, url, params=attempt.query, content=attempt.body, headers=headers,
                                           follow_redirects=False)
            sent += 1
            refused = refused or (attempt.field_location is None and response.status_code in (401, 403))
            problem = problems_with(response, attempt)
            if problem:
                failures.append(f"{role}: {attempt.label}: {problem}")
    assert sent > 0
    assert failures == []


def test_every_operation_is_swept():
    assert len(OPERATIONS) >= 21
    assert ("POST", "/api/orders") in OPERATIONS and ("DELETE", "/api/products/{product_id}") in OPERATIONS


@pytest.mark.parametrize("authorization", [
    "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer " + "x" * 10_000, "bearer\tabc", "Bearer ' OR 1=1 --",
    "Bearer %00", "Token abc",
])
def test_hostile_authorization_headers_are_just_anonymous(shop: Shop, authorization: str):
    private = shop.client.get("/api/auth/me", headers={"Authorization": authorization})
    public = shop.client.get("/api/products", headers={"Authorization": authorization})

    assert private.status_code == 401 and "detail" in private.json()
    assert public.status_code == 200


@pytest.mark.parametrize("cookie", ["", "x" * 4000, "' OR 1=1 --", "%00", "a=b; c"])
def test_hostile_session_cookies_are_just_anonymous(shop: Shop, cookie: str):
    response = shop.client.get("/api/cart", headers={"cookie": f"unseen_session={cookie}"})

    assert response.status_code == 401
    assert "detail" in response.json()


def test_an_operator_field_in_the_registration_is_ignored(shop: Shop):
    response = shop.client.post("/api/auth/register", json={
        "email": "sneaky@example.com", "full_name": "Sneaky", "password": "a long password", "role": "operator"})

    assert response.status_code == 201
    assert response.json()["role"] == "customer"
