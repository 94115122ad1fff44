"""The login-anomaly issue's must-show, end to end: a seeded shop, habitual logins, travellers, new devices at home and
account takeovers played over real HTTP against a real server process, evaluated from the ground truth.

At least 99% of the takeover attempts are challenged (the shop answers `step_up_required`) while at most 5% of the
legitimate logins are; travellers score below takeovers; the report, thresholds table and curve are written."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import reference_data_dir
from unseen.config import Settings
from unseen.db import make_engine
from unseen.logins.evaluate import CURVE_SVG, THRESHOLDS_CSV, evaluate_logins
from unseen.simulate.logins import LoginScenario, known_browsers, simulate_logins
from unseen.simulate.seed import SeedParameters, seed
from unseen.simulate.server import running_shop
from unseen.simulate.traffic import load_accounts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def login_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logins")
    url = f"sqlite:///{folder}/shop.db"
    settings = Settings(environment="test", reference_data_dir=reference_data_dir())
    engine = make_engine(url)
    # The default shop's customers and history (26 months): the simulated mix is measured on the shop users get.
    seed(engine, settings, SeedParameters(seed=7, customers=400, months=26, products=120, until=date(2026, 11, 1)))
    accounts = load_accounts(engine, settings.demo_customer_password.get_secret_value())
    scenario = LoginScenario(users=150, habitual=2, travellers=0.3, new_devices=0.2, takeovers=0.6, seed=3)
    with running_shop(url, env={"UNSEEN_MODELS_DIR": str(folder / "models"), "UNSEEN_ENVIRONMENT": "test"}) as shop:
        run_dir = simulate_logins(scenario, accounts, shop.url, folder / "runs", known_browsers(engine))
    report = evaluate_logins(run_dir, engine, step_up_threshold=settings.login_risk.step_up_threshold)
    yield run_dir, report
    engine.dispose()


def test_every_login_is_answered_and_recorded(login_run):
    run_dir, report = login_run
    truth = [json.loads(line) for line in (run_dir / "logins.jsonl").read_text().splitlines()]
    assert all(row["status"] == 200 and row["error"] is None for row in truth)
    assert report.matched == report.logins == len(truth) > 300
    assert {"habitual", "traveller", "new_device", "takeover"} <= set(report.by_kind)


def test_takeovers_are_challenged_and_legitimate_logins_rarely(login_run):
    _, report = login_run
    kinds = report.by_kind
    assert kinds["takeover"]["step_up_answered"] >= 0.99, kinds["takeover"]
    legitimate = sum(kinds[k]["logins"] * kinds[k]["step_up_answered"] for k in ("habitual", "traveller", "new_device"))
    total = sum(kinds[k]["logins"] for k in ("habitual", "traveller", "new_device"))
    assert legitimate / total <= 0.05, kinds
    assert kinds["habitual"]["step_up_answered"] == 0.0
    assert kinds["traveller"]["median_risk"] < kinds["takeover"]["median_risk"]
    assert kinds["new_device"]["median_risk"] < kinds["takeover"]["median_risk"]


def test_both_models_are_compared_across_thresholds(login_run):
    run_dir, report = login_run
    frequency, svm = report.models["frequency"], report.models["one_class_svm"]
    assert frequency["auc"] > 0.99 and frequency["best_at_5_percent"]["takeover_challenged"] >= 0.99
    assert svm["scored_takeover"] > 0 and 0 <= svm["auc"] <= 1
    rows = (run_dir / THRESHOLDS_CSV).read_text().splitlines()
    assert rows[0] == "model,threshold,takeover_challenged,legitimate_challenged" and len(rows) > 20
    svg = (run_dir / CURVE_SVG).read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
