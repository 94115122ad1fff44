"""The demand-trends dashboard: what ``dashboards/trends.ipynb`` shows, as plain functions over the shop's orders
(:class:`TrendsData`) and the widgets that lay them out (:class:`TrendsDashboard`).

Everything is computed once when the dashboard loads and cached: monthly demand per category and product, the
forecasts, next month's best and worst sellers, the invest ranking and the model comparison (a backtest with
SARIMA among the candidates, the slow part). A different interval or horizon computes only what it changes, and
the product drill-down forecasts one product on demand. The forecaster is the promoted trends model's choice
(``unseen train trends``) when there is one, with the comparison it was chosen by; otherwise the package default,
and the comparison is backtested here.

>>> from unseen.db import create_schema, make_engine
>>> engine = make_engine("sqlite://")
>>> create_schema(engine)
>>> TrendsData(engine).status().state
'empty'
"""

from __future__ import annotations

import html
import io
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from unseen.dashboards.monitoring import html_table
from unseen.ml.trends import (
    BaseForecaster,
    candidate_forecasters,
    classify_demand,
    compare_models,
    default_model,
    demand_series,
    forecast_demand,
    invest_ranking,
    load_order_lines,
    monthly_demand,
    next_month_sellers,
    summarise_comparison,
)

log = logging.getLogger(__name__)

ALL = "all categories"
MIN_FORECAST_MONTHS = 6
"""Complete months of sales before anything is forecast: half a year, so a level and a trend can be told apart."""
COMPARISON_TEST_MONTHS = 6
MIN_COMPARISON_MONTHS = COMPARISON_TEST_MONTHS + 12
"""The backtest forecasts the last six months, each from at least a year of history."""
HORIZONS = (1, 3, 6, 12)
COVERAGES = {"80% interval": 0.2, "90% interval": 0.1, "95% interval": 0.05}
CLASS_ORDER = ("smooth", "erratic", "intermittent", "lumpy")


class NotEnoughHistory(ValueError):
    """The shop's sales are too few or too short for what was asked; the message says what is needed."""


@dataclass(frozen=True)
class TrendsStatus:
    """What the shop's sales allow: ``empty`` (no sale), ``short`` (history only) or ``ready`` (everything)."""

    state: str
    months: int
    first_month: pd.Timestamp | None
    last_month: pd.Timestamp | None
    categories: int
    products: int
    message: str


@dataclass(frozen=True)
class ModelChoice:
    """The forecaster for smooth and erratic demand, where it came from, and the comparison it was chosen by."""

    name: str
    forecaster: BaseForecaster
    source: str
    version: str | None = None
    comparison: pd.DataFrame | None = None  # mean MASE, sMAPE, coverage and n_series per model
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelComparison:
    """Backtest scores per model (``summary``) and per model and demand class (``by_class``: MASE per class
    column, with ``class_counts`` series in each), and where they come from."""

    summary: pd.DataFrame
    by_class: pd.DataFrame
    class_counts: pd.Series
    source: str
    chosen: str
    target_coverage: float


@dataclass(frozen=True)
class ProductOutlook:
    """One product's monthly units and its forecast (``month``, ``mean``, ``lower``, ``upper``)."""

    product_id: int
    name: str
    category: str
    history: pd.Series
    forecast: pd.DataFrame
    demand_class: str
    method: str


def _month(stamp: pd.Timestamp | None) -> str:
    return "-" if stamp is None else f"{stamp:%b %Y}"


