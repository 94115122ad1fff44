"""Seasonal naive: next year's month is this year's month. The baseline every forecaster has to beat."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import BaseForecaster


class SeasonalNaive(BaseForecaster):
    """Forecast each month with the value of the same month one season earlier.

    predict(h) returns the mean forecast for the next h months with lower and upper prediction-interval
    bounds. A history shorter than ``season_length + 1`` months has no seasonal residual to learn a spread
    from, so the model falls back to the naive forecast (the last value for every month).

    Intervals are empirical: the ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the in-sample residuals
    ``y[t] - y[t - m]``, widened by ``sqrt(k + 1)`` for months ``k`` whole seasons ahead. They are not
    centred on the mean when the residuals are not (a trend makes them mostly positive), which is what the
    history says about the next errors.

    Parameters
    ----------
    season_length : int, default=12
        Months in one season.

    Attributes
    ----------
    method_ : {"seasonal", "naive"}
        What the model did: seasonal naive, or the naive fallback on a short history.
    period_ : int
        The lag used: ``season_length``, or 1 for the fallback.
    residuals_ : ndarray
        In-sample residuals ``y[t] - y[t - period_]``.
    n_months_ : int
        Length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2023-01-01", periods=36, freq="MS")
    >>> y = pd.Series(100 + 30 * np.cos(2 * np.pi * (months.month - 12) / 12) + rng.normal(0, 5, 36), index=months)
    >>> forecast = SeasonalNaive().fit(y).predict(h=2)
    >>> bool((forecast["mean"] == y.iloc[-12:-10].to_numpy()).all())
    True
    >>> forecast.index.strftime("%Y-%m").tolist()
    ['2026-01', '2026-02']
    """

    _parameter_constraints: dict = {"season_length": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def _fit(self, values: np.ndarray) -> None:
        self.period_ = self.season_length if len(values) > self.season_length else 1
        self.method_ = "seasonal" if self.period_ == self.season_length and self.season_length > 1 else "naive"
        self._last_season = values[-self.period_:]
        self.residuals_ = values[self.period_:] - values[: -self.period_]

    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps = np.arange(h)
        mean = self._last_season[steps % self.period_]
        if len(self.residuals_) == 0:
            # One month of history: there is no spread to learn from.
            nothing = np.full(h, np.nan)
            return mean, nothing, nothing
        low, high = np.quantile(self.residuals_, [alpha / 2, 1 - alpha / 2])
        widen = np.sqrt(steps // self.period_ + 1)
        return mean, mean + low * widen, mean + high * widen
