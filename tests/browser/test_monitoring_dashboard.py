"""The monitoring dashboard in real Chromium, served by Voila beside a real shop process: it renders its figure and
widgets, refreshes in place, shows the block of a simulated SQL-injection attacker while the simulation runs
(without a reload), and its Undo button unblocks the address in the running shop; without the token it is refused."""

from __future__ import annotations

import threading
import time
from datetime import date

import httpx
import pytest
from sqlmodel import Session, select

from tests.conftest import reference_data_dir
from unseen.config import Settings
from unseen.dashboards.server import running_dashboards
from unseen.db import make_engine
from unseen.simulate.attacks import parse_attacks, plan_addresses
from unseen.simulate.seed import SeedParameters, seed
from unseen.simulate.server import running_shop
from unseen.simulate.traffic import Scenario, simulate
from unseen.tables import Decision

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TOKEN = "dashboard-test-token"
SCENARIO = Scenario(duration_s=25, shoppers=2, seed=5, attacks=parse_attacks("sql_injection@3+15:1", 25))
ATTACKER = plan_addresses(SCENARIO.attacks, SCENARIO.seed)[0][0]
AS_ATTACKER = {"X-Forwarded-For": ATTACKER,  # a browser's user agent: a tool's would be flagged by itself
               "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboards")
    url = f"sqlite:///{folder}/shop.db"
    settings = Settings(environment="test", reference_data_dir=reference_data_dir())
    engine = make_engine(url)
    seed(engine, settings, SeedParameters(seed=2, customers=20, months=3, products=40, until=date(2026, 6, 30)))
    env = {"UNSEEN_DATABASE_URL": url, "UNSEEN_RUNS_DIR": str(folder / "runs"),
           "UNSEEN_MODELS_DIR": str(folder / "models"), "UNSEEN_ENVIRONMENT": "test"}
    with running_shop(url, env=env) as shop, \
            running_dashboards(token=TOKEN, env=env, log_path=folder / "voila.log") as dashboards:
        yield {"shop": shop.url, "dashboards": dashboards, "engine": engine, "runs": folder / "runs",
               "settings": settings}
    engine.dispose()


def _tick(page) -> int:
    return int(page.get_attribute(".unseen-refreshed", "data-tick"))


def test_without_the_token_the_dashboards_are_refused(stack):
    server = stack["dashboards"]
    for url in (server.page("monitoring", with_token=False), f"{server.url}/voila/render/monitoring.ipynb?token=wrong",
                f"{server.url}/", server.page("trends", with_token=False)):
        response = httpx.get(url, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"].startswith("/login"), url
    assert httpx.get(server.page("monitoring"), follow_redirects=True, timeout=60).status_code == 200


def test_a_blocked_attacker_appears_live_and_undo_unblocks_it(stack, page, screenshot):
    server = stack["dashboards"]
    page.set_default_timeout(60_000)
    page.goto(server.page("monitoring"))
    page.wait_for_selector(".unseen-refreshed")
    page.wait_for_selector("img.unseen-requests-chart[src^='blob:'], img.unseen-requests-chart[src^='data:']")
    assert page.locator(".unseen-decisions").count() == 1 and page.locator(".unseen-offenders").count() == 1
    page.evaluate("window.__not_reloaded = true")
    first = _tick(page)
    page.wait_for_function(f"Number(document.querySelector('.unseen-refreshed').dataset.tick) > {first}")
    screenshot("dashboard-monitoring")

    result = {}
    runner = threading.Thread(target=lambda: result.update(run=simulate(
        SCENARIO, url=stack["shop"], out_dir=stack["runs"] / "simulations", settings=stack["settings"])))
    runner.start()
    try:
        row = page.locator(f".unseen-decision-row:has(.unseen-decision[data-target='{ATTACKER}'])")
        row.wait_for(timeout=60_000)
        assert page.evaluate("window.__not_reloaded") is True  # it came with a refresh, not a reload
        assert "block_ip" in row.inner_text() and "sql" in row.inner_text().lower()
        page.wait_for_selector(".unseen-simulation-status[data-status='running']")
        screenshot("dashboard-monitoring-blocked")
        refused = httpx.get(f"{stack['shop']}/api/products", headers=AS_ATTACKER)
        assert refused.status_code == 403
    finally:
        runner.join(120)
    assert result["run"].requests > 0

    # The attack is over and the address still blocked: the operator undoes the block from the dashboard.
    decision_id = row.locator(".unseen-decision").get_attribute("data-id")
    row.locator("button.unseen-undo").click()
    page.wait_for_selector(f".unseen-undone[data-id='{decision_id}']")
    page.locator(f".unseen-decision[data-id='{decision_id}']").wait_for(state="detached", timeout=30_000)
    with Session(stack["engine"]) as session:
        decision = session.get(Decision, int(decision_id))
    assert decision.target == ATTACKER and decision.kind == "block_ip"
    assert decision.undone_at is not None and decision.undone_by is not None  # by the configured operator
    # The running shop re-reads its blocks every 2 s: the address is served again without a restart.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = httpx.get(f"{stack['shop']}/api/products", headers=AS_ATTACKER).status_code
        if status != 403:
            break
        time.sleep(0.5)
    assert status == 200
    screenshot("dashboard-monitoring-undone")
    assert page.evaluate("window.__not_reloaded") is True


def test_filters_and_a_bad_allowlist_entry(stack, page):
    server = stack["dashboards"]
    page.set_default_timeout(60_000)
    page.goto(server.page("monitoring"))
    page.wait_for_selector(".unseen-refreshed")
    page.locator(".unseen-allow-add").wait_for()
    page.fill("input[placeholder='203.0.113.7 or 203.0.113.0/24']", "not-an-address")
    page.locator("button.unseen-allow-add").click()
    message = page.locator(".unseen-message")
    message.locator("text=Not added").wait_for()
    assert "not-an-address" in message.inner_text()
    page.fill("input[placeholder='all addresses']", ATTACKER)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.unseen-refreshed') !== null")
    assert "not-an-address" in page.locator(".unseen-message").inner_text()  # the page kept its state
