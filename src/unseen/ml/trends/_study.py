"""The demand-forecasting study of notebook 05: backtests kept forecast by forecast, scored per demand class, routed
by class as :func:`forecast_demand` routes them, and judged by the decision they feed (next month's best and worst
sellers), plus the UCI Online Retail sample as order lines, to set a real shop's sparsity beside the seeded one's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ._backtest import BACKTEST_COLUMNS, ModelSpec, _scores, rolling_origin
from ._ranking import DEMAND_CLASSES, classify_demand

FORECAST_ROW_COLUMNS = ("model", "series", *BACKTEST_COLUMNS, "rmsse_scale")
REGULAR_CLASSES = ("smooth", "erratic")
RETAIL_STOCK_CODE = r"\d{5}[A-Z]?"
"""Stock codes of products in the UCI Online Retail data; postage, fees and adjustments have other codes."""


def backtest_forecasts(
    series_dict: Mapping[object, pd.Series],
    models: Mapping[str, ModelSpec],
    *,
    test_size: int,
    horizon: int = 1,
    alpha: float = 0.2,
    m: int = 12,
    progress: Callable[[str, object], None] | None = None,
) -> pd.DataFrame:
    """Every forecast of a rolling-origin backtest of every model on every series, one row each.

    :func:`compare_models` reduces each backtest to scores; a study also needs the forecasts themselves: to score
    them per demand class, to route them by class, and to rank products by them month by month. Each series ends
    with ``test_size`` origins, as in :func:`compare_models`.

    Parameters
    ----------
    series_dict : mapping of name to pandas.Series
        The monthly series.
    models : mapping of name to BaseForecaster or callable
        The candidates.
    test_size : int
        Origins at the end of each series (``initial = len(y) - test_size - horizon + 1``).
    horizon, alpha, m
        As in :func:`rolling_origin`.
    progress : callable, optional
        Called as ``progress(model_name, series_name)`` after each backtest.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``series``, the columns of :func:`rolling_origin` (``origin``, ``month``, ``h``, ``actual``,
        ``mean``, ``lower``, ``upper``, ``scale``) and ``rmsse_scale``, the root mean squared in-sample seasonal
        naive error of the training window: the squared-error twin of ``scale`` (see :func:`score_forecasts`).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from unseen.ml.trends import SeasonalNaive, TSB
    >>> y = pd.Series(np.arange(30.0), index=pd.date_range("2023-01-01", periods=30, freq="MS"))
    >>> rows = backtest_forecasts({"demo": y}, {"naive": SeasonalNaive(), "tsb": TSB()}, test_size=3)
    >>> rows.groupby("model", sort=False)["month"].count().to_dict()
    {'naive': 3, 'tsb': 3}
    >>> rows.loc[rows["model"] == "naive", "mean"].tolist()  # the same months one year earlier
    [15.0, 16.0, 17.0]
    """
    if isinstance(test_size, bool) or not isinstance(test_size, Integral) or test_size < 1:
        raise ValueError(f"test_size must be a positive integer (origins per series); got {test_size!r}.")
    if not models:
        raise ValueError("models is empty; give at least one name -> forecaster.")
    frames = []
    for model_name, model in models.items():
        for series_name, y in series_dict.items():
            initial = len(y) - test_size - horizon + 1
            if initial < 1:
                raise ValueError(f"series {series_name!r} has {len(y)} months; {test_size} origins forecasting "
                                 f"{horizon} month(s) each need at least {test_size + horizon}.")
            try:
                backtest = rolling_origin(y, model, initial=initial, horizon=horizon, alpha=alpha, m=m)
            except ValueError as error:
                raise ValueError(f"the backtest of {model_name} on series {series_name!r} failed: {error}") from None
            values = np.asarray(y, dtype=np.float64)
            # rolling_origin writes the origins in order, each with its horizon rows.
            squared_scales = [seasonal_rms_scale(values[:end], m) for end in range(initial, len(values) - horizon + 1)]
            frames.append(backtest.assign(model=model_name, series=series_name,
                                          rmsse_scale=np.repeat(squared_scales, horizon)))
            if progress is not None:
                progress(model_name, series_name)
    if not frames:
        raise ValueError("series_dict is empty; there is nothing to backtest.")
    rows = pd.concat(frames, ignore_index=True)
    rows["model"] = rows["model"].astype("str")
    return rows[list(FORECAST_ROW_COLUMNS)]


def seasonal_rms_scale(y_train: object, m: int = 12) -> float:
    """Root mean squared error of the in-sample seasonal naive forecast, lag ``m`` (lag 1 on a history of no more
    than ``m`` values, as :func:`seasonal_scale` falls back): the denominator of the RMSSE.

    Examples
    --------
    >>> round(seasonal_rms_scale([1, 3, 2, 6]), 4)  # too short for m=12: errors 2, -1, 4
    2.6458
    """
    values = np.asarray(y_train, dtype=np.float64)
    if len(values) <= m:
        m = 1
    if len(values) <= m:
        return float("nan")
    return float(np.sqrt(np.mean((values[m:] - values[:-m]) ** 2)))


def classes_at_origins(demand: pd.DataFrame, origins: Iterable[object], value: str = "units") -> pd.DataFrame:
    """The demand class of every key as it looked at each origin: :func:`classify_demand` on the months up to it.

    A forecast made at an origin can only know the history up to that origin, so the class that routes it must be
    read from that history too, as :func:`forecast_demand` would have read it on that day.

    Parameters
    ----------
    demand : pandas.DataFrame
        A tidy table from :func:`monthly_demand` (``month``, ``key``, ``value``).
    origins : iterable of timestamps
        Last training months.
    value : str, default="units"

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``key``, ``adi``, ``cv2`` and ``demand_class``.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2025-01-01", periods=6, freq="MS")
    >>> demand = pd.DataFrame({"month": months, "key": "lamp", "units": [0, 0, 0, 1, 0, 9]})
    >>> classes_at_origins(demand, [months[3], months[5]])["demand_class"].tolist()
    ['intermittent', 'lumpy']
    """
    frames = []
    for origin in pd.DatetimeIndex(list(origins)).unique():
        history = demand[demand["month"] <= origin]
        if history.empty:
            raise ValueError(f"no demand on or before the origin {origin:%Y-%m}; the history starts later.")
        classes = classify_demand(history, value=value)
        frames.append(classes[["adi", "cv2", "demand_class"]].reset_index().assign(origin=origin))
    if not frames:
        raise ValueError("origins is empty; give the last training month of each backtest origin.")
    return pd.concat(frames, ignore_index=True)[["origin", "key", "adi", "cv2", "demand_class"]]


def route_by_class(
    forecasts: pd.DataFrame, classes: pd.DataFrame, routing: Mapping[str, str], name: str
) -> pd.DataFrame:
    """The forecasts a class-routed forecaster would have made: per origin and series, those of the model that the
    series' demand class at that origin is routed to.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        Rows of :func:`backtest_forecasts` holding every model ``routing`` names.
    classes : pandas.DataFrame
        :func:`classes_at_origins` of the same series and origins.
    routing : mapping of demand class to model name
        For example ``{"smooth": "linear regression", "erratic": "linear regression", "intermittent": "TSB", ...}``.
    name : str
        The routed forecaster's name in the ``model`` column.

    Returns
    -------
    pandas.DataFrame
        The chosen rows, ``model`` set to ``name``, with ``routed_to`` (the model used) and ``demand_class``.

    Examples
    --------
    >>> import pandas as pd
    >>> origin = pd.Timestamp("2025-06-01")
    >>> forecasts = pd.DataFrame({"model": ["a", "b", "a", "b"], "series": ["mug", "mug", "lamp", "lamp"],
    ...                           "origin": origin, "mean": [5.0, 6.0, 1.0, 0.5]})
    >>> classes = pd.DataFrame({"origin": origin, "key": ["mug", "lamp"], "demand_class": ["smooth", "lumpy"]})
    >>> routed = route_by_class(forecasts, classes, {"smooth": "a", "lumpy": "b"}, "a+b")
    >>> routed[["series", "routed_to", "mean"]].to_numpy().tolist()
    [['mug', 'a', 5.0], ['lamp', 'b', 0.5]]
    """
    unknown = sorted(set(routing.values()) - set(forecasts["model"]))
    if unknown:
        raise ValueError(f"routing names model(s) {unknown} that the forecasts do not hold; they hold "
                         f"{sorted(forecasts['model'].unique())}.")
    lookup = classes.rename(columns={"key": "series"})[["origin", "series", "demand_class"]]
    rows = forecasts.merge(lookup, on=["origin", "series"], how="left", validate="many_to_one")
    missing = rows["demand_class"].isna()
    if missing.any():
        first = rows[missing].iloc[0]
        raise ValueError(f"no demand class for series {first['series']!r} at origin {first['origin']:%Y-%m}; "
                         "classify the same series and origins as the forecasts.")
    unrouted = sorted(set(rows["demand_class"]) - set(routing))
    if unrouted:
        raise ValueError(f"routing has no model for demand class(es) {unrouted}.")
    rows["routed_to"] = rows["demand_class"].map(routing).astype("str")
    chosen = rows[rows["model"] == rows["routed_to"]].assign(model=name)
    return chosen.reset_index(drop=True)


def score_forecasts(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per model and series: the scores of :func:`compare_models` plus the mean error and a squared-error scale.

    ``mase``, ``smape``, ``coverage`` and ``n_forecasts`` are computed exactly as :func:`compare_models` computes
    them, so :func:`summarise_comparison` and :func:`choose_model` read this table too. Added: ``bias`` (mean of
    forecast minus actual: a stock plan built on a biased forecast is short or over on average) and ``rmsse``, the
    root mean squared error over the root mean squared in-sample seasonal naive error (the M5 competition's
    measure). An absolute error is smallest at the median, which is zero for a product that sells in fewer than
    half of its months, so MASE rewards forecasting nothing for them; a squared error is smallest at the mean, the
    quantity a stock plan needs.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"model": "m", "series": "x", "actual": [0.0, 0.0, 4.0], "mean": [1.0, 1.0, 1.0],
    ...                      "lower": 0.0, "upper": 2.0, "scale": 2.0, "rmsse_scale": 2.0})
    >>> score_forecasts(rows)[["mase", "bias", "rmsse", "coverage"]].round(3).to_dict("records")
    [{'mase': 0.833, 'bias': -0.333, 'rmsse': 0.957, 'coverage': 0.667}]
    """
    if "rmsse_scale" not in forecasts:
        raise ValueError("forecasts has no rmsse_scale column; make them with backtest_forecasts.")
    records = []
    for (model, series), rows in forecasts.groupby(["model", "series"], sort=False):
        error = (rows["mean"] - rows["actual"]).to_numpy(dtype=np.float64)
        scale = rows["rmsse_scale"].to_numpy(dtype=np.float64)
        # A zero scale (a constant history) is scored as MASE scores it: exact is 0, anything else undefined.
        with np.errstate(divide="ignore", invalid="ignore"):
            squared = np.where(scale > 0, error**2 / scale**2, np.where(error == 0, 0.0, np.nan))
        records.append({"model": model, "series": series, **_scores(rows), "bias": float(np.mean(error)),
                        "rmsse": float(np.sqrt(np.mean(squared))), "error": ""})
    table = pd.DataFrame(records)
    table["model"] = table["model"].astype("str")
    table["error"] = table["error"].astype("str")
    return table


