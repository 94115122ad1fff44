"""The monitoring issue's must-show, end to end: a normal day to learn from, `unseen train anomaly`, then two minutes
of 200 shoppers mixed with every attack kind against a real server process, evaluated from the ground truth.

Every attacker is blocked, the single-address flood within 2 s, SQL injection at its first payload, password guessing
within 5 attempts; no shopper is blocked; the rules flag at most 0.1% of shopper requests; every request is in the
request log (none dropped)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import reference_data_dir
from unseen.config import PROJECT_ROOT, Settings
from unseen.db import make_engine
from unseen.ml.registry import ModelRegistry
from unseen.simulate.evaluate import evaluate_run
from unseen.simulate.seed import SeedParameters, seed
from unseen.simulate.traffic import Scenario, simulate

# The fixture plays three minutes of traffic and trains a model: about 3.5 minutes on two cores, more than the
# suite's default limit per test (which the first test's share of the fixture counts against).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detection")
    url = f"sqlite:///{folder}/shop.db"
    settings = Settings(environment="test", reference_data_dir=reference_data_dir())
    engine = make_engine(url)
    seed(engine, settings, SeedParameters(seed=11, customers=220, months=3, products=150, until=date(2026, 11, 1)))
    env = {"UNSEEN_MODELS_DIR": str(folder / "models"), "UNSEEN_ENVIRONMENT": "test"}

    normal = simulate(Scenario(duration_s=60, shoppers=200, seed=5), database_url=url, out_dir=folder / "runs",
                      settings=settings, server_env=env)
    trained = subprocess.run(
        [sys.executable, "-m", "unseen.cli", "train", "anomaly", "--database-url", url], cwd=PROJECT_ROOT,
        env={**os.environ, **env, "UNSEEN_REFERENCE_DATA": str(reference_data_dir())}, capture_output=True,
        text=True, timeout=600)
    assert trained.returncode == 0, trained.stdout + trained.stderr

    mixed = simulate(Scenario.mixed(duration_s=120, shoppers=200, seed=9), database_url=url,
                     out_dir=folder / "runs", settings=settings, server_env=env)
    report = evaluate_run(mixed.run_dir, engine)
    yield normal, trained.stdout, ModelRegistry(folder / "models"), mixed, report
    engine.dispose()


def test_the_anomaly_model_is_trained_on_the_normal_day_and_promoted(detection_run):
    normal, output, registry, _, _ = detection_run
    assert normal.failures == [] and normal.kinds["shopper"].clients == 200
    promoted = registry.promoted("anomaly")
    assert promoted is not None and "promoted" in output
    assert promoted.metrics["ip"]["holdout_fpr"] <= 0.01
    assert promoted.metrics["ip"]["synthetic_attacks"]["recall"] > 0.5


def test_every_attacker_is_blocked_and_no_shopper(detection_run):
    _, _, _, mixed, report = detection_run
    assert mixed.failures == []
    assert mixed.kinds["shopper"].clients == 200 and mixed.requests > 4000
    kinds = {k.kind: k for k in report.attacks}
    assert set(kinds) == {"flood_single", "flood_distributed", "password_guessing", "credential_stuffing",
                          "cart_spam", "sql_injection", "scraping", "enumeration"}
    for kind in kinds.values():
        assert kind.clients_blocked == kind.clients, f"{kind.kind}: {kind.clients_blocked} of {kind.clients} blocked"
        assert kind.blocked_before_run == 0
    assert report.shoppers.shoppers_blocked == 0 and report.shoppers.shoppers_refused == 0
    assert report.shoppers.requests_refused == 0


def test_the_flood_sql_injection_and_password_guessing_are_stopped_in_time(detection_run):
    kinds = {k.kind: k for k in detection_run[4].attacks}
    assert kinds["flood_single"].time_to_first_action_s < 2.0
    assert kinds["sql_injection"].malicious_before_action <= 1  # the first payload is the one that blocks
    assert kinds["password_guessing"].malicious_before_action <= 5
    # The bot net stays under every per-address rate rule: the model finds it.
    assert kinds["flood_distributed"].flagged_by_model > 0


def test_rules_flag_at_most_a_thousandth_of_shopper_requests_and_nothing_is_dropped(detection_run):
    report = detection_run[4]
    assert report.shoppers.requests > 1500
    assert report.shoppers.rule_false_positive_rate <= 0.001
    # Every request the shop answered is in the request log, and every log row is a request sent.
    assert report.join.unmatched_log_rows == 0
    assert report.join.unmatched_ground_truth == report.join.transport_errors
    assert report.join.transport_errors == 0, report.join
