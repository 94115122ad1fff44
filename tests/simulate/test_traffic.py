"""The simulator against a real shop process: a short mixed run, its ground truth, the request log, the evaluation.

Detection quality is not asserted here (the rules are built separately); what is asserted is that the simulator
plays every kind of client, that the shop saw exactly the requests the ground truth lists (from the simulated
addresses), and that the evaluation joins the two and writes its report.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.conftest import reference_data_dir
from unseen.config import Settings
from unseen.db import create_schema, make_engine, session_scope
from unseen.simulate.attacks import (
    ATTACK_KINDS,
    AttackSpec,
    generate_sqli_payloads,
    load_sqli_payloads,
    parse_attacks,
    plan_addresses,
)
from unseen.simulate.evaluate import REPORT_CSV, REPORT_JSON, evaluate_run
from unseen.simulate.seed import SeedParameters, seed
from unseen.simulate.traffic import GROUND_TRUTH_FILE, RUN_FILE, Scenario, simulate
from unseen.tables import Decision, LoginAttempt, RequestLog

FIELDS = {"run_id", "seq", "client_id", "role", "kind", "ip", "session", "account", "action", "malicious", "method",
          "path", "query", "sent_at", "received_at", "elapsed_s", "status", "blocked", "error"}
SCENARIO = Scenario.mixed(duration_s=20, shoppers=15, seed=3, rate_scale=0.3, think_time_s=(0.2, 1.0),
                          visit_gap_s=(1.0, 3.0), ramp_s=3.0)


def _block_when_seen(url: str, ip: str, stop: threading.Event) -> None:
    """Play an operator who blocks an address by hand once it shows up in the request log."""
    engine = make_engine(url)
    try:
        while not stop.is_set():
            with engine.connect() as conn:
                seen = conn.execute(select(func.count()).select_from(RequestLog).where(RequestLog.ip == ip)).scalar()
            if seen:
                with session_scope(engine) as session:  # the write lock up front: the shop writes at the same time
                    session.add(Decision(kind="block_ip", target=ip, anomaly_kind="scraping", reason="by hand (test)",
                                         expires_at=datetime.now(UTC) + timedelta(minutes=15)))
                return
            time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulate")
    url = f"sqlite:///{folder}/shop.db"
    engine = make_engine(url)
    seed(engine, Settings(environment="test", reference_data_dir=reference_data_dir()),
         SeedParameters(seed=3, customers=40, months=24, products=60, until=date(2026, 6, 30)))
    engine.dispose()
    scraper = plan_addresses(SCENARIO.attacks, SCENARIO.seed)[[a.kind for a in SCENARIO.attacks].index("scraping")][0]
    stop = threading.Event()
    operator = threading.Thread(target=_block_when_seen, args=(url, scraper, stop), daemon=True)
    operator.start()
    try:
        result = simulate(SCENARIO, database_url=url, out_dir=folder / "runs",
                          settings=Settings(environment="test", reference_data_dir=reference_data_dir()),
                          server_env={"UNSEEN_MODELS_DIR": str(folder / "models"), "UNSEEN_ENVIRONMENT": "test"})
    finally:
        stop.set()
        operator.join(5)
    engine = make_engine(url)
    truth = pd.read_json(result.ground_truth, lines=True, dtype={"query": str})
    yield result, truth, engine, scraper
    engine.dispose()


@pytest.mark.e2e
def test_ground_truth_lists_every_request_with_its_role_and_kind(mixed_run):
    result, truth, _, _ = mixed_run
    assert len(truth) == result.requests > 300
    assert FIELDS <= set(truth.columns)
    assert sorted(truth["seq"]) == list(range(1, len(truth) + 1))
    assert set(truth["role"]) == {"shopper", "attacker"}
    assert set(truth["kind"]) == {"shopper", *ATTACK_KINDS}
    assert (truth.loc[truth["role"] == "shopper", "kind"] == "shopper").all()
    assert truth["status"].notna().all() and truth["error"].isna().all()
    run = json.loads((result.run_dir / RUN_FILE).read_text())
    assert run["status"] == "finished" and run["requests"] == len(truth) and run["server_started"]
    assert result.failures == [] and run["failures"] == []
    assert run["server_url"].startswith("http://127.0.0.1:") and run["started_at"] < run["ended_at"]
    assert Scenario.from_dict(run["scenario"]) == SCENARIO


@pytest.mark.e2e
def test_the_shop_logged_exactly_the_simulated_requests_from_the_simulated_addresses(mixed_run):
    _, truth, engine, _ = mixed_run
    with engine.connect() as conn:
        logged = pd.DataFrame(conn.execute(select(RequestLog.ip, RequestLog.method, RequestLog.path)).all(),
                              columns=["ip", "method", "path"])
    simulated = logged[logged["ip"] != "127.0.0.1"]
    assert set(logged.loc[logged["ip"] == "127.0.0.1", "path"]) <= {"/health"}  # the start-up check only
    assert len(simulated) == len(truth)  # the server was stopped, so every capture is written: none dropped
    assert set(simulated["ip"]) == set(truth["ip"])
    shopper_ips = set(truth.loc[truth["role"] == "shopper", "ip"])
    assert len(shopper_ips) == 15
    # A regular comes from home (the address of the account's seeded logins); the others from 100.64.0.0/10.
    with engine.connect() as conn:
        homes = set(conn.execute(select(LoginAttempt.ip).where(LoginAttempt.source == "seed")).scalars())
    assert all(ip.startswith("100.") or ip in homes for ip in shopper_ips)
    assert any(ip in homes for ip in shopper_ips)
    assert not shopper_ips & set(truth.loc[truth["role"] == "attacker", "ip"])


@pytest.mark.e2e
def test_every_attack_kind_sent_its_attack(mixed_run):
    _, truth, _, _ = mixed_run
    attacks = truth[truth["role"] == "attacker"]
    assert set(attacks.loc[attacks["malicious"], "kind"]) == set(ATTACK_KINDS)
    assert attacks.groupby("kind")["client_id"].nunique()["flood_distributed"] == 20
    assert attacks.loc[attacks["kind"] == "flood_single", "ip"].nunique() == 1
    sqli = attacks[(attacks["kind"] == "sql_injection") & attacks["malicious"]]
    assert sqli.sort_values("seq")["action"].iloc[0] == "payload_query"  # the very first request is a payload
    walk = attacks[(attacks["kind"] == "scraping") & (attacks["action"] == "scrape")].sort_values("seq")
    ids = walk["path"].str.extract(r"^/api/products/(\d+)$")[0].astype(int).tolist()
    assert len(ids) >= 2 and ids == sorted(ids)  # a walk through the ids, one after the other
    probes = attacks[(attacks["kind"] == "enumeration") & attacks["malicious"]]
    assert probes["status"].isin([401, 403, 404, 405, 409, 422]).mean() > 0.5  # mostly what is not there
    assert attacks.loc[attacks["kind"] == "sql_injection", "status"].lt(500).all()


@pytest.mark.e2e
def test_shoppers_log_in_view_add_to_cart_and_check_out(mixed_run):
    _, truth, _, _ = mixed_run
    shoppers = truth[truth["role"] == "shopper"]
    ok = shoppers["status"].isin([200, 201, 204, 303])
    done = set(shoppers.loc[ok, "action"])
    assert {"land", "login", "view", "search", "cart_add", "checkout"} <= done
    assert shoppers.loc[ok & (shoppers["action"] == "login"), "client_id"].nunique() >= 5
    assert set(shoppers["method"]) >= {"GET", "POST"} and shoppers["session"].notna().all()
    assert {"/login", "/api/auth/login"} <= set(shoppers["path"])  # pages and forms, and the JSON API
    assert shoppers["status"].lt(500).all()


@pytest.mark.e2e
def test_blocked_clients_see_403_and_the_evaluation_reports_every_kind(mixed_run):
    result, truth, engine, scraper = mixed_run
    scraping = truth[truth["kind"] == "scraping"]
    assert scraping["blocked"].any() and (scraping.loc[scraping["blocked"], "status"] == 403).all()
    assert result.kinds["scraping"].blocked == int(scraping["blocked"].sum())

    report = evaluate_run(result.run_dir, engine)
    assert [k.kind for k in report.attacks] == sorted(ATTACK_KINDS)
    assert report.join.ground_truth_requests == len(truth)
    assert report.join.unmatched_ground_truth == 0 and report.join.unmatched_log_rows == 0
    scraped = next(k for k in report.attacks if k.kind == "scraping")
    assert scraped.clients_blocked == 1 and scraped.first_action == "block_ip" and scraped.decisions["block_ip"] >= 1
    assert scraped.time_to_first_action_s > 0 and scraped.requests_before_action >= 1
    assert scraped.refused == int(scraping["blocked"].sum())
    assert report.shoppers.shoppers == 15 and report.shoppers.requests == int((truth["role"] == "shopper").sum())

    written = json.loads((result.run_dir / REPORT_JSON).read_text())
    assert {k["kind"] for k in written["attacks"]} == set(ATTACK_KINDS)
    table = pd.read_csv(result.run_dir / REPORT_CSV)
    assert list(table["kind"]) == [*sorted(ATTACK_KINDS), "all_attacks", "shopper"]
    assert (table["run_id"] == result.run_id).all()


# --- without a server -----------------------------------------------------------------------------------------------


def test_evaluation_counts_time_and_requests_until_the_first_action(tmp_path):
    """A hand-made run: a flood from one address, blocked 1.5 s in, and a shopper whose one request is flagged."""
    engine = make_engine(f"sqlite:///{tmp_path}/shop.db")
    create_schema(engine)
    start = datetime(2026, 7, 1, 12, tzinfo=UTC)
    rows, log = [], []
    for i in range(30):  # 10 requests a second; the block lands at 1.5 s, refusals from the 17th request on
        at = start + timedelta(seconds=i / 10)
        refused = i >= 17
        rows.append({"seq": i + 1, "client_id": "flood_single-01", "role": "attacker", "kind": "flood_single",
                     "ip": "198.51.100.9", "session": None, "account": None, "action": "flood", "malicious": True,
                     "method": "GET", "path": "/api/products", "query": "page=1", "status": 403 if refused else 200,
                     "blocked": refused, "error": None, "sent_at": at.isoformat(),
                     "received_at": (at + timedelta(milliseconds=20)).isoformat()})
        log.append(RequestLog(at=at + timedelta(milliseconds=5), ip="198.51.100.9", method="GET", path="/api/products",
                              query="page=1", status=403 if refused else 200, latency_ms=5,
                              category="anomaly" if i >= 10 else "normal", anomaly_kind="flood", blocked=refused))
    for i in range(4):
        at = start + timedelta(seconds=i)
        rows.append({"seq": 31 + i, "client_id": "shopper-0001", "role": "shopper", "kind": "shopper",
                     "ip": "100.64.1.2", "session": "shopper-0001/v1", "account": "ann@shoppers.example",
                     "action": "view", "malicious": False, "method": "GET", "path": f"/api/products/{i + 1}",
                     "query": "", "status": 200, "blocked": False, "error": None, "sent_at": at.isoformat(),
                     "received_at": (at + timedelta(milliseconds=30)).isoformat()})
        log.append(RequestLog(at=at + timedelta(milliseconds=10), ip="100.64.1.2", method="GET",
                              path=f"/api/products/{i + 1}", status=200, latency_ms=9,
                              category="warning" if i == 2 else "normal", reasons=["odd"] if i == 2 else None))
    log.append(RequestLog(at=start, ip="127.0.0.1", method="GET", path="/health", status=200, latency_ms=1))
    with Session(engine) as session:
        session.add_all(log)
        session.add(Decision(kind="block_ip", target="198.51.100.9", anomaly_kind="flood", reason="flood",
                             created_at=start + timedelta(seconds=1.55)))
        session.add(Decision(kind="flag_account", target="someone@else.example", reason="elsewhere",
                             created_at=start + timedelta(seconds=2)))
        session.commit()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / GROUND_TRUTH_FILE).write_text("".join(json.dumps({"run_id": "r1", **row}) + "\n" for row in rows))

    report = evaluate_run(run_dir, engine)
    engine.dispose()
    flood = report.attacks[0]
    assert (flood.kind, flood.requests, flood.flagged, flood.refused) == ("flood_single", 30, 20, 13)
    assert flood.recall == pytest.approx(20 / 30) and flood.precision == pytest.approx(20 / 21)
    assert flood.time_to_first_action_s == pytest.approx(1.55, abs=0.01)
    assert (flood.requests_before_action, flood.malicious_before_action) == (16, 16)
    # The 17th request (1.6 s) was still served: the block took effect a moment after its decision.
    assert flood.served_after_block == 1 and flood.clients_blocked == 1
    assert flood.time_to_all_blocked_s == pytest.approx(1.55, abs=0.01)
    assert flood.time_to_first_refusal_s == pytest.approx(1.7) and flood.anomaly_kinds == {"flood": 20}
    shoppers = report.shoppers
    assert (shoppers.requests, shoppers.flagged, shoppers.shoppers_blocked) == (4, 1, 0)
    assert shoppers.false_positive_rate == 0.25 and shoppers.false_positive_reasons == {"odd": 1}
    assert report.join.matched == 34 and report.join.unmatched_log_rows == 0 and report.decisions_elsewhere == 1


def test_a_replay_meets_blocks_from_the_run_before_and_model_flags_are_told_from_rule_flags(tmp_path):
    """The same attacker address, still blocked from an earlier run, is reported as blocked at the start; shopper
    requests flagged by the model are not counted as the rules' false positives."""
    engine = make_engine(f"sqlite:///{tmp_path}/shop.db")
    create_schema(engine)
    start = datetime(2026, 7, 1, 12, tzinfo=UTC)
    rows, log = [], []
    for i in range(5):
        at = start + timedelta(seconds=i)
        for client, kind, role, ip in (("scraping-01", "scraping", "attacker", "198.51.100.20"),
                                       ("shopper-0001", "shopper", "shopper", "100.64.1.3")):
            refused = role == "attacker"
            rows.append({"seq": len(rows) + 1, "client_id": client, "role": role, "kind": kind, "ip": ip,
                         "session": None, "account": None, "action": "view", "malicious": refused, "method": "GET",
                         "path": f"/api/products/{i + 1}", "query": "", "status": 403 if refused else 200,
                         "blocked": refused, "error": None, "sent_at": at.isoformat(),
                         "received_at": (at + timedelta(milliseconds=20)).isoformat()})
            reasons = ["model:requests_per_second"] if role == "shopper" and i == 3 else \
                ["missing-user-agent"] if role == "shopper" and i == 4 else None
            log.append(RequestLog(at=at + timedelta(milliseconds=5), ip=ip, method="GET",
                                  path=f"/api/products/{i + 1}", status=403 if refused else 200, latency_ms=3,
                                  category="warning" if reasons else "normal", reasons=reasons, blocked=refused))
    with Session(engine) as session:
        session.add_all(log)
        session.add(Decision(kind="block_ip", target="198.51.100.20", anomaly_kind="scraping", reason="last run",
                             created_at=start - timedelta(minutes=5), expires_at=start + timedelta(minutes=10)))
        session.add(Decision(kind="block_ip", target="100.64.1.3", anomaly_kind="flood", reason="long ago",
                             created_at=start - timedelta(hours=2), expires_at=start - timedelta(hours=1)))
        session.commit()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / GROUND_TRUTH_FILE).write_text("".join(json.dumps({"run_id": "r2", **row}) + "\n" for row in rows))

    report = evaluate_run(run_dir, engine)
    engine.dispose()
    [scraper] = report.attacks
    assert scraper.blocked_before_run == 1 and scraper.clients_blocked == 1
    assert scraper.time_to_first_action_s == 0.0 and scraper.requests_before_action == 0
    assert scraper.served_after_block == 0
    shoppers = report.shoppers
    assert shoppers.blocked_before_run == 0 and shoppers.shoppers_blocked == 0  # an expired block is history
    assert (shoppers.flagged, shoppers.flagged_by_rules, shoppers.flagged_by_model) == (2, 1, 1)
    assert shoppers.rule_false_positive_rate == pytest.approx(1 / 5)
    assert report.decisions_elsewhere == 0


