"""Seasonal ARIMA through statsmodels' SARIMAX, with a tiny AIC search and a seasonal naive fallback."""

from __future__ import annotations

import itertools
import logging
import warnings
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from ._base import BaseForecaster, log1p_back, normal_interval
from ._seasonal_naive import SeasonalNaive

logger = logging.getLogger(__name__)


def _check_order(value: object, length: int, name: str) -> tuple[int, ...]:
    try:
        order = tuple(int(part) for part in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        order = ()
    if len(order) != length or any(part < 0 for part in order):
        raise ValueError(f"{name} must be {length} non-negative integers; got {value!r}.")
    return order


class SARIMA(BaseForecaster):
    """Seasonal ARIMA ``(p, d, q)(P, D, Q, m)`` fitted by maximum likelihood (statsmodels ``SARIMAX``).

    predict(h) returns the mean forecast for the next h months with lower and upper prediction-interval
    bounds, from the model's own forecast variance. The default ``(1, 0, 0)(0, 1, 1, 12)`` with a constant
    (a yearly drift after seasonal differencing) is the usual airline-free choice for a year or two of
    monthly sales. ``auto=True`` instead picks ``p, q, P, Q`` in {0, 1} by AIC, keeping ``d`` and ``D``.

    A history too short to estimate the model (fewer than ``min_months``) falls back to
    :class:`SeasonalNaive`, or raises a ``ValueError`` with ``fallback="raise"``; so does a fit that fails
    numerically. statsmodels' convergence and start-value warnings are silenced inside ``fit`` and
    ``predict`` only; whether the optimiser converged is in ``converged_``.

    Parameters
    ----------
    order : tuple of 3 int, default=(1, 0, 0)
        ``(p, d, q)``.
    seasonal_order : tuple of 4 int, default=(0, 1, 1, 12)
        ``(P, D, Q, m)``.
    trend : {"n", "c"} or None, default=None
        ``"c"`` adds a constant, ``"n"`` none. None adds one when ``d + D <= 1`` (a mean, or a drift after
        one difference) and none after two differences, where it would become a quadratic trend.
    auto : bool, default=False
        Whether to choose ``p, q, P, Q`` in {0, 1} by AIC (16 fits).
    transform : {"none", "log1p"}, default="none"
        Scale on which the model is fitted; see :class:`LinearSeasonalRegression`.
    min_months : int or None, default=None
        Shortest history to fit on. None means ``d + D * m + 2 * k + 2`` with ``k`` the number of ARMA and
        trend coefficients: enough months left after differencing to estimate them.
    fallback : {"seasonal_naive", "raise"}, default="seasonal_naive"
        What a history that is too short, or a failed fit, leads to.
    maxiter : int, default=100
        Iterations of the likelihood optimiser.

    Attributes
    ----------
    method_ : {"sarima", "seasonal_naive"}
        What was fitted.
    order_, seasonal_order_ : tuple
        The orders used (after the search with ``auto=True``); None after a fallback.
    trend_ : str
        The trend term used.
    aic_ : float
        AIC of the fitted model (NaN after a fallback).
    converged_ : bool
        Whether the optimiser reported convergence.
    n_months_ : int
        Length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2020-01-01", periods=60, freq="MS")
    >>> season = 30 * np.cos(2 * np.pi * (months.month - 12) / 12)
    >>> y = pd.Series(200 + np.arange(60) + season + rng.normal(0, 5, 60), index=months)
    >>> model = SARIMA().fit(y)
    >>> model.method_, model.order_, model.seasonal_order_
    ('sarima', (1, 0, 0), (0, 1, 1, 12))
    >>> forecast = model.predict(h=12)
    >>> forecast["mean"].idxmax().month
    12
    >>> SARIMA().fit(y.iloc[:14]).method_
    'seasonal_naive'
    """

    _parameter_constraints: dict = {
        "order": ["array-like"],
        "seasonal_order": ["array-like"],
        "trend": [StrOptions({"n", "c"}), None],
        "auto": ["boolean"],
        "transform": [StrOptions({"none", "log1p"})],
        "min_months": [Interval(Integral, 1, None, closed="left"), None],
        "fallback": [StrOptions({"seasonal_naive", "raise"})],
        "maxiter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        order: tuple[int, int, int] = (1, 0, 0),
        seasonal_order: tuple[int, int, int, int] = (0, 1, 1, 12),
        trend: str | None = None,
        auto: bool = False,
        transform: str = "none",
        min_months: int | None = None,
        fallback: str = "seasonal_naive",
        maxiter: int = 100,
    ):
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.auto = auto
        self.transform = transform
        self.min_months = min_months
        self.fallback = fallback
        self.maxiter = maxiter

    def _candidates(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        p, d, q = _check_order(self.order, 3, "order")
        P, D, Q, m = _check_order(self.seasonal_order, 4, "seasonal_order")
        if m < 2 and (P or D or Q):
            raise ValueError(f"seasonal_order needs a season length m of at least 2; got {self.seasonal_order!r}.")
        if not self.auto:
            return [((p, d, q), (P, D, Q, m))]
        return [((p, d, q), (P, D, Q, m)) for p, q, P, Q in itertools.product((0, 1), repeat=4)]

    def _trend(self, order: tuple[int, ...], seasonal_order: tuple[int, ...]) -> str:
        if self.trend is not None:
            return self.trend
        return "c" if order[1] + seasonal_order[1] <= 1 else "n"

    def _needed_months(self, order: tuple[int, ...], seasonal_order: tuple[int, ...]) -> int:
        if self.min_months is not None:
            return self.min_months
        p, d, q = order
        P, D, Q, m = seasonal_order
        coefficients = p + q + P + Q + (self._trend(order, seasonal_order) == "c")
        return d + D * m + 2 * coefficients + 2

    def _fit(self, values: np.ndarray) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        if self.transform == "log1p" and np.any(values <= -1):
            raise ValueError("transform='log1p' needs every value above -1; sales and counts qualify.")
        target = np.log1p(values) if self.transform == "log1p" else values
        candidates = self._candidates()
        fittable = [(o, s) for o, s in candidates if len(values) >= self._needed_months(o, s)]
        best, problems = None, []
        for order, seasonal_order in fittable:
            trend = self._trend(order, seasonal_order)
            try:
                # The Kalman filter multiplies matrices of a dozen rows: BLAS threads only fight over the cores
                # (five times slower on a busy machine), so the fit runs on one.
                with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
                    # Short sales series routinely trip start-value and convergence warnings; converged_
                    # records the outcome instead of a screen of warnings per fit.
                    warnings.simplefilter("ignore")
                    # Profiling the variance out of the likelihood leaves one parameter fewer to search: the
                    # same forecasts, several times faster on the short histories a shop has.
                    model = SARIMAX(target, order=order, seasonal_order=seasonal_order, trend=trend,
                                    concentrate_scale=True)
                    result = model.fit(disp=False, maxiter=self.maxiter)
            except (ValueError, np.linalg.LinAlgError) as error:
                problems.append(f"{order}{seasonal_order}: {error}")
                continue
            if not np.isfinite(result.aic):
                problems.append(f"{order}{seasonal_order}: likelihood is not finite")
                continue
            if best is None or result.aic < best[0].aic:
                best = (result, order, seasonal_order, trend)
        if best is None:
            if not fittable:
                needed = min(self._needed_months(o, s) for o, s in candidates)
                reason = f"the history has {len(values)} months and SARIMA needs at least {needed}"
            else:
                reason = "every fit failed (" + "; ".join(problems) + ")"
                logger.warning("SARIMA fit failed on %d months: %s", len(values), reason)
            if self.fallback == "raise":
                raise ValueError(f"SARIMA cannot be fitted: {reason}.")
            self._fallback_fit(values)
            return
        result, self.order_, self.seasonal_order_, self.trend_ = best
        self._result = result
        self.method_ = "sarima"
        self.aic_ = float(result.aic)
        self.converged_ = bool(result.mle_retvals.get("converged", True)) if result.mle_retvals else True

    def _fallback_fit(self, values: np.ndarray) -> None:
        season_length = _check_order(self.seasonal_order, 4, "seasonal_order")[3]
        self._naive = SeasonalNaive(season_length=max(season_length, 1))
        self._naive._fit(values)
        self.method_ = "seasonal_naive"
        self.order_ = self.seasonal_order_ = None
        self.trend_ = "n"
        self.aic_ = float("nan")
        self.converged_ = True

    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.method_ == "seasonal_naive":
            return self._naive._forecast(h, alpha)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")
            forecast = self._result.get_forecast(h)
            mean = np.asarray(forecast.predicted_mean, dtype=np.float64)
            sd = np.sqrt(np.maximum(np.asarray(forecast.var_pred_mean, dtype=np.float64), 0.0))
        if self.transform == "log1p":
            return log1p_back(mean, sd, alpha)
        lower, upper = normal_interval(mean, sd, alpha)
        return mean, lower, upper
