"""Rolling-origin backtests, the MASE and sMAPE metrics, and picking the model that forecasts best."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._base import BaseForecaster, check_alpha, check_horizon, check_monthly_series

logger = logging.getLogger(__name__)

ModelSpec = BaseForecaster | Callable[[], BaseForecaster]
BACKTEST_COLUMNS = ("origin", "month", "h", "actual", "mean", "lower", "upper", "scale")
COMPARISON_COLUMNS = ("model", "series", "mase", "smape", "coverage", "n_forecasts", "error")


def _make(model: ModelSpec) -> BaseForecaster:
    """A fresh, unfitted forecaster from an instance (cloned) or a factory (called)."""
    if isinstance(model, BaseForecaster):
        return clone(model)
    if callable(model):
        made = model()
        if not isinstance(made, BaseForecaster):
            raise ValueError(f"make_model must return a BaseForecaster; it returned {type(made).__name__}.")
        return made
    raise ValueError(f"a model must be a BaseForecaster or a function that makes one; got {type(model).__name__}.")


def seasonal_scale(y_train: object, m: int = 12) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast: the MASE denominator.

    Falls back to ``m = 1`` (the naive forecast) when the history has no more than ``m`` values.

    Examples
    --------
    >>> round(seasonal_scale([1, 3, 2, 6], m=12), 4)  # too short for m=12: |3-1|, |2-3|, |6-2|
    2.3333
    """
    values = np.asarray(y_train, dtype=np.float64)
    if len(values) <= m:
        m = 1
    if len(values) <= m:
        return float("nan")
    return float(np.mean(np.abs(values[m:] - values[:-m])))


def mase(y_true: object, y_pred: object, y_train: object, m: int = 12) -> float:
    """Mean absolute scaled error: forecast MAE over the in-sample seasonal naive MAE.

    Below 1 means better than the seasonal naive forecast was in sample. The scale uses lag ``m`` and falls
    back to lag 1 when ``y_train`` has no more than ``m`` values. A zero scale (a constant history) gives 0
    when the forecast is exact and NaN otherwise: the ratio is undefined.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values.
    y_train : array-like
        The history the forecast was made from.
    m : int, default=12
        Season length of the scale.

    Returns
    -------
    float

    Examples
    --------
    >>> mase([10, 12], [11, 15], y_train=[8, 10, 9, 11], m=12)  # MAE 2, naive in-sample MAE 5/3
    1.2
    >>> mase([0, 0], [0, 0], y_train=[0, 0, 0])
    0.0
    """
    actual, forecast = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if actual.shape != forecast.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {actual.shape} and {forecast.shape}.")
    error = float(np.mean(np.abs(actual - forecast)))
    scale = seasonal_scale(y_train, m)
    if not np.isfinite(scale):
        return float("nan")
    if scale == 0:
        return 0.0 if error == 0 else float("nan")
    return error / scale


