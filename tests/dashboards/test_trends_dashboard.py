"""The numbers behind the demand-trends dashboard, on a small seeded shop, and its widgets without a browser: every
category and month in the history, disjoint best and worst sellers, intervals around the forecasts, the product
drill-down, the promoted model's say, and clear messages for an empty shop, a short history and a bad product id."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from tests.conftest import reference_data_dir
from unseen.config import Settings
from unseen.dashboards.trends import (
    ALL,
    NotEnoughHistory,
    TrendsDashboard,
    TrendsData,
    comparison_table,
    from_settings,
)
from unseen.db import create_schema, make_engine
from unseen.ml.registry import ModelRegistry
from unseen.ml.training import DemandOutlook
from unseen.simulate.seed import SeedParameters, seed
from unseen.tables import Order, OrderLine, Product

UNTIL = date(2026, 6, 30)


def _seeded_engine(folder, *, months: int):
    engine = make_engine(f"sqlite:///{folder}/shop.db")
    seed(engine, Settings(environment="test", reference_data_dir=reference_data_dir()),
         SeedParameters(seed=5, customers=30, months=months, products=40, until=UNTIL))
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = _seeded_engine(tmp_path_factory.mktemp("trends"), months=24)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def data(engine) -> TrendsData:
    return TrendsData(engine)


def _sold(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(Order.created_at, Product.id, Product.category, OrderLine.quantity)
                            .join(Order, Order.id == OrderLine.order_id)
                            .join(Product, Product.id == OrderLine.product_id)).all()
    sold = pd.DataFrame(rows, columns=["at", "product_id", "category", "quantity"])
    sold["month"] = pd.to_datetime(sold["at"], utc=True).dt.tz_convert(None).dt.to_period("M").dt.to_timestamp()
    return sold


def test_history_has_every_category_and_every_month(engine, data):
    sold = _sold(engine)
    history = data.history()
    assert sorted(history.columns) == sorted(sold["category"].unique())
    # The month of the newest order is still open, so the history ends the month before it.
    expected = pd.date_range(sold["month"].min(), sold["month"].max() - pd.DateOffset(months=1), freq="MS")
    assert list(history.index) == list(expected)
    complete = sold[sold["month"] < sold["month"].max()]
    assert history.sum().sum() == complete["quantity"].sum()
    assert data.status().state == "ready" and data.status().months == len(expected)
    assert list(data.history("Kitchen").columns) == ["Kitchen"]


def test_best_and_worst_sellers_are_disjoint_and_come_from_products_that_sold(engine, data):
    sold_ids = set(_sold(engine)["product_id"])
    best, worst = data.sellers()
    assert len(best) == 10 and len(worst) == 10
    assert set(best["key"]).isdisjoint(worst["key"])
    assert set(best["key"]) | set(worst["key"]) <= sold_ids
    assert best["mean"].is_monotonic_decreasing and worst["mean"].is_monotonic_increasing
    assert best["mean"].min() >= worst["mean"].max()
    for category in data.categories():
        best, worst = data.sellers(category=category)
        assert set(best["key"]).isdisjoint(worst["key"])
        assert set(best["category"]) <= {category} and set(worst["category"]) <= {category}


def test_forecast_intervals_contain_the_point_forecast(data):
    last = data.history().index.max()
    narrow = data.category_forecast(h=3, alpha=0.2)
    assert sorted(narrow["key"].unique()) == data.categories()
    assert narrow.groupby("key").size().eq(3).all()
    assert narrow["month"].min() == last + pd.DateOffset(months=1)
    assert (narrow["lower"] <= narrow["mean"]).all() and (narrow["lower"] <= narrow["upper"]).all()
    # Smooth and erratic demand gets a model interval around its forecast. TSB's bounds for intermittent and lumpy
    # demand are quantiles of its one-step errors, which can lie wholly below the mean (documented in _croston.py).
    regular = narrow[narrow["demand_class"].isin(["smooth", "erratic"])]
    assert len(regular) and (regular["mean"] <= regular["upper"]).all()
    wide = data.category_forecast(h=3, alpha=0.05)
    assert (wide["lower"].to_numpy() <= narrow["lower"].to_numpy() + 1e-9).all()
    assert (wide["upper"].to_numpy() >= narrow["upper"].to_numpy() - 1e-9).all()


def test_invest_ranking_and_model_comparison(data):
    ranking = data.invest()
    assert 0 < len(ranking) <= 15 and ranking["expected_value_cents"].is_monotonic_decreasing
    comparison = data.comparison()
    assert {"seasonal naive", "linear regression", "TSB"} <= set(comparison.summary.index)
    assert comparison.chosen == "linear regression" and "no promoted" in comparison.source
    assert set(comparison.by_class.columns) <= {"smooth", "erratic", "intermittent", "lumpy"}
    assert comparison.class_counts.sum() == len(data.categories())
    table = comparison_table(comparison)
    assert table["model"].str.startswith("✓ ").sum() == 1


def test_drilldown_returns_the_products_series(engine, data):
    sold = _sold(engine)
    products = data.products()
    product_id = int(products.loc[products["units"].idxmax(), "product_id"])
    outlook = data.product_outlook(product_id, h=6, alpha=0.2)
    own = sold[(sold["product_id"] == product_id) & (sold["month"] < sold["month"].max())]
    expected = own.groupby("month")["quantity"].sum().reindex(outlook.history.index, fill_value=0)
    assert outlook.history.tolist() == expected.tolist()
    assert outlook.history.index.equals(data.history().index)
    assert outlook.name == products.set_index("product_id").at[product_id, "name"]
    assert len(outlook.forecast) == 6 and (outlook.forecast["lower"] <= outlook.forecast["upper"]).all()


def test_an_unknown_product_or_category_is_named_in_the_error(data):
    with pytest.raises(ValueError, match="unknown product id 999999"):
        data.product_outlook(999999)
    with pytest.raises(ValueError, match="unknown product id 'mug'"):
        data.product_outlook("mug")
    with pytest.raises(ValueError, match="unknown category 'Spaceships'"):
        data.sellers(category="Spaceships")


def test_the_dashboard_fills_every_section_and_follows_the_controls(data):
    dashboard = TrendsDashboard(data)
    dashboard.load()
    assert 'data-state="ready"' in dashboard.status.value
    for chart in (dashboard.history_chart, dashboard.forecast_chart, dashboard.product_chart):
        assert chart.value[:8] == b"\x89PNG\r\n\x1a\n"
    for table, css in ((dashboard.best, "unseen-trends-best-table"), (dashboard.worst, "unseen-trends-worst-table"),
                       (dashboard.invest, "unseen-trends-invest-table"),
                       (dashboard.comparison, "unseen-trends-comparison-table")):
        assert f'<table class="{css}"' in table.value
    first = dashboard.product.value
    other = next(pid for _label, pid in dashboard.product.options if pid != first)
    before = dashboard.product_chart.value
    dashboard.product.value = other
    assert f'data-product-id="{other}"' in dashboard.product_caption.value and dashboard.product_chart.value != before
    dashboard.interval.value = 0.05
    assert dashboard.product.value == other  # a new interval keeps the product
    dashboard.category.value = "Kitchen"
    assert {label.split(" · ")[1].split(" (#")[0] for label, _ in dashboard.product.options} == {"Kitchen"}
    assert "Kitchen</td>" in dashboard.best.value and "unseen-trends-message" not in dashboard.best.value
    dashboard.category.value = ALL


def test_an_empty_shop_says_no_sales_yet(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    create_schema(engine)
    data = TrendsData(engine)
    status = data.status()
    assert status.state == "empty" and status.message.startswith("No sales yet")
    assert data.history().empty and data.products().empty
    with pytest.raises(NotEnoughHistory, match="No sales yet"):
        data.sellers()
    dashboard = TrendsDashboard(data)
    dashboard.load()
    assert 'data-state="empty"' in dashboard.status.value and "No sales yet" in dashboard.status.value
    assert dashboard.content.layout.display == "none"


def test_a_short_history_shows_what_there_is_and_says_what_is_missing(tmp_path):
    engine = _seeded_engine(tmp_path, months=3)
    data = TrendsData(engine)
    assert data.status().state == "short" and "Too little history" in data.status().message
    dashboard = TrendsDashboard(data)
    dashboard.load()
    assert dashboard.history_chart.value[:4] == b"\x89PNG"
    assert "forecasts need at least 6" in dashboard.forecast_note.value
    assert dashboard.forecast_chart.layout.display == "none"
    for section in (dashboard.best, dashboard.invest, dashboard.comparison):
        assert "unseen-trends-message" in section.value
    engine.dispose()


def test_the_promoted_model_says_which_forecaster_and_which_comparison(engine, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    summary = pd.DataFrame({"mase": [0.9, 1.1], "smape": [40.0, 45.0], "coverage": [0.8, 0.7], "n_series": [13, 13]},
                           index=pd.Index(["seasonal naive", "linear regression"], name="model"))
    outlook = DemandOutlook(method="seasonal naive", comparison=summary, categories=None, sellers=None, invest=None,
                            last_month="2026-05-01")
    version = registry.register("trends", outlook, params={"method": "seasonal naive", "alpha": 0.1, "top": 5},
                                metrics={"holdout": {"mase": 0.9}}, data_range=("2024-07-01", "2026-06-30"),
                                n_samples=100)
    registry.promote("trends", version.version)
    data = TrendsData(engine, registry=registry)
    assert data.model().name == "seasonal naive" and version.version in data.model().source
    comparison = data.comparison()
    assert comparison.summary.equals(summary) and comparison.target_coverage == pytest.approx(0.9)
    assert comparison.by_class.empty
    forecast = data.category_forecast()
    assert set(forecast["method"]) <= {"SeasonalNaive", "TSB"} and "SeasonalNaive" in set(forecast["method"])
    best, worst = data.sellers()
    assert len(best) == len(worst) == 5


def test_from_settings_reads_the_configured_database_and_registry(engine, tmp_path):
    settings = Settings(environment="test", database_url=str(engine.url), models_dir=tmp_path / "models")
    dashboard = from_settings(settings)
    assert dashboard.data.status().state == "ready"
    assert dashboard.data.registry.root == tmp_path / "models"
