"""Seeded synthetic monthly series: trend + 12-month season + noise, and intermittent demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_seasonal(*, n=60, level=200.0, slope=1.5, amplitude=40.0, peak_month=11, noise=5.0, seed=0,
                  start="2020-01-01"):
    """``level + slope * t + amplitude * cos(2 pi (month - peak_month) / 12) + N(0, noise)``, month starts."""
    rng = np.random.default_rng(seed)
    months = pd.date_range(start, periods=n, freq="MS")
    season = amplitude * np.cos(2 * np.pi * (months.month - peak_month) / 12)
    values = level + slope * np.arange(n) + season + rng.normal(0, noise, n)
    return pd.Series(values, index=months, name="synthetic")


def make_intermittent(*, n=48, probability=0.3, mean_size=4.0, seed=0, start="2021-01-01"):
    """A demand in a month with ``probability``; its size is 1 + Poisson(mean_size - 1)."""
    rng = np.random.default_rng(seed)
    sold = rng.random(n) < probability
    sizes = 1 + rng.poisson(mean_size - 1, n)
    return pd.Series(np.where(sold, sizes, 0).astype(float), index=pd.date_range(start, periods=n, freq="MS"),
                     name="intermittent")


@pytest.fixture
def seasonal():
    return make_seasonal


@pytest.fixture
def intermittent():
    return make_intermittent
