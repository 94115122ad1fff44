"""Demand classes, per-key forecasts, next month's sellers and the investment ranking on a small shop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unseen.ml.trends import (
    TSB,
    SeasonalNaive,
    classify_demand,
    forecast_demand,
    invest_ranking,
    next_month_sellers,
)

MONTHS = pd.date_range("2024-01-01", periods=24, freq="MS")


def small_shop(seed: int = 0) -> pd.DataFrame:
    """Six products over two years, as monthly_demand(level="product") gives them."""
    rng = np.random.default_rng(seed)
    t = np.arange(24)
    winter = 1 + 0.8 * np.cos(2 * np.pi * (MONTHS.month - 1) / 12)
    rate = {
        1: ("Coats", "Pea Coat", 30 * winter, 9000),
        2: ("Kitchen", "Blue Mug", np.full(24, 40.0), 500),
        3: ("Kitchen", "Tea Pot", 5 + 1.5 * t, 2500),
        4: ("Kitchen", "Egg Cup", np.where(rng.random(24) < 0.25, 3.0, 0.0), 200),
        5: ("Coats", "Rain Hat", np.where(rng.random(24) < 0.2, 2.0, 0.0), 1500),
        6: ("Kitchen", "Tin Tray", np.r_[np.full(12, 8.0), np.zeros(12)], 700),
    }
    rows = []
    for key, (category, name, lam, price) in rate.items():
        units = rng.poisson(lam)
        for month, sold in zip(MONTHS, units, strict=True):
            rows.append(dict(month=month, key=key, category=category, name=name, units=int(sold),
                             revenue_cents=int(sold) * price))
    return pd.DataFrame(rows)


def test_classify_demand_follows_syntetos_boylan():
    def frame(key, units):
        return pd.DataFrame({"month": MONTHS[: len(units)], "key": key, "units": units})

    demand = pd.concat([
        frame("smooth", [10, 11, 9, 10, 12, 10, 9, 11]),
        frame("erratic", [1, 30, 2, 25, 1, 40, 3, 20]),
        frame("intermittent", [0, 5, 0, 0, 5, 0, 6, 0]),
        frame("lumpy", [0, 1, 0, 0, 30, 0, 0, 2]),
        frame("never", [0, 0, 0, 0]),
    ])
    classes = classify_demand(demand)
    assert classes["demand_class"].to_dict() == {key: key if key != "never" else "none" for key in classes.index}
    assert classes.loc["intermittent", "adi"] == pytest.approx(8 / 3)
    sizes = np.array([5, 5, 6])
    assert classes.loc["intermittent", "cv2"] == pytest.approx(sizes.var() / sizes.mean() ** 2)
    assert classes.loc["never", "demand_months"] == 0 and np.isinf(classes.loc["never", "adi"])


def test_classify_demand_takes_a_series():
    y = pd.Series([0, 0, 3, 0, 0, 3], index=MONTHS[:6], name="lamp")
    assert classify_demand(y).loc["lamp", "demand_class"] == "intermittent"


def test_forecast_demand_routes_sparse_keys_to_tsb():
    forecast = forecast_demand(small_shop(), h=2)
    assert len(forecast) == 6 * 2
    method = forecast.groupby("key")["method"].first()
    classes = forecast.groupby("key")["demand_class"].first()
    assert (method[classes.isin(["intermittent", "lumpy"])] == "TSB").all()
    assert (method[classes.isin(["smooth", "erratic"])] == "LinearSeasonalRegression").all()
    assert (forecast["lower"] <= forecast["upper"]).all() and (forecast["lower"] <= forecast["mean"]).all()
    smooth = forecast[forecast["demand_class"] == "smooth"]
    assert (smooth["mean"] <= smooth["upper"]).all()
    assert forecast["month"].min() == pd.Timestamp("2026-01-01")


def test_pooling_splits_the_category_forecast_by_recent_share():
    demand = small_shop()
    pooled = forecast_demand(demand, model_factory=SeasonalNaive(), sparse="pool").set_index("key")
    sparse = pooled.index[pooled["method"] == "pool"]
    assert len(sparse) >= 2
    recent = demand[demand["month"] >= "2025-01-01"]
    for key in sparse:
        category = demand.loc[demand["key"] == key, "category"].iloc[0]
        share = recent.loc[recent["key"] == key, "units"].sum() / recent.loc[recent["category"] == category,
                                                                             "units"].sum()
        category_total = demand[demand["category"] == category].groupby("month")["units"].sum()
        assert pooled.loc[key, "mean"] == pytest.approx(share * category_total.iloc[-12])


def test_next_month_sellers_lists_top_and_bottom_with_intervals():
    sellers = next_month_sellers(small_shop(), top=2)
    assert list(sellers.columns) == ["group", "rank", "key", "category", "name", "month", "mean", "lower", "upper",
                                     "last_units", "demand_class", "method"]
    top, bottom = sellers[sellers["group"] == "top"], sellers[sellers["group"] == "bottom"]
    assert top["rank"].tolist() == [1, 2] and bottom["rank"].tolist() == [1, 2]
    assert top["mean"].is_monotonic_decreasing and bottom["mean"].is_monotonic_increasing
    assert top["name"].iloc[0] == "Pea Coat"  # January is the coat's winter peak
    assert bottom["name"].iloc[0] == "Rain Hat"  # one sale in two years
    assert (sellers["month"] == pd.Timestamp("2026-01-01")).all()
    assert (sellers["lower"] <= sellers["upper"]).all()
    with pytest.raises(ValueError, match="top must be a positive integer"):
        next_month_sellers(small_shop(), top=0)


def test_invest_ranking_values_growth_at_the_margin():
    demand = small_shop()
    ranking = invest_ranking(demand, margin_share=0.25)
    assert ranking["expected_value_cents"].is_monotonic_decreasing
    row = ranking.set_index("key").loc[3]  # the tea pot grows by 1.5 units a month
    assert row["name"] == "Tea Pot"
    assert row["growth_units"] > 0
    assert row["margin_cents"] == pytest.approx(0.25 * 2500)
    assert row["expected_value_cents"] == pytest.approx(row["growth_units"] * row["margin_cents"])
    assert row["baseline_units"] == demand[(demand["key"] == 3) & (demand["month"] >= "2025-10-01")]["units"].sum()
    assert row["value_lower_cents"] <= row["expected_value_cents"] <= row["value_upper_cents"]
    assert row["uncertainty_cents"] == pytest.approx(row["value_upper_cents"] - row["value_lower_cents"])
    assert ranking.iloc[0]["name"] == "Pea Coat"  # from autumn into its winter peak, at the highest margin


def test_invest_ranking_against_last_year_and_with_known_margins():
    demand = small_shop()
    ranking = invest_ranking(demand, margins={3: 100.0}, baseline="last_year").set_index("key")
    assert ranking.loc[3, "margin_cents"] == 100.0
    assert ranking.loc[2, "margin_cents"] == pytest.approx(0.3 * 500)
    last_year = demand[(demand["key"] == 3) & demand["month"].between("2025-01-01", "2025-03-01")]["units"].sum()
    assert ranking.loc[3, "baseline_units"] == last_year
    # Against the same months a year ago the coat's season cancels out and the tea pot's trend stands out.
    coat = ranking.loc[1]
    assert abs(coat["growth_units"]) < 0.5 * coat["baseline_units"]
    assert ranking["growth_units"].idxmax() == 3
    assert invest_ranking(demand, baseline="last_year").iloc[0]["name"] == "Tea Pot"


def test_invest_ranking_rejects_bad_settings():
    demand = small_shop()
    with pytest.raises(ValueError, match="baseline must be 'recent' or 'last_year'"):
        invest_ranking(demand, baseline="forever")
    with pytest.raises(ValueError, match="margin_share must be a number from 0 to 1"):
        invest_ranking(demand, margin_share=3)
    with pytest.raises(ValueError, match="needs at least 12 months"):
        invest_ranking(demand[demand["month"] >= "2025-06-01"], baseline="last_year")
    with pytest.raises(ValueError, match="no margin for key"):
        invest_ranking(demand.drop(columns="revenue_cents"), margins={1: 10.0})
    with pytest.raises(ValueError, match="sparse must be one of"):
        invest_ranking(demand, sparse="guess", model_factory=TSB())


def test_a_history_too_short_for_the_model_falls_back_to_seasonal_naive(caplog):
    demand = small_shop()
    short = demand[demand["month"] >= "2025-09-01"]  # four months: too few for the regression
    forecast = forecast_demand(short, h=1)
    smooth = forecast[forecast["demand_class"] == "smooth"]
    assert len(smooth) and (smooth["method"] == "SeasonalNaive").all()
    assert "using seasonal naive" in caplog.text
