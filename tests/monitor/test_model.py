"""The anomaly model in the monitor: trained from a request log, served from the registry, scoring each IP's and
session's window online, explaining and acting on what it finds, alone or beside the rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from unseen.ml.anomaly import Explanation, features_for_window, synthetic_requests
from unseen.ml.anomaly._window_model import BEHAVIOUR_FEATURES, WindowModel, fit_window_model, kind_of_explanation
from unseen.ml.registry import ModelRegistry
from unseen.monitor.model import ModelSettings, OnlineModel
from unseen.monitor.records import Category, RequestRecord
from unseen.monitor.rules import RuleEngine
from unseen.monitor.service import Monitor
from unseen.shop import create_app
from unseen.tables import Decision, RequestLog

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture(scope="module")
def shopper_log() -> pd.DataFrame:
    """Four hours of shoppers only, as the monitor would have logged them (all normal)."""
    log = synthetic_requests(120, attacks=(), hours=4, random_state=3)
    return log.assign(category="normal", blocked=False)


@pytest.fixture(scope="module")
def model(shopper_log) -> WindowModel:
    return fit_window_model(shopper_log, target_fpr=0.001)


class Version:
    def __init__(self, version: str):
        self.version = version


def _source(model, version="v1"):
    return lambda: (Version(version), model)


def _bot(ip: str, start: datetime, n: int, every_s: float, *, path="/api/products", status=200,
         session_id=None) -> list[RequestRecord]:
    return [RequestRecord(at=start + timedelta(seconds=i * every_s), ip=ip, method="GET", path=path,
                          query=f"page={i % 5 + 1}", status=status, latency_ms=30.0, user_agent=BROWSER,
                          response_bytes=4000, session_id=session_id) for i in range(n)]


def _shopper(ip: str, start: datetime, n: int) -> list[RequestRecord]:
    rng = np.random.default_rng(sum(ip.encode()))
    at, out = start, []
    for i in range(n):
        at += timedelta(seconds=float(np.exp(rng.uniform(np.log(2), np.log(20)))))
        out.append(RequestRecord(at=at, ip=ip, method="GET", path=f"/products/{rng.integers(1, 500)}", status=200,
                                 latency_ms=25.0, user_agent=BROWSER, response_bytes=9000))
    return out


def _judge(records: list[RequestRecord], rules: RuleEngine) -> None:
    for record in records:
        rules.observe_and_judge(record)


def _ticks(records: list[RequestRecord], seconds: float = 0.25) -> list[list[RequestRecord]]:
    """Records grouped as the monitor's thread would take them off its queue."""
    records = sorted(records, key=lambda r: r.at)
    ticks, current, edge = [], [], None
    for record in records:
        if edge is None or record.at >= edge:
            if current:
                ticks.append(current)
            current, edge = [], record.at + timedelta(seconds=seconds)
        current.append(record)
    return ticks + [current] if current else ticks


def test_the_model_is_fitted_on_client_behaviour_only_and_reports_its_held_out_false_positives(model):
    assert model.features == BEHAVIOUR_FEATURES
    assert not {"latency_mean_ms", "share_5xx", "hour_sin", "hour_cos"} & set(model.features)
    assert set(model.detectors) == {"ip", "session"}
    for by in ("ip", "session"):
        report = model.report[by]
        assert report["train_windows"] > 200 and report["holdout_windows"] > 0
        assert report["holdout_fpr"] <= 0.01 and report["threshold"] == model.detectors[by].threshold_


def test_too_little_clean_traffic_is_refused_with_what_to_do():
    tiny = synthetic_requests(2, attacks=(), hours=1, random_state=0).assign(category="normal", blocked=False)
    with pytest.raises(ValueError, match=r"clean ip windows, fewer than the 200 needed.*unseen simulate"):
        fit_window_model(tiny)
    with pytest.raises(ValueError, match="detector must be one of"):
        fit_window_model(tiny, detector="autoencoder")


def test_clients_the_rules_flagged_are_left_out_of_training(shopper_log):
    flood = pd.DataFrame({"at": pd.date_range(shopper_log["at"].min(), periods=3000, freq="100ms"), "ip": "203.0.113.5",
                          "method": "GET", "path": "/api/products", "status": 200, "category": "normal",
                          "blocked": False})
    flood.loc[flood.index[-1], "category"] = "anomaly"  # the rules caught it in the end
    fitted = fit_window_model(pd.concat([shopper_log, flood], ignore_index=True))
    assert fitted.report["ip"]["clients"] == shopper_log["ip"].nunique()
    rows = [features_for_window(_bot("203.0.113.9", T0, 30, 0.2))]
    assert fitted.judge("ip", rows)[0].anomalous