SCORE_COLUMNS = ("mase", "rmsse", "smape", "coverage", "bias")


def summarise_scores(scores: pd.DataFrame, columns: tuple[str, ...] = SCORE_COLUMNS) -> pd.DataFrame:
    """Mean scores per model over the series on which every model has a finite MASE, best MASE first.

    :func:`summarise_comparison` for any score columns: a model backtested on fewer series (or failing on a hard
    one) is compared on the series all models share, never flattered by the ones it skipped.

    Returns
    -------
    pandas.DataFrame
        Indexed by model: the ``columns`` and ``n_series``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"model": ["a", "b", "a"], "series": ["x", "x", "y"], "mase": [1.0, 2.0, 9.0]})
    >>> summarise_scores(scores, columns=("mase",)).to_dict("index")  # b has no score on y
    {'a': {'mase': 1.0, 'n_series': 1}, 'b': {'mase': 2.0, 'n_series': 1}}
    """
    wide = scores.pivot_table(index="series", columns="model", values="mase", aggfunc="first", dropna=False)
    common = wide.index[np.isfinite(wide.to_numpy(dtype=np.float64)).all(axis=1)]
    if len(common) == 0:
        raise ValueError("no series has a finite MASE for every model; see the error column of the scores.")
    kept = scores[scores["series"].isin(common)]
    summary = kept.groupby("model", sort=False)[list(columns)].mean().sort_values("mase", kind="stable")
    return summary.assign(n_series=len(common))


