"""Metrics on hand-worked numbers, rolling-origin shapes, comparing and choosing models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unseen.ml.trends import (
    LinearSeasonalRegression,
    SeasonalNaive,
    choose_model,
    compare_models,
    mase,
    rolling_origin,
    seasonal_scale,
    smape,
    summarise_comparison,
)


def test_mase_scales_by_the_seasonal_naive_error_in_sample():
    train = np.arange(14.0)  # y[t] - y[t - 12] is 12 for both pairs
    assert seasonal_scale(train, m=12) == 12.0
    assert mase([20.0, 30.0], [26.0, 30.0], train, m=12) == pytest.approx(3 / 12)


def test_mase_falls_back_to_lag_one_on_a_short_history():
    train = [2.0, 4.0, 3.0, 7.0]  # lag-1 errors 2, 1, 4: mean 7/3
    assert seasonal_scale(train, m=12) == pytest.approx(7 / 3)
    assert mase([5.0], [12.0], train) == pytest.approx(7 / (7 / 3))


def test_mase_on_a_constant_history():
    assert mase([0.0, 0.0], [0.0, 0.0], [0.0] * 20) == 0.0
    assert np.isnan(mase([1.0], [0.0], [0.0] * 20))
    assert np.isnan(mase([1.0], [0.0], [5.0]))  # one value: no scale at all


def test_smape_defines_zero_over_zero_as_zero():
    assert smape([0, 0], [0, 0]) == 0.0
    assert smape([0], [3]) == 200.0
    assert smape([100, 0], [50, 0]) == pytest.approx(200 * (50 / 150 + 0) / 2)
    assert smape([-10], [10]) == 200.0
    with pytest.raises(ValueError, match="same length"):
        smape([1, 2], [1])


def series(n=30, seed=0):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2023-01-01", periods=n, freq="MS")
    return pd.Series(50 + np.arange(n) + 10 * np.sin(2 * np.pi * months.month / 12) + rng.normal(0, 1, n),
                     index=months)


def test_rolling_origin_shapes_and_months():
    y = series(30)
    result = rolling_origin(y, SeasonalNaive(), initial=24, horizon=3, step=1)
    assert list(result.columns) == ["origin", "month", "h", "actual", "mean", "lower", "upper", "scale"]
    assert len(result) == 4 * 3  # origins after 24, 25, 26 and 27 months, three months each
    assert result["h"].tolist() == [1, 2, 3] * 4
    first = result.iloc[0]
    assert first["origin"] == pd.Timestamp("2024-12-01") and first["month"] == pd.Timestamp("2025-01-01")
    assert first["actual"] == y.iloc[24] and first["mean"] == y.iloc[12]
    assert (result["month"] > result["origin"]).all()
    assert result["scale"].iloc[0] == pytest.approx(seasonal_scale(y.iloc[:24].to_numpy()))


def test_rolling_origin_steps_and_factories():
    y = series(30)
    stepped = rolling_origin(y, lambda: LinearSeasonalRegression(n_harmonics=1), initial=20, horizon=1, step=3)
    assert stepped["origin"].dt.strftime("%Y-%m").tolist() == ["2024-08", "2024-11", "2025-02", "2025-05"]
    with pytest.raises(ValueError, match="need a series of at least 31 months; got 30"):
        rolling_origin(y, SeasonalNaive(), initial=30)
    with pytest.raises(ValueError, match="initial must be a positive integer"):
        rolling_origin(y, SeasonalNaive(), initial=0)
    with pytest.raises(ValueError, match="must return a BaseForecaster"):
        rolling_origin(y, lambda: "not a model", initial=20)


def test_compare_models_gives_one_row_per_model_and_series():
    data = {"a": series(36, seed=1), "b": series(30, seed=2)}
    models = {"naive": SeasonalNaive(), "linear": LinearSeasonalRegression()}
    table = compare_models(data, models, test_size=5)
    assert list(table.columns) == ["model", "series", "mase", "smape", "coverage", "n_forecasts", "error"]
    assert table[["model", "series"]].to_numpy().tolist() == [
        ["naive", "a"], ["naive", "b"], ["linear", "a"], ["linear", "b"]
    ]
    assert (table["n_forecasts"] == 5).all() and (table["error"] == "").all()
    # The table's MASE is the mean of the errors scaled per origin.
    backtest = rolling_origin(data["a"], SeasonalNaive(), initial=31)
    expected = np.mean(np.abs(backtest["actual"] - backtest["mean"]) / backtest["scale"])
    assert table.iloc[0]["mase"] == pytest.approx(expected)
    assert choose_model(table) == "linear"


def test_a_failing_model_is_recorded_not_raised():
    data = {"short": series(14), "long": series(40)}
    table = compare_models(data, {"naive": SeasonalNaive(), "month": LinearSeasonalRegression(seasonality="month")},
                           test_size=2)
    failed = table[(table["model"] == "month") & (table["series"] == "short")].iloc[0]
    assert np.isnan(failed["mase"]) and "needs at least 14 months" in failed["error"]
    summary = summarise_comparison(table)
    assert (summary["n_series"] == 1).all()  # averaged only where both models have a score
    with pytest.raises(ValueError, match="exactly one of initial"):
        compare_models(data, {"naive": SeasonalNaive()})