def test_a_bot_under_every_rate_rule_is_found_explained_and_called_a_flood(model):
    # 5 requests a second: under the rules' 20 a second, and it would take 24 s to pass 120 a minute.
    records = _bot("203.0.113.20", T0, 40, 0.2)
    online, rules = OnlineModel(_source(model), ModelSettings(min_interval_s=1.0, confirmations=2)), RuleEngine()
    for tick in _ticks(records):
        _judge(tick, rules)
        online(tick)
    flagged = [r for r in records if r.category is Category.anomaly]
    assert flagged, "the bot was never flagged"
    first = flagged[0]
    assert first.anomaly_kind == "flood"
    assert first.score == 0  # the rules saw nothing: the points are the model's alone
    assert any(reason.startswith("model:") for reason in first.reasons)
    assert {"model:requests_per_second", "model:interarrival_mean_s", "model:n_requests"} & set(first.reasons)
    # It needs its minimum of requests, then two anomalous scores a second apart: about 3 s at 5 requests a second.
    assert timedelta(seconds=1.8) <= first.at - T0 <= timedelta(seconds=4)
    # A key is scored at most once a second, on its newest record of the moment.
    scored = [r.at for r in records if r.model_score is not None]
    assert len(scored) >= 5 and all(b - a >= timedelta(seconds=1) for a, b in zip(scored, scored[1:]))


def test_shoppers_are_scored_but_never_flagged(model):
    online, rules = OnlineModel(_source(model), ModelSettings(min_interval_s=0)), RuleEngine()
    records = [r for i in range(60) for r in _shopper(f"10.1.{i // 250}.{i % 250}", T0, 25)]
    for tick in _ticks(records):
        _judge(tick, rules)
        online(tick)
    assert online.flagged == 0
    assert all(r.category is Category.normal for r in records)


def test_one_odd_window_is_not_enough_when_confirmations_are_asked(model):
    # Twelve quick requests, then silence: anomalous at one scoring only.
    records = _bot("203.0.113.30", T0, 12, 0.1)
    strict = OnlineModel(_source(model), ModelSettings(min_interval_s=10.0, confirmations=2))
    eager = OnlineModel(_source(model), ModelSettings(min_interval_s=10.0, confirmations=1))
    copies = _bot("203.0.113.30", T0, 12, 0.1)
    for tick in _ticks(records):
        strict(tick)
    for tick in _ticks(copies):
        eager(tick)
    assert strict.flagged == 0 and eager.flagged == 1


def test_the_model_adds_its_points_to_a_rule_warning(model):
    records = _bot("203.0.113.40", T0, 30, 0.2)
    for record in records:
        record.user_agent = "python-requests/2.32.3"  # the rules: a script's agent, a warning (3 points)
    online = OnlineModel(_source(model), ModelSettings(severity=2, confirmations=1, min_interval_s=0))
    rules = RuleEngine()
    for tick in _ticks(records):
        _judge(tick, rules)
        online(tick)
    anomalies = [r for r in records if r.category is Category.anomaly]
    assert anomalies and all(r.score == 3 and "tool-user-agent" in r.reasons for r in anomalies)
    assert all(r.category is Category.warning for r in records[: model.min_requests - 1])


def test_refused_requests_are_not_scored_and_memory_stays_bounded(model):
    online = OnlineModel(_source(model), ModelSettings(max_keys=50, min_interval_s=0))
    blocked = _bot("203.0.113.50", T0, 40, 0.05)
    for record in blocked:
        record.blocked = True
    online(blocked)
    assert online.scored == 0
    for i in range(500):
        online(_bot(f"10.9.{i // 200}.{i % 200}", T0 + timedelta(seconds=i), 2, 1.0))
    assert len(online._keys) <= 50


def test_without_a_promoted_model_nothing_is_scored(model):
    online = OnlineModel(lambda: None)
    records = _bot("203.0.113.60", T0, 40, 0.1)
    online(records)
    assert online.scored == 0 and all(r.model_score is None for r in records)
    disabled = OnlineModel(_source(model), ModelSettings(enabled=False))
    disabled(records)
    assert disabled.scored == 0