def summarise_by_class(
    scores: pd.DataFrame, classes: pd.Series, columns: tuple[str, ...] = SCORE_COLUMNS
) -> pd.DataFrame:
    """:func:`summarise_scores` per demand class: within each class, the series on which every model has a finite
    MASE, best MASE first.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`score_forecasts` (or :func:`compare_models`) rows.
    classes : pandas.Series
        Demand class by series.
    columns : tuple of str
        Scores to average.

    Returns
    -------
    pandas.DataFrame
        ``demand_class``, ``model``, the ``columns``, ``n_series`` and ``rank`` (1 for the lowest MASE).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"model": ["a", "b", "a", "b"], "series": ["x", "x", "y", "y"],
    ...                        "mase": [1.0, 0.5, 2.0, 3.0]})
    >>> summary = summarise_by_class(scores, pd.Series({"x": "smooth", "y": "lumpy"}), columns=("mase",))
    >>> summary[["demand_class", "model", "rank"]].to_numpy().tolist()
    [['smooth', 'b', 1], ['smooth', 'a', 2], ['lumpy', 'a', 1], ['lumpy', 'b', 2]]
    """
    frames = []
    scored = scores.assign(demand_class=scores["series"].map(classes))
    for demand_class in [name for name in DEMAND_CLASSES if name in set(scored["demand_class"].dropna())]:
        part = scored[scored["demand_class"] == demand_class]
        try:
            summary = summarise_scores(part, columns)
        except ValueError:
            continue
        summary = summary.assign(rank=np.arange(1, len(summary) + 1))
        frames.append(summary.reset_index().assign(demand_class=demand_class))
    if not frames:
        raise ValueError("no demand class has a series with a finite MASE for every model.")
    result = pd.concat(frames, ignore_index=True)
    return result[["demand_class", "model", *columns, "n_series", "rank"]]


