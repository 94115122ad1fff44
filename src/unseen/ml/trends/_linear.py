"""Ordinary least squares on a trend, the calendar month and the holiday season."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseForecaster, log1p_back, normal_interval


class LinearSeasonalRegression(BaseForecaster):
    """Linear regression of monthly demand on a trend, a yearly season and a holiday-season indicator.

    predict(h) returns the mean forecast for the next h months with lower and upper prediction-interval
    bounds. The design has an intercept, a linear trend in months, the season as either eleven month dummies
    or ``n_harmonics`` Fourier pairs of the calendar month, and one indicator shared by ``holiday_months``
    (November, the Black Friday month, and December by default). Month dummies, like six harmonics, already
    give every month its own level, so the holiday indicator is left out with them. ``n_harmonics="auto"``
    picks 1 to 6 harmonics by AICc: few on a short history, where eleven dummies would eat every degree of
    freedom, and all six on a long one with a sharp peak.

    Intervals use the residual variance and the full OLS prediction variance
    ``s**2 * (1 + x0 (X'X)^-1 x0')``, with Student t (``dof = n - p``) or normal quantiles. With
    ``transform="log1p"`` the model is fitted to ``log1p(y)``, which suits counts whose season multiplies
    rather than adds; the bounds are back-transformed quantiles and the mean gets the log-normal bias
    adjustment.

    Parameters
    ----------
    seasonality : {"fourier", "month"}, default="fourier"
        Fourier terms of the calendar month, or one dummy per month (January is the baseline).
    n_harmonics : int or "auto", default="auto"
        Fourier pairs, 1 to 6 (the sine of the sixth is zero in every month and is dropped), or the number
        with the lowest AICc.
    holiday_months : tuple of int or None, default=(11, 12)
        Calendar months that share one holiday-season indicator; ``()`` or None for none. ``(11,)`` marks only the
        Black Friday month.
    trend : bool, default=True
        Whether to include a linear trend.
    transform : {"none", "log1p"}, default="none"
        Scale on which the regression is fitted.
    interval : {"t", "normal"}, default="t"
        Distribution of the prediction-interval quantiles.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Least-squares coefficients, on the fitted scale.
    feature_names_ : list of str
        Name of each coefficient.
    n_harmonics_ : int
        Harmonics used (0 with month dummies).
    sigma_ : float
        Residual standard deviation (``sqrt(RSS / dof_)``).
    dof_ : int
        Residual degrees of freedom, ``n_months_ - n_features``.
    seasonal_effect_ : ndarray of shape (12,)
        Effect of each calendar month, January first, on the fitted scale, holiday indicator included,
        centred on zero.
    n_months_ : int
        Length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2021-01-01", periods=48, freq="MS")
    >>> season = 30 * np.cos(2 * np.pi * (months.month - 12) / 12)
    >>> y = pd.Series(100 + 2 * np.arange(48) + season + rng.normal(0, 5, 48), index=months)
    >>> model = LinearSeasonalRegression(holiday_months=()).fit(y)
    >>> int(np.argmax(model.seasonal_effect_)) + 1  # December
    12
    >>> forecast = model.predict(h=3)
    >>> bool((forecast["lower"] < forecast["mean"]).all() and (forecast["mean"] < forecast["upper"]).all())
    True
    """

    _parameter_constraints: dict = {
        "seasonality": [StrOptions({"fourier", "month"})],
        "n_harmonics": [Interval(Integral, 1, 6, closed="both"), StrOptions({"auto"})],
        "holiday_months": ["array-like", None],
        "trend": ["boolean"],
        "transform": [StrOptions({"none", "log1p"})],
        "interval": [StrOptions({"t", "normal"})],
    }

    def __init__(
        self,
        seasonality: str = "fourier",
        n_harmonics: int | str = "auto",
        holiday_months: tuple[int, ...] = (11, 12),
        trend: bool = True,
        transform: str = "none",
        interval: str = "t",
    ):
        self.seasonality = seasonality
        self.n_harmonics = n_harmonics
        self.holiday_months = holiday_months
        self.trend = trend
        self.transform = transform
        self.interval = interval

    def _holidays(self) -> list[int]:
        months = [int(month) for month in (self.holiday_months or ())]
        bad = [month for month in months if not 1 <= month <= 12]
        if bad:
            raise ValueError(f"holiday_months must be calendar months 1 to 12; got {bad}.")
        return sorted(set(months))

    def _design(
        self, steps: np.ndarray, calendar_months: np.ndarray, harmonics: int
    ) -> tuple[np.ndarray, list[str]]:
        """Columns for months ``steps`` after the first month of the history, in ``calendar_months`` (1-12)."""
        columns, names = [np.ones(len(steps))], ["intercept"]
        if self.trend:
            columns.append(steps.astype(np.float64))
            names.append("trend")
        if harmonics == 0:
            for month in range(2, 13):
                columns.append((calendar_months == month).astype(np.float64))
                names.append(f"month_{month}")
        else:
            angle = 2 * np.pi * (calendar_months - 1) / 12
            for k in range(1, harmonics + 1):
                columns.append(np.cos(k * angle))
                names.append(f"cos_{k}")
                if k < 6:
                    columns.append(np.sin(k * angle))
                    names.append(f"sin_{k}")
            holidays = self._holidays()
            # Six harmonics span every month already, like month dummies: a holiday column would be collinear.
            if holidays and harmonics < 6:
                columns.append(np.isin(calendar_months, holidays).astype(np.float64))
                names.append("holiday_season")
        return np.column_stack(columns), names

    def _fit(self, values: np.ndarray) -> None:
        if self.transform == "log1p" and np.any(values <= -1):
            raise ValueError("transform='log1p' needs every value above -1; sales and counts qualify.")
        target = np.log1p(values) if self.transform == "log1p" else values
        n = len(values)
        self._first_month = self.last_month_ - (n - 1)
        steps, calendar_months = np.arange(n), self._calendar_months(0, n)
        if self.seasonality == "month":
            candidates = [0]
        elif self.n_harmonics == "auto":
            candidates = list(range(1, 7))
        else:
            candidates = [self.n_harmonics]
        best = None
        for harmonics in candidates:
            design, names = self._design(steps, calendar_months, harmonics)
            k = design.shape[1]
            if n - k < 1 or (len(candidates) > 1 and n - k - 1 < 1):
                continue
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
            residuals = target - design @ coef
            rss = max(float(residuals @ residuals), 1e-12 * max(float(target @ target), 1.0))
            aicc = n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf
            if best is None or aicc < best[0]:
                best = (aicc, harmonics, design, names, coef, residuals)
        if best is None:
            design, names = self._design(steps, calendar_months, candidates[0])
            raise ValueError(
                f"LinearSeasonalRegression with {design.shape[1]} coefficients ({', '.join(names)}) needs at least "
                f"{design.shape[1] + 1} months of history; got {n}. Use fewer harmonics or seasonality='fourier'."
            )
        _, harmonics, design, names, coef, residuals = best
        self.n_harmonics_ = harmonics
        self.coef_ = coef
        self.feature_names_ = names
        self.dof_ = n - design.shape[1]
        self.sigma_ = float(np.sqrt(residuals @ residuals / self.dof_))
        self._xtx_inv = np.linalg.pinv(design.T @ design)
        self._n = n
        season_design, _ = self._design(np.zeros(12), np.arange(1, 13), harmonics)
        seasonal = season_design @ coef
        self.seasonal_effect_ = seasonal - seasonal.mean()

    def _calendar_months(self, start: int, count: int) -> np.ndarray:
        """Calendar month (1-12) of the months ``start`` .. ``start + count - 1`` after the first month."""
        first = self._first_month.month - 1
        return (first + np.arange(start, start + count)) % 12 + 1

    def _forecast(self, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps = np.arange(self._n, self._n + h)
        design, _ = self._design(steps, self._calendar_months(self._n, h), self.n_harmonics_)
        mean = design @ self.coef_
        leverage = np.einsum("ij,jk,ik->i", design, self._xtx_inv, design)
        sd = self.sigma_ * np.sqrt(1 + leverage)
        dof = self.dof_ if self.interval == "t" else None
        if self.transform == "log1p":
            return log1p_back(mean, sd, alpha, dof)
        lower, upper = normal_interval(mean, sd, alpha, dof)
        return mean, lower, upper
