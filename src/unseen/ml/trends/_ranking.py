"""What will sell next month, and where stock money earns most: demand classes, per-key forecasts, rankings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._backtest import ModelSpec, _make
from ._base import check_alpha, check_horizon
from ._croston import TSB, Croston
from ._data import demand_series
from ._linear import LinearSeasonalRegression
from ._seasonal_naive import SeasonalNaive

logger = logging.getLogger(__name__)

DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "none")
ADI_CUTOFF = 1.32
"""Syntetos–Boylan cut-off of the average inter-demand interval, in months."""
CV2_CUTOFF = 0.49
"""Syntetos–Boylan cut-off of the squared coefficient of variation of the demand sizes."""
SPARSE_CLASSES = ("intermittent", "lumpy", "none")
SPARSE_METHODS = ("tsb", "croston", "pool")


def default_model() -> LinearSeasonalRegression:
    """The forecaster the rankings use for smooth and erratic demand unless told otherwise.

    Linear regression on trend, Fourier season (harmonics by AICc) and the holiday indicator: it follows both a
    trend and a season, fits in about a millisecond, and ``bench/bench_trends.py`` measures it against seasonal
    naive, SARIMA, Croston and TSB. Pass ``model_factory=SARIMA()`` for the slower alternative.
    """
    return LinearSeasonalRegression()


def classify_demand(
    demand: pd.DataFrame | pd.Series,
    value: str = "units",
    adi_cutoff: float = ADI_CUTOFF,
    cv2_cutoff: float = CV2_CUTOFF,
) -> pd.DataFrame:
    """Classify each key's demand pattern as Syntetos and Boylan do, by ADI and CV².

    ADI is the average inter-demand interval, months over months with a sale; CV² is the squared coefficient
    of variation of the sizes of the non-zero demands. Smooth demand (ADI < 1.32, CV² < 0.49) suits the
    usual forecasters; erratic (sizes vary), intermittent (many empty months) and lumpy (both) less so, and
    the last two call for Croston-type methods. A key that never sold is ``"none"``.

    Parameters
    ----------
    demand : pandas.DataFrame or pandas.Series
        A tidy table with ``key`` and ``value`` columns (zero months included, as :func:`monthly_demand`
        gives it), or one series (then its name is the key).
    value : str, default="units"
        Column to classify.
    adi_cutoff, cv2_cutoff : float
        The class boundaries.

    Returns
    -------
    pandas.DataFrame
        Indexed by key: ``months``, ``demand_months`` (months with a sale), ``adi``, ``cv2`` and
        ``demand_class``.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2025-01-01", periods=8, freq="MS")
    >>> demand = pd.DataFrame({"month": list(months) * 2, "key": ["mug"] * 8 + ["lamp"] * 8,
    ...                        "units": [5, 6, 5, 4, 6, 5, 5, 4] + [0, 0, 9, 0, 0, 1, 0, 0]})
    >>> classify_demand(demand)[["adi", "demand_class"]].to_dict("index")
    {'lamp': {'adi': 4.0, 'demand_class': 'lumpy'}, 'mug': {'adi': 1.0, 'demand_class': 'smooth'}}
    """
    if isinstance(demand, pd.Series):
        demand = pd.DataFrame({"key": demand.name, value: demand.to_numpy()})
    if not isinstance(demand, pd.DataFrame) or "key" not in demand or value not in demand:
        raise ValueError(f"demand must be a DataFrame with columns 'key' and {value!r}, or a Series.")
    rows = {}
    for key, values in demand.groupby("key", sort=True)[value]:
        sizes = values.to_numpy(dtype=np.float64)
        sizes = sizes[sizes != 0]
        months, demand_months = len(values), len(sizes)
        if demand_months == 0:
            rows[key] = (months, 0, np.inf, np.nan, "none")
            continue
        adi = months / demand_months
        cv2 = float(np.var(sizes) / np.mean(sizes) ** 2)
        if adi < adi_cutoff:
            demand_class = "smooth" if cv2 < cv2_cutoff else "erratic"
        else:
            demand_class = "intermittent" if cv2 < cv2_cutoff else "lumpy"
        rows[key] = (months, demand_months, adi, cv2, demand_class)
    result = pd.DataFrame.from_dict(
        rows, orient="index", columns=["months", "demand_months", "adi", "cv2", "demand_class"]
    )
    result.index.name = "key"
    result["demand_class"] = result["demand_class"].astype("str")
    return result


def _sparse_model(sparse: str) -> ModelSpec:
    return TSB() if sparse == "tsb" else Croston(variant="sba")


def _fit_predict(spec: ModelSpec, y: pd.Series, h: int, alpha: float, key: object) -> tuple[pd.DataFrame, str]:
    """Forecast one series; a model that cannot fit it (too short a history) gives way to seasonal naive."""
    model = _make(spec)
    try:
        model.fit(y)
    except ValueError as error:
        logger.warning("%s cannot forecast %r (%s); using seasonal naive for it", type(model).__name__, key, error)
        model = SeasonalNaive().fit(y)
    return model.predict(h, alpha=alpha), type(model).__name__


def forecast_demand(
    demand: pd.DataFrame,
    model_factory: ModelSpec | None = None,
    h: int = 1,
    alpha: float = 0.2,
    sparse: str = "tsb",
    value: str = "units",
) -> pd.DataFrame:
    """Forecast every key of a demand table, with the method its demand class calls for.

    Smooth and erratic keys get ``model_factory``; intermittent, lumpy and never-sold keys get TSB
    (``sparse="tsb"``), Croston with the SBA correction (``"croston"``), or their share of their category's
    forecast (``"pool"``: the category total is forecast with ``model_factory`` and split by each product's
    share of the category's units over the last twelve months, bounds included). A key whose history is too
    short for its model is forecast by seasonal naive instead, with a logged warning.

    Parameters
    ----------
    demand : pandas.DataFrame
        A tidy table from :func:`monthly_demand` (``month``, ``key``, ``units``; ``category`` for pooling).
    model_factory : BaseForecaster or callable, optional
        Forecaster for smooth and erratic demand; default :func:`default_model`.
    h : int, default=1
        Months ahead.
    alpha : float, default=0.2
        One minus the interval coverage.
    sparse : {"tsb", "croston", "pool"}, default="tsb"
        Method for sparse demand.
    value : str, default="units"
        Column to forecast.

    Returns
    -------
    pandas.DataFrame
        One row per key and future month: ``key``, ``month``, ``h``, ``mean``, ``lower``, ``upper``,
        ``demand_class`` and ``method`` (the forecaster's class name, or ``pool``).
    """
    h, alpha = check_horizon(h), check_alpha(alpha)
    if sparse not in SPARSE_METHODS:
        raise ValueError(f"sparse must be one of {SPARSE_METHODS}; got {sparse!r}.")
    if sparse == "pool" and "category" not in demand:
        raise ValueError("sparse='pool' needs a product-level demand table with a 'category' column.")
    model_factory = default_model if model_factory is None else model_factory
    classes = classify_demand(demand, value=value)
    series = demand_series(demand, value=value)
    if not series:
        raise ValueError("demand is empty; there is nothing to forecast.")
    pooled: dict[object, pd.DataFrame] = {}
    shares: dict[object, float] = {}
    category_of = demand.groupby("key")["category"].last() if "category" in demand else pd.Series(dtype=object)
    if sparse == "pool":
        by_category = demand.groupby(["category", "month"], sort=True)[value].sum().reset_index()
        category_series = demand_series(by_category.rename(columns={"category": "key"}), value=value)
        recent = demand[demand["month"] > demand["month"].max() - pd.DateOffset(months=12)]
        per_key = recent.groupby("key")[value].sum()
        per_category = recent.groupby("category")[value].sum()
        for key, category in category_of.items():
            total = per_category.get(category, 0)
            shares[key] = float(per_key.get(key, 0) / total) if total > 0 else 0.0

    frames = []
    for key, y in series.items():
        demand_class = classes.at[key, "demand_class"]
        if demand_class in SPARSE_CLASSES and sparse == "pool":
            category = category_of[key]
            if category not in pooled:
                pooled[category], _ = _fit_predict(model_factory, category_series[category], h, alpha, category)
            forecast, method = pooled[category] * shares[key], "pool"
        else:
            spec = _sparse_model(sparse) if demand_class in SPARSE_CLASSES else model_factory
            forecast, method = _fit_predict(spec, y, h, alpha, key)
        frames.append(
            forecast.reset_index(names="month").assign(
                key=key, h=np.arange(1, h + 1), demand_class=demand_class, method=method
            )
        )
    result = pd.concat(frames, ignore_index=True)
    return result[["key", "month", "h", "mean", "lower", "upper", "demand_class", "method"]]


def _describe_keys(demand: pd.DataFrame) -> pd.DataFrame:
    """Category and name per key when the table has them (product level)."""
    columns = [column for column in ("category", "name") if column in demand]
    if not columns:
        return pd.DataFrame(index=pd.Index(demand["key"].unique(), name="key"))
    return demand.sort_values("month", kind="stable").groupby("key")[columns].last()


def next_month_sellers(
    demand: pd.DataFrame,
    model_factory: ModelSpec | None = None,
    top: int = 10,
    alpha: float = 0.2,
    sparse: str = "tsb",
) -> pd.DataFrame:
    """The products expected to sell most and least next month, with prediction intervals.

    Parameters
    ----------
    demand : pandas.DataFrame
        Product-level table from ``monthly_demand(lines, level="product")`` (category level works too).
    model_factory : BaseForecaster or callable, optional
        Forecaster for smooth and erratic demand; default :func:`default_model`. Sparse demand is handled
        as ``sparse`` says (see :func:`forecast_demand`).
    top : int, default=10
        How many keys in each group. With fewer than ``2 * top`` keys the groups overlap.
    alpha : float, default=0.2
        One minus the interval coverage.
    sparse : {"tsb", "croston", "pool"}, default="tsb"

    Returns
    -------
    pandas.DataFrame
        ``group`` ("top" first, best seller first; then "bottom", weakest first), ``rank``, ``key``,
        ``category`` and ``name`` (when the table has them), ``month``, ``mean``, ``lower``, ``upper``,
        ``last_units`` (units in the last month), ``demand_class``, ``method``. Ties in the forecast go to
        the key that sold more (top) or less (bottom) in the last three months.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2024-01-01", periods=24, freq="MS")
    >>> rows = [{"month": m, "key": k, "category": "Kitchen", "name": f"Mug {k}", "units": int(rng.poisson(lam))}
    ...         for k, lam in [(1, 40), (2, 10), (3, 0.3)] for m in months]
    >>> sellers = next_month_sellers(pd.DataFrame(rows), top=1)
    >>> sellers[["group", "name", "method"]].to_numpy().tolist()
    [['top', 'Mug 1', 'LinearSeasonalRegression'], ['bottom', 'Mug 3', 'TSB']]
    """
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r}.")
    forecast = forecast_demand(demand, model_factory, h=1, alpha=alpha, sparse=sparse).set_index("key")
    last_month = demand["month"].max()
    last_units = demand[demand["month"] == last_month].groupby("key")["units"].sum()
    recent = demand[demand["month"] > last_month - pd.DateOffset(months=3)].groupby("key")["units"].sum()
    table = forecast.join(_describe_keys(demand)).assign(
        last_units=last_units.reindex(forecast.index).fillna(0).astype(np.int64),
        _recent=recent.reindex(forecast.index).fillna(0),
    )
    best = table.sort_values(["mean", "_recent"], ascending=False, kind="stable").head(top)
    worst = table.sort_values(["mean", "_recent"], ascending=True, kind="stable").head(top)
    groups = [part.assign(group=name, rank=np.arange(1, len(part) + 1)) for name, part in
              (("top", best), ("bottom", worst))]
    result = pd.concat(groups).reset_index(names="key")
    describe = [column for column in ("category", "name") if column in result]
    columns = ["group", "rank", "key", *describe, "month", "mean", "lower", "upper", "last_units", "demand_class",
               "method"]
    return result[columns].reset_index(drop=True)


def invest_ranking(
    demand: pd.DataFrame,
    margins: Mapping[object, float] | pd.Series | None = None,
    *,
    margin_share: float = 0.3,
    baseline: str = "recent",
    horizon: int = 3,
    model_factory: ModelSpec | None = None,
    alpha: float = 0.2,
    sparse: str = "tsb",
) -> pd.DataFrame:
    """Where more stock pays: expected growth in units times the margin per unit, with its uncertainty.

    Growth is the forecast units of the next ``horizon`` months minus a baseline: the last ``horizon``
    months (``baseline="recent"``), or the same months one year earlier (``"last_year"``, which takes the
    season out of the comparison). The margin per unit comes from ``margins``, or is ``margin_share`` of the
    key's average selling price (revenue over units in the history).

    The bounds add the monthly interval bounds, which assumes the months' errors move together: multi-month
    forecast errors mostly do, so the band is on the wide, careful side.

    Parameters
    ----------
    demand : pandas.DataFrame
        A tidy table from :func:`monthly_demand`, with ``units`` and ``revenue_cents``.
    margins : mapping or pandas.Series of key to cents per unit, optional
        Known margins; keys not in it fall back to ``margin_share`` of their price.
    margin_share : float, default=0.3
        Margin as a share of the average selling price.
    baseline : {"recent", "last_year"}, default="recent"
    horizon : int, default=3
        Months forecast and compared.
    model_factory, alpha, sparse
        As in :func:`forecast_demand`.

    Returns
    -------
    pandas.DataFrame
        One row per key, best expected value first: ``key``, ``category`` and ``name`` (when present),
        ``forecast_units``, ``forecast_lower``, ``forecast_upper``, ``baseline_units``, ``growth_units``,
        ``growth_share`` (growth over baseline; NaN on a zero baseline), ``margin_cents`` (per unit),
        ``expected_value_cents``, ``value_lower_cents``, ``value_upper_cents``, ``uncertainty_cents`` (the
        width of the value band), ``demand_class`` and ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2024-01-01", periods=24, freq="MS")
    >>> t = np.arange(24)
    >>> rows = [{"month": m, "key": key, "units": int(u), "revenue_cents": int(u) * price}
    ...         for key, level, slope, price in [("growing", 20, 5.0, 1000), ("flat", 40, 0.0, 1000)]
    ...         for m, u in zip(months, rng.poisson(level + slope * t))]
    >>> ranking = invest_ranking(pd.DataFrame(rows))
    >>> ranking["key"].tolist()
    ['growing', 'flat']
    >>> int(ranking["margin_cents"].iloc[0])
    300
    """
    horizon, alpha = check_horizon(horizon), check_alpha(alpha)
    if baseline not in ("recent", "last_year"):
        raise ValueError(f"baseline must be 'recent' or 'last_year'; got {baseline!r}.")
    if isinstance(margin_share, bool) or not isinstance(margin_share, Real) or not 0 <= margin_share <= 1:
        raise ValueError(f"margin_share must be a number from 0 to 1; got {margin_share!r}.")
    if margins is None and "revenue_cents" not in demand:
        raise ValueError("demand has no 'revenue_cents' column to price the keys; pass margins per key.")
    n_months = demand["month"].nunique()
    if baseline == "recent" and n_months < horizon:
        raise ValueError(f"baseline='recent' needs {horizon} months of history; demand has {n_months}.")
    if baseline == "last_year" and n_months < 12:
        raise ValueError(f"baseline='last_year' needs at least 12 months of history; demand has {n_months}.")

    forecast = forecast_demand(demand, model_factory, h=horizon, alpha=alpha, sparse=sparse)
    totals = forecast.groupby("key", sort=False).agg(
        forecast_units=("mean", "sum"), forecast_lower=("lower", "sum"), forecast_upper=("upper", "sum"),
        demand_class=("demand_class", "first"), method=("method", "first"),
    )
    last_month = demand["month"].max()
    if baseline == "recent":
        window = demand["month"] > last_month - pd.DateOffset(months=horizon)
    else:
        first = last_month + pd.DateOffset(months=1) - pd.DateOffset(months=12)
        window = (demand["month"] >= first) & (demand["month"] < first + pd.DateOffset(months=horizon))
    base = demand[window].groupby("key")["units"].sum().reindex(totals.index).fillna(0).astype(np.float64)

    if "revenue_cents" in demand:
        sold = demand.groupby("key")[["units", "revenue_cents"]].sum().reindex(totals.index)
        price = (sold["revenue_cents"] / sold["units"].where(sold["units"] > 0)).fillna(0.0)
        margin = margin_share * price
    else:
        margin = pd.Series(np.nan, index=totals.index)
    if margins is not None:
        known = pd.Series(margins, dtype=np.float64).reindex(totals.index)
        margin = known.fillna(margin)
    if margin.isna().any():
        missing = margin.index[margin.isna()].tolist()[:5]
        raise ValueError(f"no margin for key(s) {missing}; add them to margins or give demand revenue_cents.")

    table = totals.assign(baseline_units=base)
    table["growth_units"] = table["forecast_units"] - table["baseline_units"]
    table["growth_share"] = table["growth_units"] / table["baseline_units"].where(table["baseline_units"] > 0)
    table["margin_cents"] = margin
    table["expected_value_cents"] = table["growth_units"] * margin
    table["value_lower_cents"] = (table["forecast_lower"] - table["baseline_units"]) * margin
    table["value_upper_cents"] = (table["forecast_upper"] - table["baseline_units"]) * margin
    table["uncertainty_cents"] = table["value_upper_cents"] - table["value_lower_cents"]
    table = table.join(_describe_keys(demand)).reset_index(names="key")
    describe = [column for column in ("category", "name") if column in table]
    columns = ["key", *describe, "forecast_units", "forecast_lower", "forecast_upper", "baseline_units",
               "growth_units", "growth_share", "margin_cents", "expected_value_cents", "value_lower_cents",
               "value_upper_cents", "uncertainty_cents", "demand_class", "method"]
    return table[columns].sort_values("expected_value_cents", ascending=False, kind="stable").reset_index(drop=True)
