"""Rules: each reason code from a minimal example, the limits the issue sets, and shoppers left alone."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest
from pydantic import ValidationError

from unseen.monitor.records import Category, RequestRecord
from unseen.monitor.rules import ANOMALY_KINDS, RuleEngine, RuleThresholds, kind_of

T0 = datetime(2024, 11, 29, 18, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def request(path: str = "/products", *, at: datetime = T0, ip: str = "198.51.100.7", method: str = "GET",
            status: int = 200, user_agent: str | None = BROWSER, **fields) -> RequestRecord:
    return RequestRecord(at=at, ip=ip, method=method, path=path, status=status, user_agent=user_agent, **fields)


def failed_login(*, at: datetime = T0, ip: str = "198.51.100.7", email: str = "jane@shoppers.example",
                 path: str = "/api/auth/login") -> RequestRecord:
    return request(path, at=at, ip=ip, method="POST", status=401, login_email=email)


@pytest.fixture
def engine() -> RuleEngine:
    return RuleEngine(RuleThresholds())


# --- thresholds ------------------------------------------------------------------------------------------------------

def test_thresholds_have_the_defaults_the_issue_asks_for():
    t = RuleThresholds()
    assert (t.flood_short_window_s, t.flood_short_limit, t.flood_long_window_s) == (1, 20, 60)
    assert (t.login_failures_window_s, t.login_failures_per_ip, t.login_failures_per_account) == (600, 5, 5)
    assert (t.warning_score, t.anomaly_score) == (3, 5)


def test_thresholds_come_from_strings_as_the_environment_gives_them():
    assert RuleThresholds.model_validate({"flood_short_limit": "30"}).flood_short_limit == 30


@pytest.mark.parametrize(("values", "message"), [
    ({"warning_score": 6, "anomaly_score": 5}, "anomaly_score"),
    ({"error_share_min_requests": 80, "error_share_window": 50}, "error_share_min_requests"),
    ({"flood_short_limit": 0}, "flood_short_limit"),
    ({"error_share_limit": 1.5}, "error_share_limit"),
])
def test_bad_thresholds_are_refused_naming_the_setting(values, message):
    with pytest.raises(ValidationError, match=message):
        RuleThresholds(**values)


# --- one example per reason code -------------------------------------------------------------------------------------

def test_an_ordinary_request_is_normal(engine):
    record = engine.observe_and_judge(request("/products", query="q=union+jack+cushion&page=2"))
    assert (record.category, record.score, record.reasons) == (Category.normal, 0, [])


def test_flood_short(engine):
    records = [engine.observe_and_judge(request(at=T0 + timedelta(milliseconds=10 * i))) for i in range(21)]
    assert "flood-short" in records[-1].reasons and records[-1].category is Category.anomaly


def test_flood_long():
    engine = RuleEngine(RuleThresholds(flood_long_limit=30))
    records = [engine.observe_and_judge(request(at=T0 + timedelta(seconds=1.5 * i))) for i in range(31)]
    assert [r.reasons for r in records[:30]] == [[]] * 30
    assert records[30].reasons == ["flood-long"] and records[30].category is Category.anomaly
    assert records[30].anomaly_kind == kind_of(records[30].reasons) == "flood"
    assert records[29].anomaly_kind is None


def test_login_failures_ip(engine):
    records = [engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=20 * i), email=f"user{i}@x.example"))
               for i in range(5)]
    assert [r.category for r in records] == [Category.normal, Category.normal, Category.warning, Category.warning,
                                             Category.anomaly]
    assert records[4].reasons == ["login-failures-ip"] and kind_of(records[4].reasons) == "password_guessing"


def test_login_failures_account(engine):
    records = [engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=30 * i), ip=f"203.0.113.{i}"))
               for i in range(5)]
    assert records[4].category is Category.anomaly
    assert records[4].reasons == ["login-failures-account"]
    assert all("login-failures-ip" not in r.reasons for r in records)


def test_the_login_page_form_counts_as_well(engine):
    records = [engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=i), path="/login")) for i in range(5)]
    assert records[-1].category is Category.anomaly
    assert set(records[-1].reasons) == {"login-failures-ip", "login-failures-account"}


def test_a_successful_login_or_a_wrong_method_is_no_failure(engine):
    for i in range(10):
        engine.observe_and_judge(request("/api/auth/login", at=T0 + timedelta(seconds=i), method="POST", status=200,
                                         login_email="jane@shoppers.example"))
        engine.observe_and_judge(request("/login", at=T0 + timedelta(seconds=i), status=401))
    reasons = engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=11))).reasons
    assert "login-failures-ip" not in reasons and "login-failures-account" not in reasons


def test_cart_spam(engine):
    adds = [engine.observe_and_judge(request("/api/cart", at=T0 + timedelta(seconds=i), method="POST", session_id=42,
                                             payload=json.dumps({"product_id": i, "quantity": 1})))
            for i in range(21)]
    assert all(r.category is Category.normal for r in adds[:20])
    assert adds[20].reasons == ["cart-spam"] and kind_of(adds[20].reasons) == "cart_spam"


def test_cart_adds_are_counted_per_session_and_by_ip_when_anonymous(engine):
    for i in range(20):
        engine.observe_and_judge(request("/cart/add", at=T0 + timedelta(seconds=i), method="POST", session_id=1))
        engine.observe_and_judge(request("/cart/add", at=T0 + timedelta(seconds=i), method="POST", session_id=2))
    assert engine.observe_and_judge(request("/cart/add", at=T0 + timedelta(seconds=21), method="POST",
                                            session_id=3)).category is Category.normal
    anonymous = [engine.observe_and_judge(request("/cart/add", at=T0 + timedelta(seconds=30 + i), ip="192.0.2.1",
                                                  method="POST")) for i in range(21)]
    assert anonymous[-1].reasons == ["cart-spam"]


def test_refused_cart_adds_are_not_counted(engine):
    for i in range(30):
        record = engine.observe_and_judge(request("/api/cart", at=T0 + timedelta(seconds=i), method="POST",
                                                  status=409, session_id=7))
    assert "cart-spam" not in record.reasons


def test_error_share(engine):
    records = [engine.observe_and_judge(request(f"/api/products/{9000 + i}", at=T0 + timedelta(seconds=2 * i),
                                                status=404 if i % 3 else 200)) for i in range(20)]
    assert all(r.category is Category.normal for r in records[:19])
    assert records[19].reasons == ["error-share"] and kind_of(records[19].reasons) == "scraping"


def test_refused_requests_do_not_feed_the_error_share(engine):
    for i in range(40):
        blocked = request(at=T0 + timedelta(seconds=2 * i), status=403)
        blocked.blocked = True  # set by the capture middleware when it refuses a blocked client
        engine.observe_and_judge(blocked)
    assert engine.observe_and_judge(request(at=T0 + timedelta(seconds=100))).category is Category.normal


@pytest.mark.parametrize(("agent", "category"), [
    ("sqlmap/1.8.4#stable (https://sqlmap.org)", Category.anomaly),
    ("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)", Category.anomaly),
    ("curl/8.5.0", Category.warning),
    ("python-requests/2.32.3", Category.warning),
    ("Go-http-client/1.1", Category.warning),
    ("Scrapy/2.11.2 (+https://scrapy.org)", Category.warning),
    ("Wget/1.21.4", Category.warning),
])
def test_tool_user_agent(engine, agent, category):
    record = engine.observe_and_judge(request(user_agent=agent))
    assert record.reasons == ["tool-user-agent"] and record.category is category


@pytest.mark.parametrize("agent", [None, "", "   "])
def test_missing_user_agent(engine, agent):
    record = engine.observe_and_judge(request(user_agent=agent))
    assert record.reasons == ["missing-user-agent"] and record.category is Category.warning
    assert kind_of(record.reasons) is None


@pytest.mark.parametrize(("method", "path", "role"), [
    ("GET", "/operator/products", None),
    ("GET", "/operator", "customer"),
    ("POST", "/api/products", "customer"),
    ("PATCH", "/api/products/3", None),
    ("DELETE", "/api/products/3", "customer"),
])
def test_operator_probe(engine, method, path, role):
    record = engine.observe_and_judge(request(path, method=method, role=role, status=403))
    assert record.reasons == ["operator-probe"] and record.category is Category.warning


def test_repeated_operator_probes_are_an_anomaly(engine):
    records = [engine.observe_and_judge(request(f"/operator/products/{i}", at=T0 + timedelta(seconds=5 * i),
                                                role="customer", status=403)) for i in range(3)]
    assert [r.category for r in records] == [Category.warning, Category.warning, Category.anomaly]
    assert kind_of(records[-1].reasons) == "probe"


def test_operators_and_shoppers_reading_products_are_no_probe(engine):
    assert engine.observe_and_judge(request("/operator/products", role="operator")).reasons == []
    assert engine.observe_and_judge(request("/api/products", method="POST", role="operator")).reasons == []
    assert engine.observe_and_judge(request("/api/products/3", role="customer")).reasons == []
    assert engine.observe_and_judge(request("/operators-guide", role="customer")).reasons == []


@pytest.mark.parametrize(("fields", "reason", "kind"), [
    ({"query": "q=%27+UNION+SELECT+email%2Cpassword_hash+FROM+user--"}, "sqli:sqli-union-select", "sql_injection"),
    ({"query": "id=1%2527%2520OR%25201%253D1--"}, "sqli:sqli-tautology", "sql_injection"),
    ({"path": "/products/1;DROP TABLE product--"}, "sqli:sqli-stacked-query", "sql_injection"),
    ({"query": "q=%3Cscript%3Ealert(1)%3C/script%3E"}, "xss:xss-script-tag", "xss"),
    ({"path": "/static/../../../etc/passwd"}, "traversal:traversal-etc-passwd", "path_traversal"),
    ({"method": "POST", "path": "/api/auth/login", "payload": '{"email": "a@b.example", "password": "x\' OR 1=1#"}'},
     "sqli:sqli-tautology", "sql_injection"),
    ({"method": "POST", "path": "/login", "payload": "admin'-- secret /products"}, "sqli:sqli-comment-terminator",
     "sql_injection"),
    ({"method": "POST", "path": "/api/cart", "payload": '{"product_id": 1, "note": "<img src=x onerror=alert(1)>"}'},
     "xss:xss-event-handler", "xss"),
])
def test_signatures_in_path_query_and_body_are_reasons(engine, fields, reason, kind):
    record = engine.observe_and_judge(request(**{"path": "/products", **fields}))
    assert reason in record.reasons
    assert record.category is Category.anomaly and kind_of(record.reasons) == kind


def test_the_first_sql_injection_payload_is_an_anomaly(engine):
    record = engine.observe_and_judge(request(query="q=admin%27--"))
    assert record.category is Category.anomaly and record.score >= 5


def test_scores_add_up_and_the_heaviest_reason_comes_first(engine):
    record = engine.observe_and_judge(request(user_agent=None, query="sort=price&q=1+order+by+3"))
    assert record.reasons == ["sqli:sqli-order-by-probe", "missing-user-agent"]
    assert record.score == 4 + 3 and record.category is Category.anomaly


# --- the limits the issue sets ---------------------------------------------------------------------------------------

def test_the_fifth_failed_login_from_one_ip_is_an_anomaly(engine):
    categories = [engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=3 * i), email="a@x.example"
                                                        if i % 2 else "b@x.example")).category for i in range(5)]
    assert categories.index(Category.anomaly) == 4


def test_a_burst_is_a_flood_from_the_request_that_crosses_the_limit(engine):
    records = [engine.observe_and_judge(request(f"/products/{i}", at=T0 + timedelta(milliseconds=40 * i)))
               for i in range(25)]
    flagged = [i for i, r in enumerate(records) if "flood-short" in r.reasons]
    assert flagged == list(range(20, 25))  # the 21st request is over 20 a second: well within 2 s of the start
    assert all(r.category is Category.anomaly for r in records[20:])


def test_login_failures_expire_after_the_window(engine):
    for i in range(4):
        engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=i)))
    later = engine.observe_and_judge(failed_login(at=T0 + timedelta(minutes=11)))
    assert later.category is Category.normal


def test_a_flood_that_stops_is_forgotten(engine):
    for i in range(30):
        engine.observe_and_judge(request(at=T0 + timedelta(milliseconds=10 * i)))
    assert engine.observe_and_judge(request(at=T0 + timedelta(seconds=3))).reasons == []


LOOK_ALIKES = ["select", "table", "drop earrings", "rock 'n' roll", "Union Jack cushion", "O'Brien", "1980s",
               "order by price", "O'Brien's \"rock 'n' roll\" mug", "select from 3 sizes; drop earrings"]


def shopper_visit(rng: random.Random, *, ip: str, session_id: int, start: datetime, minutes: float = 10):
    """What one shopper sends over a visit: pages (each with its CSS), searches, a few 404s, cart adds, a login."""
    at = start
    end = start + timedelta(minutes=minutes)
    yield request("/login", at=at, ip=ip, method="POST", status=401, login_email=f"shopper{session_id}@x.example",
                  payload=f"shopper{session_id}@x.example wrong-password /products")  # a typo first
    at += timedelta(seconds=rng.uniform(3, 8))
    yield request("/login", at=at, ip=ip, method="POST", status=303, payload="s@x.example right-pass /products")
    while at < end:
        at += timedelta(seconds=rng.uniform(1, 10))
        roll = rng.random()
        if roll < 0.3:
            page = request("/products", at=at, ip=ip, session_id=session_id, role="customer",
                           query=f"q={quote_plus(rng.choice(LOOK_ALIKES))}&page={rng.randint(1, 3)}")
        elif roll < 0.45:
            yield request("/cart/add", at=at, ip=ip, method="POST", status=303, session_id=session_id,
                          role="customer", payload=f"{rng.randint(1, 500)} 1 /products")
            page = request("/cart", at=at + timedelta(milliseconds=30), ip=ip, session_id=session_id)
        elif roll < 0.5:
            page = request(f"/products/{rng.randint(9000, 9999)}", at=at, ip=ip, status=404, session_id=session_id)
        else:
            page = request(f"/products/{rng.randint(1, 500)}", at=at, ip=ip, session_id=session_id, role="customer")
        yield page
        yield request("/static/style.css", at=page.at + timedelta(milliseconds=rng.uniform(5, 80)), ip=ip,
                      referer="http://shop.example/products")


def test_a_normal_shopper_stays_normal_throughout(engine):
    records = [engine.observe_and_judge(r) for r in shopper_visit(random.Random(7), ip="192.0.2.10", session_id=1,
                                                                   start=T0)]
    assert len(records) > 100
    assert sum(r.status == 404 for r in records) >= 2
    assert [(r.path, r.query, r.reasons) for r in records if r.category is not Category.normal] == []


def test_many_shoppers_at_once_raise_no_alarm():
    """A hundred interleaved visits (some sharing a NAT address): the false-positive budget is 0.1 %; we see none."""
    engine = RuleEngine()
    rng = random.Random(11)
    visits = [shopper_visit(rng, ip=f"192.0.2.{i % 80}", session_id=i, start=T0 + timedelta(seconds=rng.uniform(0, 60)))
              for i in range(100)]
    records = sorted((r for visit in visits for r in visit), key=lambda r: r.at)
    judged = [engine.observe_and_judge(r) for r in records]
    flagged = [r for r in judged if r.category is not Category.normal]
    assert len(judged) > 10_000
    assert flagged == []


def test_judging_is_safe_from_several_threads():
    engine = RuleEngine()

    def guess(worker: int) -> None:
        for i in range(25):
            engine.observe_and_judge(failed_login(at=T0 + timedelta(seconds=i), ip="203.0.113.5",
                                                  email=f"w{worker}@x.example"))

    threads = [threading.Thread(target=guess, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine._failures_ip.count("203.0.113.5", T0 + timedelta(seconds=30)) == 100


# --- kinds -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reasons", "kind"), [
    (["flood-short"], "flood"), (["flood-long"], "flood"),
    (["login-failures-ip"], "password_guessing"), (["login-failures-account"], "password_guessing"),
    (["sqli:sqli-tautology"], "sql_injection"), (["xss:xss-script-tag"], "xss"),
    (["traversal:traversal-dot-dot"], "path_traversal"), (["cart-spam"], "cart_spam"),
    (["error-share"], "scraping"), (["tool-user-agent"], "scraping"), (["operator-probe"], "probe"),
    (["missing-user-agent"], None), ([], None), (["something-new"], None),
    (["flood-short", "login-failures-ip"], "password_guessing"),
    (["error-share", "operator-probe", "sqli:sqli-union-select"], "sql_injection"),
])
def test_kind_of(reasons, kind):
    assert kind_of(reasons) == kind
    assert kind is None or kind in ANOMALY_KINDS