def smape(y_true: object, y_pred: object) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``200 * mean(|y - f| / (|y| + |f|))``, where a month with ``y = f = 0`` counts as a perfect 0 rather
    than 0/0: sparse products have many such months.

    Examples
    --------
    >>> round(smape([100, 0, 0], [110, 0, 5]), 4)  # 200 * (10/210 + 0 + 5/5) / 3
    69.8413
    """
    actual, forecast = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if actual.shape != forecast.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {actual.shape} and {forecast.shape}.")
    if actual.size == 0:
        return float("nan")
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return float(200 * np.mean(ratio))


def rolling_origin(
    y: pd.Series,
    make_model: ModelSpec,
    initial: int,
    horizon: int = 1,
    step: int = 1,
    alpha: float = 0.2,
    m: int = 12,
) -> pd.DataFrame:
    """Refit on a growing window and forecast the months after each origin.

    The first model sees the first ``initial`` months, the next ``initial + step``, and so on while a whole
    ``horizon`` of actual months follows the window, so every origin contributes the same horizons.

    Parameters
    ----------
    y : pandas.Series
        Monthly series (DatetimeIndex or monthly PeriodIndex).
    make_model : BaseForecaster or callable
        A forecaster (cloned for every origin) or a function returning a new one.
    initial : int
        Months in the first training window.
    horizon : int, default=1
        Months forecast from each origin.
    step : int, default=1
        Months between origins.
    alpha : float, default=0.2
        One minus the coverage of the prediction intervals.
    m : int, default=12
        Season length of the MASE scale stored in ``scale``.

    Returns
    -------
    pandas.DataFrame
        One row per origin and horizon: ``origin`` (last training month), ``month`` (forecast month), ``h``,
        ``actual``, ``mean``, ``lower``, ``upper`` and ``scale`` (the MASE denominator of that window).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from unseen.ml.trends import SeasonalNaive
    >>> y = pd.Series(np.arange(30.0), index=pd.date_range("2023-01-01", periods=30, freq="MS"))
    >>> result = rolling_origin(y, SeasonalNaive(), initial=24, horizon=2, step=2)
    >>> result[["h", "actual", "mean"]].to_numpy().tolist()
    [[1.0, 24.0, 12.0], [2.0, 25.0, 13.0], [1.0, 26.0, 14.0], [2.0, 27.0, 15.0], [1.0, 28.0, 16.0], [2.0, 29.0, 17.0]]
    """
    values, months = check_monthly_series(y)
    horizon, alpha = check_horizon(horizon), check_alpha(alpha)
    for name, value in (("initial", initial), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if initial + horizon > len(values):
        raise ValueError(
            f"initial={initial} plus horizon={horizon} months need a series of at least {initial + horizon} "
            f"months; got {len(values)}."
        )
    _make(make_model)  # fail early on a bad model
    rows = []
    for end in range(initial, len(values) - horizon + 1, step):
        model = _make(make_model).fit(y.iloc[:end])
        forecast = model.predict(horizon, alpha=alpha)
        scale = seasonal_scale(values[:end], m)
        for h in range(horizon):
            rows.append(
                (months[end - 1], months[end + h], h + 1, values[end + h], *forecast.iloc[h].to_numpy(), scale)
            )
    result = pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS))
    for column in ("origin", "month"):
        result[column] = pd.PeriodIndex(result[column], freq="M").to_timestamp(how="start")
    return result


def _scores(backtest: pd.DataFrame) -> dict[str, float]:
    """MASE, sMAPE and interval coverage of one backtest."""
    error = np.abs(backtest["actual"] - backtest["mean"]).to_numpy()
    scale = backtest["scale"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(scale > 0, error / scale, np.where(error == 0, 0.0, np.nan))
    inside = (backtest["lower"] <= backtest["actual"]) & (backtest["actual"] <= backtest["upper"])
    return {
        "mase": float(np.mean(scaled)),
        "smape": smape(backtest["actual"], backtest["mean"]),
        "coverage": float(inside.mean()) if len(backtest) else float("nan"),
        "n_forecasts": len(backtest),
    }


def compare_models(
    series_dict: Mapping[object, pd.Series],
    models: Mapping[str, ModelSpec],
    *,
    initial: int | None = None,
    test_size: int | None = None,
    horizon: int = 1,
    step: int = 1,
    alpha: float = 0.2,
    m: int = 12,
    progress: Callable[[str, object], None] | None = None,
) -> pd.DataFrame:
    """Backtest every model on every series and score each pair.

    Parameters
    ----------
    series_dict : mapping of name to pandas.Series
        The series, for example :func:`demand_series` of a category demand table.
    models : mapping of name to BaseForecaster or callable
        The candidates.
    initial : int, optional
        Months in the first training window of every series.
    test_size : int, optional
        Instead of ``initial``: how many origins each series ends with (``initial = len(y) - test_size -
        horizon + 1``), so series of different lengths are all tested on their last months.
    horizon, step, alpha, m
        As in :func:`rolling_origin`.
    progress : callable, optional
        Called as ``progress(model_name, series_name)`` after each backtest.

    Returns
    -------
    pandas.DataFrame
        One row per model and series: ``model``, ``series``, ``mase`` (mean over the forecasts of the error
        scaled by each origin's in-sample seasonal naive MAE), ``smape`` (percent), ``coverage`` (share of
        actuals inside the intervals), ``n_forecasts`` and ``error`` (empty, or why the backtest failed; the
        scores are then NaN).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from unseen.ml.trends import LinearSeasonalRegression, SeasonalNaive
    >>> rng = np.random.default_rng(1)
    >>> months = pd.date_range("2022-01-01", periods=40, freq="MS")
    >>> y = pd.Series(50 + 3 * np.arange(40) + 10 * np.sin(2 * np.pi * months.month / 12) + rng.normal(0, 2, 40),
    ...               index=months)
    >>> table = compare_models({"demo": y}, {"naive": SeasonalNaive(), "linear": LinearSeasonalRegression()},
    ...                        test_size=6)
    >>> table[["model", "n_forecasts"]].to_numpy().tolist()
    [['naive', 6], ['linear', 6]]
    >>> choose_model(table)
    'linear'
    """
    if (initial is None) == (test_size is None):
        raise ValueError("give exactly one of initial (months in the first window) and test_size (origins).")
    if not models:
        raise ValueError("models is empty; give at least one name -> forecaster.")
    rows = []
    for model_name, model in models.items():
        for series_name, y in series_dict.items():
            start = initial if initial is not None else len(y) - test_size - horizon + 1
            try:
                backtest = rolling_origin(y, model, initial=start, horizon=horizon, step=step, alpha=alpha, m=m)
                rows.append({"model": model_name, "series": series_name, **_scores(backtest), "error": ""})
            except ValueError as error:
                logger.warning("backtest of %s on %s failed: %s", model_name, series_name, error)
                rows.append({"model": model_name, "series": series_name, "mase": np.nan, "smape": np.nan,
                             "coverage": np.nan, "n_forecasts": 0, "error": str(error)})
            if progress is not None:
                progress(model_name, series_name)
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table["n_forecasts"] = table["n_forecasts"].astype(np.int64)
    table["error"] = table["error"].astype("str")
    return table


def summarise_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Mean MASE, sMAPE and coverage per model, best MASE first.

    Only series on which every model has a finite MASE are averaged, so a model that failed on a hard
    series is not flattered by skipping it; ``n_series`` says how many that was.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"model": ["a", "a", "b", "b"], "series": ["x", "y", "x", "y"],
    ...                       "mase": [1.0, 3.0, 0.5, float("nan")], "smape": [10.0, 30.0, 5.0, float("nan")],
    ...                       "coverage": [0.8, 0.6, 0.9, float("nan")]})
    >>> summarise_comparison(table)[["mase", "n_series"]].to_dict("index")
    {'b': {'mase': 0.5, 'n_series': 1}, 'a': {'mase': 1.0, 'n_series': 1}}
    """
    scores = table.pivot_table(index="series", columns="model", values="mase", aggfunc="first", dropna=False)
    common = scores.index[np.isfinite(scores.to_numpy(dtype=np.float64)).all(axis=1)]
    if len(common) == 0:
        raise ValueError("no series has a finite MASE for every model; see the error column of the table.")
    kept = table[table["series"].isin(common)]
    summary = kept.groupby("model", sort=False)[["mase", "smape", "coverage"]].mean()
    summary["n_series"] = len(common)
    return summary.sort_values("mase", kind="stable")


def choose_model(table: pd.DataFrame) -> str:
    """The model with the lowest mean MASE in a :func:`compare_models` table (see :func:`summarise_comparison`).

    Examples
    --------
    >>> import pandas as pd
    >>> choose_model(pd.DataFrame({"model": ["a", "b"], "series": ["x", "x"], "mase": [0.9, 0.7],
    ...                            "smape": [9.0, 7.0], "coverage": [0.8, 0.8]}))
    'b'
    """
    return str(summarise_comparison(table).index[0])


def candidate_forecasters() -> dict[str, BaseForecaster]:
    """The forecaster families the studies compare, each with its package defaults (no tuning on the backtest)."""
    from ._croston import TSB, Croston
    from ._linear import LinearSeasonalRegression
    from ._sarima import SARIMA
    from ._seasonal_naive import SeasonalNaive

    return {
        "seasonal naive": SeasonalNaive(),
        "linear regression": LinearSeasonalRegression(),
        "SARIMA(1,0,0)(0,1,1)12": SARIMA(),
        "Croston (SBA)": Croston(variant="sba"),
        "TSB": TSB(),
    }