def test_kinds_follow_the_most_specific_unusual_feature():
    assert kind_of_explanation([Explanation("share_4xx", 1.0, 0.0, 50.0), Explanation("login_attempts", 9, 0, 9)]) \
        == "password_guessing"
    assert kind_of_explanation([Explanation("n_paths", 80, 3, 30.0), Explanation("requests_per_second", 6, .1, 9)]) \
        == "flood"
    assert kind_of_explanation([Explanation("cart_adds", 40, 0, 20.0)]) == "cart_spam"
    assert kind_of_explanation([Explanation("interarrival_mean_s", 0.2, 8.0, -5.0)]) == "flood"
    assert kind_of_explanation([Explanation("interarrival_mean_s", 50, 8.0, 5.0)]) == "model"


def test_the_monitor_blocks_a_bot_net_the_model_finds_and_says_why(settings, engine, model):
    """Rules, model and actions together in the monitor's thread, against a real database."""
    registry = ModelRegistry(settings.models_dir)
    version = registry.register("anomaly", model, params={}, metrics={"holdout": {"balanced_accuracy": 0.9}},
                                data_range=("2026-11-21", "2026-11-21"), n_samples=1)
    registry.promote("anomaly", version.version)
    with TestClient(create_app(settings, engine)) as shop:
        monitor: Monitor = shop.app.state.monitor
        bots = [f"203.0.113.{i}" for i in range(70, 75)]
        start = datetime.now(timezone.utc)
        for i in range(30):
            for bot in bots:
                monitor.submit(_bot(bot, start + timedelta(seconds=i * 0.2), 1, 1.0)[0])
            if i % 5 == 4:
                monitor.drain()
        for shopper in _shopper("10.2.0.1", start, 10):
            monitor.submit(shopper)
        monitor.drain()
        assert all(monitor.blocked(bot) is not None for bot in bots)
        assert monitor.blocked("10.2.0.1") is None
    with Session(engine) as session:
        decisions = session.exec(select(Decision).where(Decision.kind == "block_ip")).scalars().all()
        logged = session.exec(select(RequestLog).where(RequestLog.ip == bots[0]).order_by(RequestLog.id)).scalars().all()
    assert sorted(d.target for d in decisions) == bots
    assert all(d.anomaly_kind == "flood" and "model:" in d.reason and d.evidence["model_score"] is not None
               for d in decisions)
    # The operator sees why: each unusual feature with its value against the typical one.
    explanation = decisions[0].evidence["model_explanation"]
    assert len(explanation) == 3 and {"feature", "value", "typical", "z"} <= set(explanation[0])
    assert any(e["feature"] == "requests_per_second" and e["value"] > 10 * e["typical"] for e in explanation)
    assert any(row.model_score is not None for row in logged) and logged[-1].category == "anomaly"


def _one_session_from_many_addresses(n: int) -> list[RequestRecord]:
    """A bot's session whose requests come from a new address each time: only the session's window sees it."""
    records = _bot("203.0.113.70", T0, n, 0.2, session_id="bot-session")
    for i, record in enumerate(records):
        record.ip = f"198.51.{i // 250}.{i % 250}"
    return records


def test_a_session_window_alone_is_a_warning_and_acts_beside_a_rule_warning(model):
    alone = _one_session_from_many_addresses(40)
    online, rules = OnlineModel(_source(model), ModelSettings(min_interval_s=0)), RuleEngine()
    for tick in _ticks(alone):
        _judge(tick, rules)
        online(tick)
    assert online.flagged > 0, "the session's window was never found anomalous"
    assert not any(r.category is Category.anomaly for r in alone)
    assert any(r.category is Category.warning and "model:" in " ".join(r.reasons) for r in alone)

    scripted = _one_session_from_many_addresses(40)
    for record in scripted:
        record.user_agent = "python-requests/2.32.3"  # a rule's warning on every request
    online, rules = OnlineModel(_source(model), ModelSettings(min_interval_s=0)), RuleEngine()
    for tick in _ticks(scripted):
        _judge(tick, rules)
        online(tick)
    assert any(r.category is Category.anomaly and r.anomaly_kind for r in scripted)


def test_the_graver_of_the_ip_and_session_verdicts_stands(model):
    records = _bot("203.0.113.80", T0, 40, 0.2, session_id="flood-session")
    online, rules = OnlineModel(_source(model), ModelSettings(min_interval_s=0)), RuleEngine()
    for tick in _ticks(records):
        _judge(tick, rules)
        online(tick)
    assert any(r.category is Category.anomaly and r.anomaly_kind == "flood" for r in records)
