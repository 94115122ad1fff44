"""The demand-trends dashboard in real Chromium, served by Voila on a seeded shop: its figures and tables render,
the product drill-down redraws the product figure in place (no reload), and without the token it is refused."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from tests.conftest import reference_data_dir
from unseen.config import Settings
from unseen.dashboards.server import running_dashboards
from unseen.db import make_engine
from unseen.simulate.seed import SeedParameters, seed

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

TOKEN = "test-token"
FIGURES = ("unseen-trends-history", "unseen-trends-forecast", "unseen-trends-product")
TABLES = ("unseen-trends-best-table", "unseen-trends-worst-table", "unseen-trends-invest-table",
          "unseen-trends-comparison-table")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trends-dashboard")
    url = f"sqlite:///{folder}/shop.db"
    engine = make_engine(url)
    seed(engine, Settings(environment="test", reference_data_dir=reference_data_dir()),
         SeedParameters(seed=5, customers=30, months=24, products=40, until=date(2026, 6, 30)))
    engine.dispose()
    env = {"UNSEEN_DATABASE_URL": url, "UNSEEN_MODELS_DIR": str(folder / "models"),
           "UNSEEN_RUNS_DIR": str(folder / "runs"), "UNSEEN_REFERENCE_DATA": str(reference_data_dir())}
    with running_dashboards(token=TOKEN, env=env, log_path=folder / "voila.log") as dashboards:
        yield dashboards


def _image(css_class: str) -> str:
    return f"img.{css_class}[src^='blob:'], img.{css_class}[src^='data:']"


def _show_whole_page(page) -> None:
    """Voila scrolls inside its own container, so a full-page screenshot needs a viewport as tall as the content."""
    height = page.evaluate("Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))")
    page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 8000)})


def test_without_the_token_the_trends_dashboard_is_refused(server):
    response = httpx.get(server.page("trends", with_token=False), follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"].startswith("/login")


def test_figures_tables_and_a_product_drilldown_without_reload(server, page, screenshot):
    page.set_default_timeout(60_000)
    page.goto(server.page("trends"))
    page.wait_for_selector(".unseen-trends-ready[data-state='ready']")
    for css_class in FIGURES:
        page.wait_for_selector(_image(css_class))
    for css_class in TABLES:
        assert page.locator(f"table.{css_class} tbody tr").count() > 0, css_class
    assert page.locator(".unseen-trends-message").count() == 0
    assert "Traceback" not in page.content()
    page.set_default_timeout(15_000)
    _show_whole_page(page)
    screenshot("dashboard-trends")

    page.evaluate("window.__not_reloaded = true")
    figure = page.locator("img.unseen-trends-product")
    before = figure.get_attribute("src")
    shown = page.locator(".unseen-trends-product-summary").get_attribute("data-product-id")
    select = page.locator(".unseen-trends-product-select select")
    options = select.locator("option")
    labels = [options.nth(i).inner_text() for i in range(options.count())]
    assert len(labels) > 1
    other = next(label for label in labels if not label.endswith(f"(#{shown})"))
    other_id = other.rsplit("(#", 1)[1].rstrip(")")
    select.select_option(label=other)
    page.wait_for_selector(f".unseen-trends-product-summary[data-product-id='{other_id}']")
    page.wait_for_function("([selector, before]) => document.querySelector(selector).src !== before",
                           arg=["img.unseen-trends-product", before])
    assert figure.get_attribute("src") != before
    name = other.replace("\xa0", " ").split(" · ")[0]  # ipywidgets shows option labels with non-breaking spaces
    assert name in page.locator(".unseen-trends-product-summary").inner_text()
    assert page.evaluate("window.__not_reloaded") is True
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(".unseen-trends-product-summary").scroll_into_view_if_needed()
    screenshot("dashboard-trends-drilldown")
