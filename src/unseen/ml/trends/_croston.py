"""Croston's method and its TSB variant: forecasts for products that sell in some months and not in others."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseForecaster


def _residual_interval(
    level: float, residuals: np.ndarray, h: int, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat forecast ``level`` with bounds at the empirical quantiles of the one-step residuals."""
    mean = np.full(h, level)
    if len(residuals) < 2:
        nothing = np.full(h, np.nan)
        return mean, nothing, nothing
    low, high = np.quantile(residuals, [alpha / 2, 1 - alpha / 2])
    return mean, mean + low, mean + high


class Croston(BaseForecaster):
    """Croston's method: smooth the size of the demands and the months between them separately.

    predict(h) returns the mean forecast for the next h months with lower and upper prediction-interval
    bounds. The forecast is flat, ``size / interval`` per month, both updated by exponential smoothing only
    in months with a demand. ``variant="sba"`` applies the Syntetos–Boylan correction ``1 - beta / 2``,
    which removes Croston's upward bias. Croston has no stochastic model behind it, so the bounds are the
    empirical ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the one-step in-sample errors, the same for
    every month ahead. For a product that sells in fewer than ``alpha / 2`` of the months the upper bound is
    at or near zero, below the mean: no sale is the likely outcome of any one month, although the average
    is positive.

    Parameters
    ----------
    alpha : float, default=0.1
        Smoothing constant of the demand size, in [0, 1].
    beta : float, default=0.1
        Smoothing constant of the interval between demands, in [0, 1].
    variant : {"croston", "sba"}, default="croston"
        Classic Croston, or with the Syntetos–Boylan approximation.

    Attributes
    ----------
    size_ : float
        Smoothed demand size (0 without any demand).
    interval_ : float
        Smoothed months between demands (``inf`` without any demand).
    level_ : float
        The flat forecast per month.
    residuals_ : ndarray
        One-step in-sample errors after the first demand.
    n_months_ : int
        Length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> months = pd.date_range("2024-01-01", periods=12, freq="MS")
    >>> y = pd.Series([0, 3, 0, 0, 3, 0, 0, 0, 3, 0, 3, 0], index=months)
    >>> model = Croston(alpha=0.5, beta=0.5).fit(y)
    >>> round(model.size_, 3), round(model.interval_, 3), round(model.level_, 3)
    (3.0, 2.625, 1.143)
    >>> model.predict(h=2)["mean"].round(3).tolist()
    [1.143, 1.143]
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "beta": [Interval(Real, 0, 1, closed="both")],
        "variant": [StrOptions({"croston", "sba"})],
    }

    def __init__(self, alpha: float = 0.1, beta: float = 0.1, variant: str = "croston"):
        self.alpha = alpha
        self.beta = beta
        self.variant = variant

    def _fit(self, values: np.ndarray) -> None:
        demand = np.flatnonzero(values)
        correction = 1 - self.beta / 2 if self.variant == "sba" else 1.0
        if len(demand) == 0:
            self.size_, self.interval_, self.level_ = 0.0, float("inf"), 0.0
            self.residuals_ = values.copy()
            return
        first = int(demand[0])
        size, interval, since = float(values[first]), float(first + 1), 1
        residuals = []
        for value in values[first + 1:]:
            residuals.append(value - correction * size / interval)
            if value != 0:
                size += self.alpha * (value - size)
                interval += self.beta * (since - interval)
                since = 1
            else:
                since += 1
        self.size_, self.interval_ = float(size), float(interval)
        self.level_ = float(correction * size / interval)
        self.residuals_ = np.asarray(residuals)

    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _residual_interval(self.level_, self.residuals_, h, alpha)


class TSB(BaseForecaster):
    """Teunter–Syntetos–Babai: smooth the demand size and the probability of a demand in a month.

    predict(h) returns the mean forecast for the next h months with lower and upper prediction-interval
    bounds. Unlike Croston, the probability is updated every month, so a product that stops selling sees its
    forecast decay towards zero instead of staying at its last level: the right behaviour for a long tail
    with obsolescence. The forecast is flat, ``probability * size``; the bounds are the empirical quantiles
    of the one-step in-sample errors (see :class:`Croston` on why the upper one can lie below the mean).

    Parameters
    ----------
    alpha : float, default=0.1
        Smoothing constant of the demand size, in [0, 1].
    beta : float, default=0.1
        Smoothing constant of the demand probability, in [0, 1].

    Attributes
    ----------
    size_ : float
        Smoothed demand size (0 without any demand).
    probability_ : float
        Smoothed probability of a demand in a month.
    level_ : float
        The flat forecast per month.
    residuals_ : ndarray
        One-step in-sample errors.
    n_months_ : int
        Length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> months = pd.date_range("2024-01-01", periods=12, freq="MS")
    >>> sold_out = pd.Series([4, 0, 4, 4, 0, 4, 0, 0, 0, 0, 0, 0], index=months)
    >>> tsb, croston = TSB(alpha=0.3, beta=0.3).fit(sold_out), Croston(alpha=0.3, beta=0.3).fit(sold_out)
    >>> bool(tsb.level_ < croston.level_)
    True
    >>> round(tsb.probability_, 3), round(tsb.size_, 3)
    (0.075, 4.0)
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "beta": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, alpha: float = 0.1, beta: float = 0.1):
        self.alpha = alpha
        self.beta = beta

    def _fit(self, values: np.ndarray) -> None:
        sold = values != 0
        if not sold.any():
            self.size_, self.probability_, self.level_ = 0.0, 0.0, 0.0
            self.residuals_ = values.copy()
            return
        # Start from the whole history's share of months with a sale and mean sale size; the smoothing then
        # lets recent months pull both.
        probability, size = float(sold.mean()), float(values[sold].mean())
        residuals = np.empty(len(values))
        for t, value in enumerate(values):
            residuals[t] = value - probability * size
            if value != 0:
                probability += self.beta * (1 - probability)
                size += self.alpha * (value - size)
            else:
                probability -= self.beta * probability
        self.size_, self.probability_ = float(size), float(probability)
        self.level_ = float(probability * size)
        self.residuals_ = residuals

    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _residual_interval(self.level_, self.residuals_, h, alpha)
