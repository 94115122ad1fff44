"""The contract every forecaster in this package keeps: predict(h) returns the mean forecast for the next h months
with lower and upper prediction-interval bounds."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

FORECAST_COLUMNS = ("mean", "lower", "upper")


def check_monthly_series(y: object, *, name: str = "y") -> tuple[np.ndarray, pd.PeriodIndex]:
    """Validate a monthly series and return its values and its months.

    Parameters
    ----------
    y : pandas.Series
        One value per month, indexed by a :class:`~pandas.PeriodIndex` of monthly periods or by a
        :class:`~pandas.DatetimeIndex` with one timestamp in each month (month starts, month ends or any
        day). The months must be consecutive and in order; values must be finite numbers.
    name : str, default="y"
        How error messages call the series.

    Returns
    -------
    values : ndarray of float64
    months : pandas.PeriodIndex
        The months as monthly periods.

    Raises
    ------
    ValueError
        If ``y`` is not a Series, is empty, has missing or infinite values, or its index is not a run of
        consecutive months.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([3, 4, 5], index=pd.date_range("2024-11-01", periods=3, freq="MS"))
    >>> values, months = check_monthly_series(y)
    >>> values.tolist(), [str(month) for month in months]
    ([3.0, 4.0, 5.0], ['2024-11', '2024-12', '2025-01'])
    """
    if not isinstance(y, pd.Series):
        raise ValueError(
            f"{name} must be a pandas Series indexed by months (DatetimeIndex or PeriodIndex); "
            f"got {type(y).__name__}."
        )
    if len(y) == 0:
        raise ValueError(f"{name} is empty; a forecaster needs at least one month of history.")
    if isinstance(y.index, pd.PeriodIndex):
        months = y.index.asfreq("M")
    elif isinstance(y.index, pd.DatetimeIndex):
        index = y.index.tz_convert(None) if y.index.tz is not None else y.index
        months = index.to_period("M")
    else:
        raise ValueError(
            f"{name} must be indexed by months (a DatetimeIndex or a monthly PeriodIndex); "
            f"got an index of type {type(y.index).__name__}."
        )
    steps = np.diff(months.asi8)
    if len(steps) and not np.all(steps == 1):
        where = int(np.flatnonzero(steps != 1)[0])
        raise ValueError(
            f"{name} must have one value for each consecutive month, in order; {months[where]} is followed by "
            f"{months[where + 1]}. Fill missing months (with zeros for sales) before fitting."
        )
    values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(values)):
        bad = months[int(np.flatnonzero(~np.isfinite(values))[0])]
        raise ValueError(f"{name} has a missing or infinite value (first in {bad}); every month needs a number.")
    return values, pd.PeriodIndex(months, freq="M")


def check_horizon(h: object) -> int:
    """``h`` as a positive int, or a clear error."""
    if isinstance(h, bool) or not isinstance(h, Integral) or h < 1:
        raise ValueError(f"h must be a positive integer (months to forecast); got {h!r}.")
    return int(h)


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float strictly between 0 and 1, or a clear error."""
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(
            f"alpha must be a number strictly between 0 and 1 (0.2 gives an 80% interval); got {alpha!r}."
        )
    return float(alpha)


def normal_interval(
    mean: np.ndarray, sd: np.ndarray, alpha: float, dof: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Central ``1 - alpha`` interval of a normal (``dof=None``) or Student t distribution."""
    quantile = stats.norm.ppf(1 - alpha / 2) if dof is None else stats.t.ppf(1 - alpha / 2, dof)
    return mean - quantile * sd, mean + quantile * sd


def log1p_back(
    mean: np.ndarray, sd: np.ndarray, alpha: float, dof: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back-transform a forecast made on the ``log1p`` scale.

    The interval bounds are quantiles, so they map through ``expm1`` unchanged; the mean gets the
    log-normal bias adjustment ``exp(mu + sd**2 / 2) - 1``, because ``expm1(mu)`` is the median.
    """
    lower, upper = normal_interval(mean, sd, alpha, dof)
    return np.expm1(mean + sd**2 / 2), np.expm1(lower), np.expm1(upper)


class BaseForecaster(BaseEstimator):
    """Base class for forecasters: predict(h) returns the mean forecast for the next h months with lower and
    upper prediction-interval bounds.

    Subclasses implement ``_fit(values)`` on the validated history and ``_forecast(h, alpha)``, which
    returns three arrays of length ``h``: the mean, and the ``alpha / 2`` and ``1 - alpha / 2`` quantiles.
    The base class validates the input, remembers the months and builds the result frame. A history with
    no negative value (sales, counts) gives forecasts and bounds clipped at zero.

    scikit-learn's ``parametrize_with_checks`` does not apply: ``fit`` takes one time series and no
    feature matrix, so every check that feeds ``X`` would test an interface these models do not have.
    They still are ``BaseEstimator`` s, so ``get_params``, ``set_params`` and ``clone`` work.
    """

    @abstractmethod
    def _fit(self, values: np.ndarray) -> None:
        """Learn from the validated history (float64, oldest first)."""

    @abstractmethod
    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, lower and upper bound for the next ``h`` months."""

    def fit(self, y: pd.Series, X: None = None) -> BaseForecaster:
        """Learn from one monthly series.

        Parameters
        ----------
        y : pandas.Series
            One value per consecutive month, indexed by a DatetimeIndex or a monthly PeriodIndex.
        X : None
            Ignored; there for scikit-learn's call conventions.

        Returns
        -------
        self
        """
        self._validate_params()
        values, months = check_monthly_series(y)
        self.n_months_ = len(values)
        self.last_month_ = months[-1]
        self.index_type_ = "period" if isinstance(y.index, pd.PeriodIndex) else "timestamp"
        self.nonnegative_ = bool(np.all(values >= 0))
        self._fit(values)
        return self

    def predict(self, h: int = 1, alpha: float = 0.2) -> pd.DataFrame:
        """Forecast the next ``h`` months.

        Parameters
        ----------
        h : int, default=1
            How many months after the last month of the history.
        alpha : float, default=0.2
            One minus the interval's coverage: 0.2 gives the 10% and 90% quantiles.

        Returns
        -------
        pandas.DataFrame
            Columns ``mean``, ``lower``, ``upper``; indexed by the future months, as month-start timestamps
            (or monthly periods when the history was indexed by periods).
        """
        check_is_fitted(self, "last_month_")
        h = check_horizon(h)
        alpha = check_alpha(alpha)
        mean, lower, upper = (np.asarray(part, dtype=np.float64) for part in self._forecast(h, alpha))
        if self.nonnegative_:
            mean, lower, upper = (np.maximum(part, 0.0) for part in (mean, lower, upper))
        months = pd.period_range(self.last_month_ + 1, periods=h, freq="M", name="month")
        index = months if self.index_type_ == "period" else months.to_timestamp(how="start")
        return pd.DataFrame({"mean": mean, "lower": lower, "upper": upper}, index=index)