def paired_difference(
    scores: pd.DataFrame,
    model: str,
    baseline: str,
    metric: str = "mase",
    n_resamples: int = 2000,
    random_state: int = 0,
) -> dict[str, float]:
    """How much ``model`` beats ``baseline`` on ``metric``, series by series, and whether that is more than luck.

    The difference ``model - baseline`` per series (negative: ``model`` is better), its mean with a 95% percentile
    bootstrap interval over series, and the share of series on which ``model`` is better (ties count half). Series
    share their months, so their errors are not independent and the interval is on the narrow side.

    Returns
    -------
    dict
        ``model``, ``baseline``, ``metric``, ``n_series``, ``mean_difference``, ``ci_low``, ``ci_high``,
        ``relative_difference`` (the mean difference over the baseline's mean), ``share_better`` and ``significant``
        (the interval excludes zero).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 4, "series": list("wxyz") * 2,
    ...                        "mase": [0.8, 0.7, 0.9, 0.6, 1.0, 1.0, 1.0, 1.0]})
    >>> result = paired_difference(scores, "a", "b")
    >>> round(result["mean_difference"], 3), result["share_better"], result["significant"]
    (-0.25, 1.0, True)
    """
    wide = scores.pivot_table(index="series", columns="model", values=metric, aggfunc="first")
    for name in (model, baseline):
        if name not in wide:
            raise ValueError(f"no scores for model {name!r}; the table has {sorted(wide.columns)}.")
    pair = wide[[model, baseline]].dropna()
    if pair.empty:
        raise ValueError(f"{model!r} and {baseline!r} share no series with a finite {metric}.")
    difference = (pair[model] - pair[baseline]).to_numpy(dtype=np.float64)
    rng = np.random.default_rng(random_state)
    means = difference[rng.integers(0, len(difference), size=(n_resamples, len(difference)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    baseline_mean = float(pair[baseline].mean())
    return {"model": model, "baseline": baseline, "metric": metric, "n_series": len(difference),
            "mean_difference": float(difference.mean()), "ci_low": float(low), "ci_high": float(high),
            "relative_difference": float(difference.mean() / baseline_mean) if baseline_mean else float("nan"),
            "share_better": float(np.mean(difference < 0) + 0.5 * np.mean(difference == 0)),
            "significant": bool(high < 0 or low > 0)}


def coverage_band(n_forecasts: int, nominal: float, level: float = 0.95) -> tuple[float, float]:
    """The range of coverage that ``n_forecasts`` independent forecasts of intervals with ``nominal`` coverage
    stay inside with probability ``level`` (binomial quantiles). Errors of one month move together across
    products, so the real range is wider.

    Examples
    --------
    >>> coverage_band(100, 0.8)
    (0.72, 0.88)
    """
    if isinstance(n_forecasts, bool) or not isinstance(n_forecasts, Integral) or n_forecasts < 1:
        raise ValueError(f"n_forecasts must be a positive integer; got {n_forecasts!r}.")
    low, high = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], n_forecasts, nominal)
    return float(low / n_forecasts), float(high / n_forecasts)


def seller_ranking_backtest(
    forecasts: pd.DataFrame,
    demand: pd.DataFrame,
    top: int = 10,
    active_months: int = 12,
) -> pd.DataFrame:
    """How well each model's forecasts picked next month's best and worst sellers, origin by origin.

    At each origin the products on sale (with a sale in the ``active_months`` up to the origin) are ranked by
    forecast, ties going to the product that sold more (best) or less (worst) in the last three months, as
    :func:`next_month_sellers` breaks them. The picks are then scored against what sold in the forecast month.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        One-month-ahead rows of :func:`backtest_forecasts` (or :func:`route_by_class`) on product series.
    demand : pandas.DataFrame
        The product-level table from :func:`monthly_demand` the series came from.
    top : int, default=10
        How many best and how many worst sellers are picked.
    active_months : int, default=12
        A product is ranked when it sold at least once in the last ``active_months`` months up to the origin.

    Returns
    -------
    pandas.DataFrame
        One row per model and month: ``n_products``, ``best_precision`` (share of the picked best sellers among the
        ``top`` that sold most, ties at the cut included), ``best_capture`` (units the picks sold over units the
        actual ``top`` sold), ``random_capture`` (what ``top`` products picked at random would capture on average),
        ``worst_units`` (mean units a picked worst seller sold), ``worst_zero_share`` (share of
        picked worst sellers that sold nothing), ``mean_units`` (mean units of all ranked products) and
        ``spearman`` (rank correlation of forecast and actual over all ranked products; NaN when either is constant).

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2025-01-01", periods=3, freq="MS")
    >>> demand = pd.DataFrame({"month": list(months) * 3, "key": [1] * 3 + [2] * 3 + [3] * 3,
    ...                        "units": [9, 9, 9, 1, 2, 1, 0, 1, 0]})
    >>> forecasts = pd.DataFrame({"model": "m", "series": [1, 2, 3], "origin": months[1], "month": months[2],
    ...                           "h": 1, "actual": [9.0, 1.0, 0.0], "mean": [8.5, 1.5, 0.4]})
    >>> seller_ranking_backtest(forecasts, demand, top=1)[["best_precision", "worst_units"]].to_dict("records")
    [{'best_precision': 1.0, 'worst_units': 0.0}]
    """
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r}.")
    if (forecasts["h"] != 1).any():
        raise ValueError("seller_ranking_backtest ranks one-month-ahead forecasts; keep the rows with h == 1.")
    records = []
    for origin in sorted(forecasts["origin"].unique()):
        history = demand[demand["month"] <= origin]
        active_window = history[history["month"] > origin - pd.DateOffset(months=active_months)]
        sold = active_window.groupby("key")["units"].sum()
        active = set(sold.index[sold > 0])
        recent = history[history["month"] > origin - pd.DateOffset(months=3)].groupby("key")["units"].sum()
        at_origin = forecasts[(forecasts["origin"] == origin) & forecasts["series"].isin(active)]
        for (model, month), rows in at_origin.groupby(["model", "month"], sort=False):
            rows = rows.assign(_recent=rows["series"].map(recent).fillna(0).to_numpy())
            if len(rows) < 2 * top:
                raise ValueError(f"{len(rows)} products on sale at {pd.Timestamp(origin):%Y-%m}; picking {top} best "
                                 f"and {top} worst sellers needs at least {2 * top}.")
            best = rows.sort_values(["mean", "_recent"], ascending=False, kind="stable").head(top)
            worst = rows.sort_values(["mean", "_recent"], ascending=True, kind="stable").head(top)
            actual = rows["actual"].to_numpy(dtype=np.float64)
            cut = np.sort(actual)[::-1][top - 1]
            best_possible = np.sort(actual)[::-1][:top].sum()
            records.append({
                "model": model, "origin": pd.Timestamp(origin), "month": pd.Timestamp(month), "n_products": len(rows),
                "best_precision": float(np.mean(best["actual"] >= cut)),
                "best_capture": float(best["actual"].sum() / best_possible) if best_possible > 0 else float("nan"),
                "random_capture": float(top * actual.mean() / best_possible) if best_possible > 0 else float("nan"),
                "worst_units": float(worst["actual"].mean()),
                "worst_zero_share": float(np.mean(worst["actual"] == 0)),
                "mean_units": float(actual.mean()),
                "spearman": (float(stats.spearmanr(rows["mean"], actual).statistic)
                             if np.ptp(rows["mean"].to_numpy()) > 0 and np.ptp(actual) > 0 else float("nan")),
            })
    if not records:
        raise ValueError("no forecasts for products on sale; check that forecasts and demand hold the same keys.")
    table = pd.DataFrame(records)
    table["model"] = table["model"].astype("str")
    return table


