"""The forecasters on seeded synthetic series: the season they recover, the baseline they beat, their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from unseen.ml.trends import (
    SARIMA,
    TSB,
    BaseForecaster,
    Croston,
    LinearSeasonalRegression,
    SeasonalNaive,
    classify_demand,
    compare_models,
    rolling_origin,
)

PEAK, AMPLITUDE = 11, 40.0


def season_of(forecast: pd.DataFrame) -> tuple[int, float]:
    """Peak month and amplitude of the first harmonic in a forecast, after taking out a linear trend."""
    months = forecast.index.month.to_numpy()
    angle = 2 * np.pi * (months - 1) / 12
    design = np.column_stack([np.ones(len(months)), np.arange(len(months)), np.cos(angle), np.sin(angle)])
    _, _, a, b = np.linalg.lstsq(design, forecast["mean"].to_numpy(), rcond=None)[0]
    peak = int(round(np.arctan2(b, a) / (2 * np.pi) * 12)) % 12 + 1
    return peak, float(np.hypot(a, b))


@pytest.mark.parametrize(
    "model",
    [
        LinearSeasonalRegression(),
        LinearSeasonalRegression(n_harmonics=1, holiday_months=()),
        LinearSeasonalRegression(seasonality="month"),
        SARIMA(),
    ],
    ids=["linear-auto", "linear-k1", "linear-month", "sarima"],
)
def test_season_is_recovered(seasonal, model):
    y = seasonal(peak_month=PEAK, amplitude=AMPLITUDE)
    forecast = model.fit(y).predict(h=24)
    peak, amplitude = season_of(forecast)
    assert peak == PEAK
    assert amplitude == pytest.approx(AMPLITUDE, rel=0.15)


def test_linear_seasonal_effect_peaks_in_the_right_month(seasonal):
    y = seasonal(peak_month=4, amplitude=AMPLITUDE, seed=3)
    model = LinearSeasonalRegression(holiday_months=()).fit(y)
    assert int(np.argmax(model.seasonal_effect_)) + 1 == 4
    assert (model.seasonal_effect_.max() - model.seasonal_effect_.min()) / 2 == pytest.approx(AMPLITUDE, rel=0.15)
    assert model.coef_[model.feature_names_.index("trend")] == pytest.approx(1.5, rel=0.1)


def test_log1p_recovers_a_multiplicative_season():
    rng = np.random.default_rng(8)
    months = pd.date_range("2020-01-01", periods=60, freq="MS")
    log_demand = 4 + 0.01 * np.arange(60) + 0.3 * np.cos(2 * np.pi * (months.month - 12) / 12)
    y = pd.Series(np.expm1(log_demand + rng.normal(0, 0.03, 60)), index=months)
    model = LinearSeasonalRegression(transform="log1p", holiday_months=()).fit(y)
    assert int(np.argmax(model.seasonal_effect_)) + 1 == 12
    assert (model.seasonal_effect_.max() - model.seasonal_effect_.min()) / 2 == pytest.approx(0.3, rel=0.1)
    forecast = model.predict(h=12)
    expected = np.expm1(4 + 0.01 * np.arange(60, 72) + 0.3 * np.cos(2 * np.pi * (forecast.index.month - 12) / 12))
    np.testing.assert_allclose(forecast["mean"], expected, rtol=0.05)


def test_auto_harmonics_follow_the_shape_of_the_season(seasonal):
    smooth = seasonal(n=60, seed=1)
    assert LinearSeasonalRegression().fit(smooth).n_harmonics_ == 1
    spiky = smooth.copy()
    spiky[spiky.index.month == 12] += 150  # a December spike needs many harmonics (or the holiday term)
    model = LinearSeasonalRegression(holiday_months=()).fit(spiky)
    assert model.n_harmonics_ >= 4


def test_holiday_indicator_captures_a_november_december_lift(seasonal):
    y = seasonal(amplitude=0.0, slope=0.0, seed=2)
    y[y.index.month.isin([11, 12])] += 80
    model = LinearSeasonalRegression(n_harmonics=1).fit(y)
    assert model.coef_[model.feature_names_.index("holiday_season")] == pytest.approx(80, abs=8)
    forecast = model.predict(h=12)
    holiday = forecast.index.month.isin([11, 12])
    assert forecast.loc[holiday, "mean"].min() > forecast.loc[~holiday, "mean"].max() + 50


@pytest.mark.parametrize("model", [LinearSeasonalRegression(), SARIMA()], ids=["linear", "sarima"])
def test_beats_seasonal_naive_on_a_trend(seasonal, model):
    y = seasonal(slope=3.0, noise=4.0, seed=4)
    table = compare_models({"trend": y}, {"naive": SeasonalNaive(), "model": model}, test_size=6)
    scores = table.set_index("model")["mase"]
    assert scores["model"] < 0.6 * scores["naive"]


@pytest.mark.parametrize("interval", ["t", "normal"])
def test_linear_intervals_cover_about_their_level(seasonal, interval):
    y = seasonal(n=84, seed=5)
    backtest = rolling_origin(y, LinearSeasonalRegression(interval=interval), initial=48, alpha=0.2)
    inside = ((backtest["lower"] <= backtest["actual"]) & (backtest["actual"] <= backtest["upper"])).mean()
    assert 0.65 <= inside <= 0.97
    forecast = LinearSeasonalRegression(interval=interval).fit(y).predict(h=36)
    width = (forecast["upper"] - forecast["lower"]).to_numpy()
    assert width[-1] > width[0]  # the trend's uncertainty grows as the forecast reaches further


def test_seasonal_naive_repeats_last_season_and_widens_per_season(seasonal):
    y = seasonal(n=36)
    forecast = SeasonalNaive().fit(y).predict(h=24, alpha=0.2)
    np.testing.assert_allclose(forecast["mean"].to_numpy(), np.tile(y.iloc[-12:].to_numpy(), 2))
    width = (forecast["upper"] - forecast["lower"]).to_numpy()
    np.testing.assert_allclose(width[12:], width[:12] * np.sqrt(2))
    assert list(forecast.columns) == ["mean", "lower", "upper"]
    assert forecast.index[0] == pd.Timestamp("2023-01-01") and forecast.index.freqstr == "MS"


def test_seasonal_naive_falls_back_to_naive_on_a_short_history():
    y = pd.Series([5.0, 7.0, 6.0, 9.0], index=pd.period_range("2025-01", periods=4, freq="M"))
    model = SeasonalNaive().fit(y)
    assert model.method_ == "naive"
    forecast = model.predict(h=3)
    assert forecast["mean"].tolist() == [9.0, 9.0, 9.0]
    assert isinstance(forecast.index, pd.PeriodIndex) and str(forecast.index[0]) == "2025-05"


def test_sarima_falls_back_or_raises_on_a_short_history(seasonal):
    y = seasonal(n=15)
    model = SARIMA().fit(y)
    assert model.method_ == "seasonal_naive"
    pd.testing.assert_frame_equal(model.predict(h=3), SeasonalNaive().fit(y).predict(h=3))
    with pytest.raises(ValueError, match="15 months and SARIMA needs at least 20"):
        SARIMA(fallback="raise").fit(y)


def test_sarima_fits_quietly(seasonal, recwarn):
    model = SARIMA(auto=True).fit(seasonal(n=48, seed=6))
    model.predict(h=6)
    assert model.method_ == "sarima"
    assert (model.order_[1], model.seasonal_order_[1], model.seasonal_order_[3]) == (0, 1, 12)
    assert np.isfinite(model.aic_)
    assert [str(w.message) for w in recwarn] == []


def test_croston_on_intermittent_demand(intermittent):
    y = intermittent(n=120, probability=0.3, mean_size=4.0, seed=7)
    assert classify_demand(y).iloc[0]["demand_class"] in ("intermittent", "lumpy")
    true_rate = 0.3 * 4.0
    for model in (Croston(variant="sba"), TSB(), Croston()):
        forecast = model.fit(y).predict(h=6)
        assert forecast["mean"].nunique() == 1  # flat
        assert forecast["mean"].iloc[0] == pytest.approx(true_rate, rel=0.35)
        assert (forecast["lower"] == 0).all() and (forecast["upper"] > forecast["mean"]).all()
    assert Croston(variant="sba").fit(y).level_ < Croston().fit(y).level_


def test_croston_updates_by_hand():
    y = pd.Series([0, 2, 0, 4, 0, 0, 6.0], index=pd.date_range("2025-01-01", periods=7, freq="MS"))
    model = Croston(alpha=0.5, beta=0.5).fit(y)
    # First demand 2 after 2 months; then 4 after 2 months; then 6 after 3 months.
    size = 2 + 0.5 * (4 - 2)
    size += 0.5 * (6 - size)
    interval = 2 + 0.5 * (2 - 2)
    interval += 0.5 * (3 - interval)
    assert model.size_ == pytest.approx(size) and model.interval_ == pytest.approx(interval)
    assert model.level_ == pytest.approx(size / interval)


def test_tsb_decays_after_demand_stops_and_croston_does_not():
    y = pd.Series([3, 0, 3, 3, 0, 3] + [0] * 12, index=pd.date_range("2024-01-01", periods=18, freq="MS"),
                  dtype=float)
    tsb, croston = TSB(alpha=0.2, beta=0.2).fit(y), Croston(alpha=0.2, beta=0.2).fit(y)
    assert tsb.level_ < 0.1 * croston.level_
    assert TSB().fit(y * 0).predict(2)["mean"].tolist() == [0.0, 0.0]


def test_forecasts_of_counts_are_never_negative():
    y = pd.Series([0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], index=pd.date_range("2024-01-01", periods=15,
                                                                                      freq="MS"), dtype=float)
    for model in (SeasonalNaive(), LinearSeasonalRegression(), SARIMA(), Croston(), TSB()):
        forecast = model.fit(y).predict(h=12)
        assert (forecast.to_numpy() >= 0).all(), type(model).__name__


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([1, 2, 3], "must be a pandas Series"),
        (pd.Series([1.0, 2.0]), "indexed by months"),
        (pd.Series([1.0, np.nan], index=pd.date_range("2025-01-01", periods=2, freq="MS")), "missing or infinite"),
        (pd.Series([1.0, 2.0], index=pd.to_datetime(["2025-01-01", "2025-03-01"])), "2025-01 is followed by 2025-03"),
        (pd.Series([], dtype=float, index=pd.DatetimeIndex([])), "is empty"),
    ],
)
def test_bad_series_get_a_clear_error(y, message):
    with pytest.raises(ValueError, match=message):
        SeasonalNaive().fit(y)


def test_bad_arguments_get_a_clear_error(seasonal):
    y = seasonal(n=30)
    model = SeasonalNaive().fit(y)
    with pytest.raises(ValueError, match="h must be a positive integer"):
        model.predict(h=0)
    with pytest.raises(ValueError, match="alpha must be a number strictly between 0 and 1"):
        model.predict(h=1, alpha=1.5)
    with pytest.raises(InvalidParameterError, match="seasonality"):
        LinearSeasonalRegression(seasonality="weekly").fit(y)
    with pytest.raises(ValueError, match="needs at least 14 months of history; got 10"):
        LinearSeasonalRegression(seasonality="month").fit(y.iloc[:10])
    with pytest.raises(ValueError, match="holiday_months must be calendar months"):
        LinearSeasonalRegression(holiday_months=(13,)).fit(y)


def test_forecasters_are_scikit_learn_estimators(seasonal):
    y = seasonal(n=30)
    for model in (SeasonalNaive(season_length=6), LinearSeasonalRegression(n_harmonics=2), SARIMA(auto=False),
                  Croston(alpha=0.2), TSB(beta=0.3)):
        assert isinstance(model, BaseForecaster)
        copy = clone(model)
        assert copy.get_params() == model.get_params()
        first = copy.fit(y).predict(3)
        again = clone(model).fit(y).predict(3)
        pd.testing.assert_frame_equal(first, again)