def test_attack_lists_parse_with_defaults_presets_and_own_timing():
    specs = parse_attacks("floods,sql_injection@10+5:3,flood_distributed@60:4x40", duration_s=120)
    assert [s.kind for s in specs] == ["flood_single", "flood_distributed", "sql_injection", "flood_distributed"]
    assert specs[2] == AttackSpec("sql_injection", 10.0, 5.0, 3.0, 1)
    assert (specs[3].start_s, specs[3].rate, specs[3].clients) == (60.0, 4.0, 40)
    assert [s.kind for s in parse_attacks("all", 60)] == list(ATTACK_KINDS) and parse_attacks("none", 60) == ()
    with pytest.raises(ValueError, match="unknown attack 'ddos'"):
        parse_attacks("ddos", 60)
    with pytest.raises(ValueError, match="after the run"):
        parse_attacks("scraping@90", 60)
    addresses = plan_addresses(specs, seed=1)
    flat = [ip for group in addresses for ip in group]
    assert len(flat) == len(set(flat)) == 1 + 20 + 1 + 40 and addresses == plan_addresses(specs, seed=1)


def test_payloads_come_from_every_list_and_from_templates():
    folder = reference_data_dir() / "sqli-payloads"
    payloads = load_sqli_payloads(folder)
    assert "' or '1'='1" in payloads and " waitfor delay '0:0:20' --" in payloads
    assert not any(p.lstrip().startswith("#") or "%20" in p for p in payloads)
    for path in folder.iterdir():
        if path.name.startswith(("LICENSE", "SOURCE")):
            continue
        first = next(line for line in path.read_text(errors="replace").splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))
        assert (unquote(first) if re.search("%[0-9A-Fa-f]{2}", first) else first) in payloads, path.name
    generated = generate_sqli_payloads(random.Random(1), 50)
    assert len(generated) == len(set(generated)) == 50 and generated == generate_sqli_payloads(random.Random(1), 50)
    with pytest.raises(FileNotFoundError, match="UNSEEN_REFERENCE_DATA"):
        load_sqli_payloads(folder / "missing")