def class_routing(regular: str, sparse: str) -> dict[str, str]:
    """The routing :func:`forecast_demand` applies: ``regular`` for smooth and erratic demand, ``sparse`` for
    intermittent, lumpy and never-sold keys.

    Examples
    --------
    >>> class_routing("linear regression", "TSB")["lumpy"]
    'TSB'
    """
    return {demand_class: regular if demand_class in REGULAR_CLASSES else sparse for demand_class in DEMAND_CLASSES}


def retail_order_lines(path: str | Path) -> pd.DataFrame:
    """The UCI Online Retail sample's sales as the order lines :func:`load_order_lines` returns.

    Cancellations and returns (negative quantities), free lines and non-product codes (postage, manual
    adjustments: stock codes other than five digits and an optional letter) are dropped. Invoice times are taken as
    UTC (they are UK local times); ``product_id`` numbers the stock codes in sorted order; ``category`` comes from
    the description's keywords, as the seeded catalogue assigns it.

    Parameters
    ----------
    path : path-like
        ``online_retail_uci_sample40k.csv`` in the reference data folder.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`load_order_lines`, oldest first.
    """
    from unseen.simulate.catalogue import categorise

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no UCI Online Retail sample at {path}; expected the reference data's "
                         "online-retail-sample/online_retail_uci_sample40k.csv.")
    raw = pd.read_csv(path, dtype={"InvoiceNo": "str", "StockCode": "str", "Description": "str"})
    missing = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path.name} lacks column(s) {sorted(missing)}; is it the UCI Online Retail data?")
    sales = raw[(raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)
                & raw["StockCode"].str.fullmatch(RETAIL_STOCK_CODE, na=False)
                & raw["InvoiceNo"].str.fullmatch(r"\d+", na=False)]
    description = sales["Description"].fillna("").str.strip()
    codes = pd.Index(sorted(sales["StockCode"].unique()))
    lines = pd.DataFrame({
        "ordered_at": pd.to_datetime(sales["InvoiceDate"]).dt.tz_localize("UTC").astype("datetime64[us, UTC]"),
        "order_id": sales["InvoiceNo"].astype(np.int64),
        "product_id": codes.get_indexer(sales["StockCode"]).astype(np.int64),
        "name": description.astype("str"),
        "category": description.map(categorise).astype("str"),
        "quantity": sales["Quantity"].astype(np.int64),
        "unit_price_cents": (sales["UnitPrice"] * 100).round().astype(np.int64),
    })
    lines["revenue_cents"] = lines["quantity"] * lines["unit_price_cents"]
    return lines.sort_values("ordered_at", kind="stable").reset_index(drop=True)