class TrendsData:
    """The numbers behind the trends dashboard, read from the shop's database once and cached.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The shop's database.
    registry : unseen.ml.registry.ModelRegistry, optional
        Where the promoted trends model is looked up; without one (or without a promoted model) the package
        default forecaster is used and the comparison is backtested here.
    """

    def __init__(self, engine: Engine, registry=None):
        self.engine = engine
        self.registry = registry
        self._cache: dict[tuple, Any] = {}

    def reload(self) -> None:
        """Forget everything read and computed; the next call reads the database again."""
        self._cache.clear()

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        # A failure is kept too: the same data fail the same way, and the backtest is too slow to repeat per click.
        if key not in self._cache:
            try:
                self._cache[key] = compute()
            except Exception as error:
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    # --- demand ------------------------------------------------------------------------------------------------

    def _demand(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        def read():
            lines = load_order_lines(self.engine)
            categories = monthly_demand(lines, level="category")
            products = monthly_demand(lines, level="product")
            sold = products.groupby("key")["units"].sum()
            return lines, categories, products[products["key"].isin(sold.index[sold > 0])].reset_index(drop=True)
        return self._cached(("demand",), read)

    def status(self) -> TrendsStatus:
        lines, categories, products = self._demand()
        months = int(categories["month"].nunique())
        first = categories["month"].min() if months else None
        last = categories["month"].max() if months else None
        counts = dict(months=months, first_month=first, last_month=last,
                      categories=int(categories["key"].nunique()), products=int(products["key"].nunique()))
        if lines.empty:
            return TrendsStatus("empty", message="No sales yet: the shop has no orders, so there is no demand to "
                                "show. Seed a demo shop with `unseen seed`, or come back when shoppers have bought.",
                                **counts)
        if months == 0:
            open_month = lines["ordered_at"].max()
            return TrendsStatus("short", message=f"Too little history: every sale so far is in {open_month:%B %Y}, "
                                "which is still open; the history starts when it ends.", **counts)
        if months < MIN_FORECAST_MONTHS:
            return TrendsStatus("short", message=f"Too little history to forecast: {months} complete month(s) of "
                                f"sales ({_month(first)} to {_month(last)}); forecasts need at least "
                                f"{MIN_FORECAST_MONTHS}. The history so far is shown.", **counts)
        return TrendsStatus("ready", message=f"Sales {_month(first)} to {_month(last)}: {months} complete months, "
                            f"{counts['categories']} categories, {counts['products']} products with sales.", **counts)

    def _require_forecastable(self) -> None:
        status = self.status()
        if status.state != "ready":
            raise NotEnoughHistory(status.message)

    def categories(self) -> list[str]:
        return sorted(self._demand()[1]["key"].unique().tolist())

    def _check_category(self, category: str | None) -> str | None:
        if category in (None, ALL):
            return None
        if category not in self.categories():
            raise ValueError(f"unknown category {category!r}; expected {ALL!r} or one of: "
                             f"{', '.join(self.categories()) or 'none (no sales yet)'}")
        return category

    def history(self, category: str | None = None) -> pd.DataFrame:
        """Units sold per complete month (rows, every month present) and category (columns)."""
        category = self._check_category(category)
        demand = self._demand()[1]
        wide = demand.pivot(index="month", columns="key", values="units").fillna(0).astype(np.int64)
        wide.columns.name = "category"
        return wide[[category]] if category else wide

    def products(self, category: str | None = None) -> pd.DataFrame:
        """Products with sales (``product_id``, ``name``, ``category``, ``units``), by name."""
        category = self._check_category(category)
        products = self._demand()[2]
        table = products.groupby("key").agg(name=("name", "last"), category=("category", "last"),
                                            units=("units", "sum")).reset_index(names="product_id")
        if category:
            table = table[table["category"] == category]
        return table.sort_values(["name", "product_id"], kind="stable").reset_index(drop=True)

    # --- the model ---------------------------------------------------------------------------------------------

    def model(self) -> ModelChoice:
        return self._cached(("model",), self._choose_model)

    def _choose_model(self) -> ModelChoice:
        from unseen.ml.training import TrendsParameters

        defaults = dict(TrendsParameters().__dict__)
        candidates = candidate_forecasters()
        default = default_model()
        default_name = next((name for name, model in candidates.items() if type(model) is type(default)),
                            type(default).__name__)
        fallback = ModelChoice(default_name, default, "the package default (no promoted trends model; train one "
                               "with `unseen train trends`)", params=defaults)
        if self.registry is None:
            return fallback
        try:
            version = self.registry.promoted("trends")
            if version is None:
                return fallback
            version, outlook = self.registry.load_promoted("trends")
        except Exception as error:  # a broken registry must not take the dashboard down with it
            log.warning("could not load the promoted trends model: %s", error)
            return ModelChoice(default_name, default, f"the package default (the promoted trends model could not be "
                               f"loaded: {error})", params=defaults)
        method = str(getattr(outlook, "method", None) or version.params.get("method", ""))
        comparison = getattr(outlook, "comparison", None)
        if comparison is None and isinstance(version.metrics.get("comparison"), list):
            comparison = pd.DataFrame(version.metrics["comparison"]).set_index("model")
        params = {**defaults, **{k: v for k, v in version.params.items() if k in defaults}}
        source = f"promoted trends model {version.version} (trained {version.created:%Y-%m-%d}, data to " \
                 f"{str(version.data_range[1])[:10]})"
        if method not in candidates:
            log.warning("the promoted trends model chose %r, which is not a known forecaster; using %s", method,
                        default_name)
            return ModelChoice(default_name, default, f"the package default (the promoted model's {method!r} is "
                               "not a known forecaster)", version=version.version, comparison=comparison, params=params)
        return ModelChoice(method, candidates[method], source, version=version.version,
                           comparison=comparison if isinstance(comparison, pd.DataFrame) else None, params=params)

    # --- forecasts and rankings --------------------------------------------------------------------------------

    def category_forecast(self, h: int = 3, alpha: float = 0.2) -> pd.DataFrame:
        """The next ``h`` months per category: ``key``, ``month``, ``mean``, ``lower``, ``upper``, ``method``..."""
        self._require_forecastable()
        return self._cached(("categories", h, alpha), lambda: forecast_demand(
            self._demand()[1], self.model().forecaster, h=h, alpha=alpha))

    def _ranked_sellers(self, alpha: float) -> pd.DataFrame:
        # Every product ranked once (top = all of them), so that a category is a filter, not a new forecast.
        products = self._demand()[2]
        return self._cached(("sellers", alpha), lambda: next_month_sellers(
            products, self.model().forecaster, top=max(1, products["key"].nunique()), alpha=alpha))

    def sellers(self, alpha: float = 0.2, category: str | None = None,
                top: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Next month's best sellers (best first) and worst sellers (weakest first), never the same product in
        both: with fewer than ``2 * top`` products each list gets half of them."""
        category = self._check_category(category)
        self._require_forecastable()
        ranked = self._ranked_sellers(alpha)
        if category:
            ranked = ranked[ranked["category"] == category]
        n = int(ranked["key"].nunique())
        top = int(top or self.model().params.get("top", 10))
        size = max(1, min(top, n // 2)) if n else 0
        best = ranked[ranked["group"] == "top"].head(size)
        worst = ranked[(ranked["group"] == "bottom") & ~ranked["key"].isin(best["key"])].head(size)
        return best.reset_index(drop=True), worst.reset_index(drop=True)

    def invest(self, alpha: float = 0.2, category: str | None = None, top: int = 15) -> pd.DataFrame:
        """Where more stock pays over the next three months: :func:`invest_ranking`, best expected value first."""
        category = self._check_category(category)
        self._require_forecastable()
        share = float(self.model().params.get("margin_share", 0.3))
        ranking = self._cached(("invest", alpha), lambda: invest_ranking(
            self._demand()[2], margin_share=share, model_factory=self.model().forecaster, alpha=alpha))
        if category:
            ranking = ranking[ranking["category"] == category]
        return ranking.head(top).reset_index(drop=True)

    def comparison(self) -> ModelComparison:
        """The model comparison: the promoted model's own, or a backtest of every candidate on category demand."""
        return self._cached(("comparison",), self._compare)

    def _compare(self) -> ModelComparison:
        choice = self.model()
        target = 1 - float(choice.params.get("alpha", 0.2))
        if choice.comparison is not None:
            return ModelComparison(choice.comparison, pd.DataFrame(index=choice.comparison.index),
                                   pd.Series(dtype=np.int64), choice.source, choice.name, target)
        status = self.status()
        if status.months < MIN_COMPARISON_MONTHS:
            raise NotEnoughHistory(
                f"The model comparison backtests the last {COMPARISON_TEST_MONTHS} months, each from at least a "
                f"year of history: it needs {MIN_COMPARISON_MONTHS} complete months; the shop has {status.months}.")
        categories = self._demand()[1]
        detail = compare_models(demand_series(categories), candidate_forecasters(), test_size=COMPARISON_TEST_MONTHS,
                                alpha=1 - target)
        classes = classify_demand(categories)["demand_class"]
        detail["demand_class"] = detail["series"].map(classes)
        by_class, counts = {}, {}
        for demand_class in CLASS_ORDER:
            part = detail[detail["demand_class"] == demand_class]
            try:
                scores = summarise_comparison(part) if len(part) else None
            except ValueError:
                scores = None
            if scores is not None:
                by_class[demand_class], counts[demand_class] = scores["mase"], int(scores["n_series"].iloc[0])
        try:
            summary = summarise_comparison(detail)
        except ValueError:
            reasons = sorted(set(detail.loc[detail["error"] != "", "error"]))[:3]
            raise NotEnoughHistory("No category could be backtested by every model: " + "; ".join(reasons)) from None
        source = (f"backtest here on the last {COMPARISON_TEST_MONTHS} months of category demand (no promoted "
                  "trends model)")
        return ModelComparison(summary, pd.DataFrame(by_class).reindex(summary.index),
                               pd.Series(counts, dtype=np.int64), source, choice.name, target)

    def product_outlook(self, product_id: int, h: int = 3, alpha: float = 0.2) -> ProductOutlook:
        """One product's history and forecast; a clear ValueError for an id without sales."""
        products = self._demand()[2]
        known = products["key"].unique()
        if isinstance(product_id, bool) or not isinstance(product_id, Integral) or product_id not in known:
            example = ", ".join(str(k) for k in sorted(known)[:5])
            raise ValueError(f"unknown product id {product_id!r}: no product with that id has sales; expected one of "
                             f"the {len(known)} product ids with sales" + (f" (such as {example})" if example else ""))
        product_id = int(product_id)
        rows = products[products["key"] == product_id]
        self._require_forecastable()
        forecast = self._cached(("product", product_id, h, alpha), lambda: forecast_demand(
            rows, self.model().forecaster, h=h, alpha=alpha))
        history = demand_series(rows)[product_id]
        return ProductOutlook(product_id, str(rows["name"].iloc[-1]), str(rows["category"].iloc[-1]), history,
                              forecast[["month", "mean", "lower", "upper"]], str(forecast["demand_class"].iloc[0]),
                              str(forecast["method"].iloc[0]))


# --- figures -------------------------------------------------------------------------------------------------------


def category_colours(categories: list[str]) -> dict[str, tuple]:
    """One colour per category, the same in every figure (matplotlib's tab20, by sorted name)."""
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    return {name: palette(i % 20) for i, name in enumerate(sorted(categories))}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _date_axis(axis) -> None:
    # Fixed half-year ticks: the automatic date locators dominate the drawing time of the small multiples.
    from matplotlib.dates import DateFormatter, MonthLocator

    axis.xaxis.set_major_locator(MonthLocator(bymonth=(1, 7)))
    axis.xaxis.set_major_formatter(DateFormatter("%b %Y"))
    axis.grid(axis="y", alpha=0.3)


def history_figure_png(history: pd.DataFrame, *, colours: dict[str, tuple], title: str) -> bytes:
    """Units sold per month, stacked by category (one category: its bars), as PNG bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.6), dpi=96, layout="constrained")
    axis = figure.subplots()
    months = history.index.to_numpy()
    if history.shape[1] == 1:
        name = history.columns[0]
        axis.bar(months, history[name].to_numpy(), width=np.timedelta64(25, "D"), color=colours.get(name),
                 label=name)
    else:
        axis.stackplot(months, *(history[c].to_numpy() for c in history.columns), labels=list(history.columns),
                       colors=[colours.get(c) for c in history.columns], alpha=0.9)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axis.set_ylabel("units sold per month")
    axis.set_title(title, fontsize=10)
    _date_axis(axis)
    return _png(figure)


def _forecast_panel(axis, actual: pd.Series, forecast: pd.DataFrame, *, colour, label: str) -> None:
    recent = actual.iloc[-24:]
    axis.plot(recent.index, recent.to_numpy(), color=colour, linewidth=1.6)
    months = forecast["month"].to_numpy()
    # The dashed line starts at the last actual month so the eye follows it on.
    axis.plot(np.concatenate([recent.index.to_numpy()[-1:], months]),
              np.concatenate([recent.to_numpy()[-1:], forecast["mean"].to_numpy()]),
              color=colour, linestyle="--", marker="o", markersize=3, linewidth=1.4)
    axis.fill_between(months, forecast["lower"].to_numpy(dtype=float), forecast["upper"].to_numpy(dtype=float),
                      color=colour, alpha=0.25, linewidth=0, label=label)
    axis.set_ylim(bottom=0)
    _date_axis(axis)


def forecast_figure_png(history: pd.DataFrame, forecast: pd.DataFrame, *, colours: dict[str, tuple],
                        interval: str) -> bytes:
    """Per category the last two years of units (solid) and the forecast (dashed) in its shaded interval."""
    from matplotlib.figure import Figure

    names = list(history.columns)
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    height = 3.4 if rows == 1 else 2.2 * rows + 0.5
    figure = Figure(figsize=(11, height), dpi=96)
    # Margins by hand: tight or constrained layout would take longer than drawing the panels.
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.45 / height, top=1 - 0.55 / height, hspace=0.5,
                           wspace=0.22)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, name in zip(axes, names, strict=False):
        part = forecast[forecast["key"] == name]
        _forecast_panel(axis, history[name], part, colour=colours.get(name), label=interval)
        method = str(part["method"].iloc[0]) if len(part) else ""
        axis.set_title(f"{name} ({method})", fontsize=9)
        axis.tick_params(labelsize=7)
    for axis in axes[len(names):]:
        axis.set_visible(False)
    axes[0].legend(loc="upper left", fontsize=7, frameon=False)
    figure.suptitle(f"Units per month: actual (solid), forecast (dashed), {interval} (shaded)", fontsize=10)
    return _png(figure)


def product_figure_png(outlook: ProductOutlook, *, interval: str) -> bytes:
    """One product's monthly units (bars) and its forecast with the interval, as PNG bytes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.2), dpi=96, layout="constrained")
    axis = figure.subplots()
    # A width in days: on microsecond timestamps a bare number would be microseconds wide.
    axis.bar(outlook.history.index.to_numpy(), outlook.history.to_numpy(), width=np.timedelta64(25, "D"),
             color="#9ecae1", label="units sold")
    forecast = outlook.forecast
    months = forecast["month"].to_numpy()
    axis.fill_between(months, forecast["lower"].to_numpy(dtype=float), forecast["upper"].to_numpy(dtype=float),
                      color="#e6550d", alpha=0.2, linewidth=0, step="mid", label=interval)
    axis.plot(months, forecast["mean"].to_numpy(), color="#e6550d", marker="o", linestyle="--", label="forecast")
    axis.set_ylim(bottom=0)
    axis.set_ylabel("units per month")
    axis.set_title(f"{outlook.name} (#{outlook.product_id}, {outlook.category}): {outlook.demand_class} demand, "
                   f"forecast by {outlook.method}", fontsize=10)
    axis.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(axis)
    return _png(figure)


# --- tables --------------------------------------------------------------------------------------------------------


def _units(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.1f}" if abs(value) < 10 else f"{value:,.0f}"


def _pounds(cents: float, *, signed: bool = False) -> str:
    if cents is None or not np.isfinite(cents):
        return "-"
    sign = ("+" if cents > 0 else "-" if cents < 0 else "") if signed else ("-" if cents < 0 else "")
    return f"{sign}£{abs(cents) / 100:,.2f}"


def _interval(lower: float, upper: float) -> str:
    return "-" if not (np.isfinite(lower) and np.isfinite(upper)) else f"{_units(lower)} to {_units(upper)}"


def sellers_table(sellers: pd.DataFrame) -> pd.DataFrame:
    """What the dashboard shows of :meth:`TrendsData.sellers`: text columns, best (or weakest) first."""
    return pd.DataFrame({
        "#": sellers["rank"].astype(str), "id": sellers["key"].astype(str), "product": sellers["name"],
        "category": sellers["category"], "forecast units": [_units(v) for v in sellers["mean"]],
        "interval": [_interval(lo, up) for lo, up in zip(sellers["lower"], sellers["upper"], strict=True)],
        "last month": sellers["last_units"].astype(str), "demand": sellers["demand_class"],
        "method": sellers["method"]})


def invest_table(ranking: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "id": ranking["key"].astype(str), "product": ranking["name"], "category": ranking["category"],
        "next 3 months": [_units(v) for v in ranking["forecast_units"]],
        "interval": [_interval(lo, up) for lo, up in zip(ranking["forecast_lower"], ranking["forecast_upper"],
                                                          strict=True)],
        "last 3 months": [_units(v) for v in ranking["baseline_units"]],
        "growth": [("+" if v > 0 else "") + _units(v) for v in ranking["growth_units"]],
        "margin / unit": [_pounds(v) for v in ranking["margin_cents"]],
        "expected value": [_pounds(v, signed=True) for v in ranking["expected_value_cents"]],
        "value range": [f"{_pounds(lo, signed=True)} to {_pounds(up, signed=True)}" for lo, up in
                        zip(ranking["value_lower_cents"], ranking["value_upper_cents"], strict=True)],
        "demand": ranking["demand_class"]})


def comparison_table(comparison: ModelComparison) -> pd.DataFrame:
    """One row per model, best mean MASE first: the overall scores, then the MASE per demand class."""
    summary = comparison.summary
    table = pd.DataFrame({"model": [("✓ " if name == comparison.chosen else "") + str(name)
                                    for name in summary.index]})
    scores = (("mase", "MASE", "{:.3f}"), ("smape", "sMAPE %", "{:.1f}"),
              ("coverage", f"coverage (target {comparison.target_coverage:.0%})", "{:.0%}"),
              ("n_series", "series", "{:.0f}"))
    for column, label, form in scores:
        if column in summary:  # a comparison recorded by an older training may lack a score
            table[label] = [form.format(v) if np.isfinite(v) else "-" for v in summary[column].astype(float)]
    for demand_class in comparison.by_class.columns:
        label = f"MASE {demand_class} ({comparison.class_counts.get(demand_class, 0)})"
        table[label] = [f"{v:.3f}" if np.isfinite(v) else "-" for v in comparison.by_class[demand_class]]
    return table


# --- the widgets ---------------------------------------------------------------------------------------------------


class _Notes(logging.Handler):
    """Keeps what the forecasting code logs while the dashboard computes (a series that fell back to seasonal
    naive, a failed backtest), so it is listed under the status line instead of spilling into the page."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        source = logging.getLogger("unseen.ml.trends")
        source.addHandler(self)
        try:
            yield
        finally:
            source.removeHandler(self)


TABLE_STYLE = """<style>
.unseen-trends table {margin: 4px 0 8px 0}
.unseen-trends th {text-align: left; background: #f0f0f0; padding: 3px 8px; white-space: nowrap}
.unseen-trends td {padding: 2px 8px; border-bottom: 1px solid #e5e5e5; line-height: 1.4}
.unseen-trends tbody tr:nth-child(even) {background: #fafafa}
</style>"""


def _note(text: str, css_class: str = "unseen-trends-note") -> str:
    return f'<p class="{css_class}" style="color:#555;font-size:12px;margin:2px 0">{text}</p>'


def _problem(text: str) -> str:
    return f'<p class="unseen-trends-message unseen-empty" style="color:#a63603">{html.escape(text)}</p>'


class TrendsDashboard:
    """Controls, figures and tables of the demand-trends dashboard.

    Display :attr:`view` and call :meth:`load`: it computes everything once (a few seconds, the backtest most of
    them) and fills the widgets; the controls then update only what they change. Every section catches its own
    failure and says what went wrong in place, so one section that cannot be computed leaves the others standing.
    """

    def __init__(self, data: TrendsData):
        import ipywidgets as w

        self.data = data
        self.notes = _Notes()
        self._quiet = False
        self._colours: dict[str, tuple] = {}
        self.category = w.Dropdown(options=[ALL], value=ALL, description="Category")
        self.category.add_class("unseen-trends-category")
        self.horizon = w.Dropdown(options=[(f"{h} month{'s' if h > 1 else ''}", h) for h in HORIZONS], value=3,
                                  description="Forecast")
        self.horizon.add_class("unseen-trends-horizon")
        self.interval = w.Dropdown(options=list(COVERAGES.items()), value=0.2, description="Interval")
        self.interval.add_class("unseen-trends-interval")
        self.reload_button = w.Button(description="Reload", icon="refresh", tooltip="Read the orders again")
        self.reload_button.add_class("unseen-trends-reload")
        self.status = w.HTML(_note("Loading the sales and computing the forecasts…", "unseen-trends-loading"))
        self.status.add_class("unseen-trends-status")
        self.notes_view = w.HTML()
        self.history_chart, self.history_note = self._figure("unseen-trends-history")
        self.forecast_chart, self.forecast_note = self._figure("unseen-trends-forecast")
        self.best, self.worst = w.HTML(), w.HTML()
        self.best.add_class("unseen-trends-best")
        self.worst.add_class("unseen-trends-worst")
        self.invest = w.HTML()
        self.invest.add_class("unseen-trends-invest")
        self.product = w.Dropdown(options=[], description="Product", layout=w.Layout(width="520px"))
        self.product.add_class("unseen-trends-product-select")
        self.product_caption = w.HTML()
        self.product_caption.add_class("unseen-trends-product-caption")
        self.product_chart, self.product_note = self._figure("unseen-trends-product")
        self.comparison = w.HTML()
        self.comparison.add_class("unseen-trends-comparison")

        self.category.observe(lambda _c: self._quietly(self.show_category), names="value")
        self.horizon.observe(lambda _c: self._quietly(self.show_forecasts), names="value")
        self.interval.observe(lambda _c: self._quietly(self.show_everything), names="value")
        self.product.observe(lambda _c: self._quietly(self.show_product), names="value")
        self.reload_button.on_click(lambda _b: self.load(reload=True))

        heading = w.HTML
        self.content = w.VBox([
            heading("<h3>Sales history by category</h3>"), self.history_chart, self.history_note,
            heading("<h3>Forecast per category</h3>"), self.forecast_chart, self.forecast_note,
            heading("<h3>Next month's best sellers</h3>"), self.best,
            heading("<h3>Next month's worst sellers</h3>"), self.worst,
            heading("<h3>Where more stock pays: the next 3 months</h3>"), self.invest,
            heading("<h3>One product</h3>"), self.product, self.product_caption, self.product_chart,
            self.product_note,
            heading("<h3>Model comparison</h3>"), self.comparison,
        ])
        self.view = w.VBox([w.HTML(TABLE_STYLE),
                            w.HBox([self.category, self.horizon, self.interval, self.reload_button]),
                            self.status, self.notes_view, self.content])
        self.view.add_class("unseen-trends")

    @staticmethod
    def _figure(css_class: str):
        import ipywidgets as w

        chart = w.Image(format="png", layout=w.Layout(max_width="100%"))
        chart.add_class(css_class)
        note = w.HTML()
        note.add_class(f"{css_class}-note")
        return chart, note

    @property
    def selected_category(self) -> str | None:
        return None if self.category.value == ALL else self.category.value

    @property
    def interval_label(self) -> str:
        return next(label for label, alpha in COVERAGES.items() if alpha == self.interval.value)

    # --- sections ------------------------------------------------------------------------------------------------

    def _section(self, name: str, show: Callable[[], None], fail: Callable[[str], None]) -> None:
        """Run one section; a shortage of history or any failure becomes a message in that section."""
        try:
            with self.notes.collecting():
                show()
        except NotEnoughHistory as exc:
            fail(_problem(str(exc)))
        except Exception as exc:  # an operator sees why a section is missing, never a traceback
            log.exception("trends dashboard: %s failed", name)
            fail(_problem(f"Could not compute the {name}: {type(exc).__name__}: {exc}"))

    def _image_failed(self, chart, note) -> Callable[[str], None]:
        def fail(message: str) -> None:
            chart.value, chart.layout.display = b"", "none"
            note.value = message
        return fail

    @staticmethod
    def _show_image(chart, note, png: bytes, caption: str) -> None:
        chart.value, chart.layout.display = png, None
        note.value = _note(caption)

    def show_history(self) -> None:
        def show():
            history = self.data.history(self.selected_category)
            if history.empty:
                raise NotEnoughHistory("No complete month of sales yet.")
            title = f"Units sold per month, {self.category.value}"
            self._show_image(self.history_chart, self.history_note,
                             history_figure_png(history, colours=self._colours, title=title),
                             "Complete months only: the month of the newest order is left out until it ends.")
        self._section("sales history", show, self._image_failed(self.history_chart, self.history_note))

    def show_forecasts(self) -> None:
        def show():
            history = self.data.history(self.selected_category)
            forecast = self.data.category_forecast(self.horizon.value, self.interval.value)
            forecast = forecast[forecast["key"].isin(history.columns)]
            png = forecast_figure_png(history, forecast, colours=self._colours, interval=self.interval_label)
            below = sorted(forecast.loc[forecast["mean"] > forecast["upper"], "key"].unique())
            self._show_image(self.forecast_chart, self.forecast_note, png,
                             f"The {self.interval_label.replace(' interval', '')} prediction interval should hold "
                             f"the month's units {self.interval_label[:2]} times in 100. In brackets: the method "
                             f"(smooth and erratic demand: {html.escape(self.data.model().name)}; intermittent and "
                             "lumpy demand: TSB)." + (
                                 f" For {html.escape(', '.join(below))} the interval lies below the forecast: the "
                                 "average is lifted by rare large months, and most months sell less." if below else ""))
        self._section("category forecasts", show, self._image_failed(self.forecast_chart, self.forecast_note))
        self.show_product()

    def show_sellers(self) -> None:
        def show():
            best, worst = self.data.sellers(self.interval.value, self.selected_category)
            empty = "No product with sales in this selection."
            self.best.value = html_table(sellers_table(best), empty=empty, css_class="unseen-trends-best-table")
            self.worst.value = html_table(sellers_table(worst), empty=empty, css_class="unseen-trends-worst-table")

        def fail(message: str) -> None:
            self.best.value, self.worst.value = message, ""
        self._section("best and worst sellers", show, fail)

    def show_invest(self) -> None:
        def show():
            ranking = self.data.invest(self.interval.value, self.selected_category)
            share = float(self.data.model().params.get("margin_share", 0.3))
            self.invest.value = _note(
                f"Expected growth in units (next 3 months over the last 3) times the margin per unit, taken as "
                f"{share:.0%} of the average selling price. The value range comes from the forecast interval; "
                "a wide one means a gamble.") + html_table(invest_table(ranking), empty="No product in this "
                                                          "selection.", css_class="unseen-trends-invest-table")
        self._section("invest ranking", show, lambda message: setattr(self.invest, "value", message))

    def show_comparison(self) -> None:
        def show():
            comparison = self.data.comparison()
            self.comparison.value = _note(
                f"From the {html.escape(comparison.source)}. MASE is the forecast error over the in-sample "
                "seasonal naive error (below 1 beats it); sMAPE in percent; coverage is the share of held-out "
                "months inside the interval. ✓ marks the model the dashboard forecasts with. " + (
                    "Per demand class: the categories of that class (count in brackets)." if len(
                        comparison.by_class.columns) else "The promoted model records its scores over all "
                    "categories only, not per demand class.")) + html_table(
                comparison_table(comparison), empty="No model scored.", css_class="unseen-trends-comparison-table")
        self._section("model comparison", show, lambda message: setattr(self.comparison, "value", message))

    def show_product(self) -> None:
        def show():
            if self.product.value is None:
                raise NotEnoughHistory("No product with sales in this selection.")
            outlook = self.data.product_outlook(self.product.value, self.horizon.value, self.interval.value)
            next_month = outlook.forecast.iloc[0]
            self.product_caption.value = (
                f'<p class="unseen-trends-product-summary" data-product-id="{outlook.product_id}"><b>'
                f"{html.escape(outlook.name)}</b> ({html.escape(outlook.category)}): "
                f"{int(outlook.history.sum()):,} units sold in {len(outlook.history)} months; next month "
                f"{_units(next_month['mean'])} expected, {self.interval_label} "
                f"{_interval(next_month['lower'], next_month['upper'])}.</p>")
            sparse = outlook.demand_class in ("intermittent", "lumpy")
            self._show_image(self.product_chart, self.product_note,
                             product_figure_png(outlook, interval=self.interval_label),
                             "A product that sells in few months most likely sells nothing in any one month, so "
                             "its interval can lie below the average it is expected to sell." if sparse else "")

        def fail(message: str) -> None:
            self.product_caption.value = ""
            self._image_failed(self.product_chart, self.product_note)(message)
        self._section("product forecast", show, fail)

    def show_category(self) -> None:
        """A new category: its products in the drill-down, and every section for it."""
        try:
            products = self.data.products(self.selected_category)
        except Exception:
            log.exception("trends dashboard: listing products failed")
            products = pd.DataFrame(columns=["product_id", "name", "category", "units"])
        options = [(f"{name} · {category} (#{pid})", int(pid)) for pid, name, category in
                   products[["product_id", "name", "category"]].itertuples(index=False)]
        ids = [pid for _label, pid in options]
        keep = self.product.value if self.product.value in ids else None
        busiest = int(products.loc[products["units"].idxmax(), "product_id"]) if len(products) else None
        self.product.options = options
        self.product.value = keep if keep is not None else busiest
        self.show_history()
        self.show_forecasts()
        self.show_sellers()
        self.show_invest()

    def show_everything(self) -> None:
        self.show_category()
        self.show_comparison()

    def _quietly(self, show: Callable[[], None]) -> None:
        # Setting the product options inside a refresh fires the product callback; one refresh is enough.
        if self._quiet:
            return
        self._quiet = True
        try:
            show()
        finally:
            self._quiet = False

    # --- loading -------------------------------------------------------------------------------------------------

    def load(self, *, reload: bool = False) -> None:
        """Read the sales, compute every section and show them; safe to call again (Reload)."""
        started = time.perf_counter()
        self.status.value = _note("Loading the sales and computing the forecasts…", "unseen-trends-loading")
        if reload:
            self.data.reload()
        self.notes.messages.clear()
        try:
            with self.notes.collecting():
                status = self.data.status()
                categories = self.data.categories()
                model = self.data.model()
        except Exception as exc:
            log.exception("trends dashboard: reading the sales failed")
            self.status.value = _problem(f"Could not read the sales: {type(exc).__name__}: {exc}")
            self.content.layout.display = "none"
            return
        self._colours = category_colours(categories)
        if status.state == "empty":
            self.content.layout.display = "none"
            self.status.value = (f'<p class="unseen-trends-ready unseen-trends-message unseen-empty" '
                                 f'data-state="empty">{html.escape(status.message)}</p>')
            return
        self.content.layout.display = None
        self._quiet = True
        try:
            self.category.options = [ALL, *categories]
            if self.category.value not in self.category.options:
                self.category.value = ALL
            self.show_everything()
        finally:
            self._quiet = False
        message = html.escape(status.message)
        if status.state == "ready":
            message += f" Forecasts by {html.escape(model.name)}, {html.escape(model.source)}."
        self.status.value = (f'<p class="unseen-trends-ready" data-state="{status.state}" data-months="{status.months}"'
                             f' style="margin:4px 0">{message} <span style="color:#777">'
                             f"({time.perf_counter() - started:.1f} s)</span></p>")
        self.notes_view.value = self._notes_html()

    def _notes_html(self) -> str:
        if not self.notes.messages:
            return ""
        items = "".join(f"<li>{html.escape(m)}</li>" for m in self.notes.messages[:50])
        return (f'<details class="unseen-trends-notes" style="font-size:12px;color:#555"><summary>'
                f"{len(self.notes.messages)} note(s) from the forecasting</summary><ul>{items}</ul></details>")


def from_settings(settings=None) -> TrendsDashboard:
    """The dashboard on the configured database (``UNSEEN_DATABASE_URL``) and model registry
    (``UNSEEN_MODELS_DIR``); call :meth:`TrendsDashboard.load` after displaying its view."""
    from unseen.config import Settings
    from unseen.db import make_engine
    from unseen.ml.registry import ModelRegistry

    settings = settings or Settings()
    return TrendsDashboard(TrendsData(make_engine(settings.resolved_database_url),
                                      registry=ModelRegistry(settings.models_dir)))
