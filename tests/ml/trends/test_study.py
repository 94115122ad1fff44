"""The study functions of notebook 05: forecasts kept row by row and scored as compare_models scores them, classes
read from the history up to each origin, class routing, the squared error that does not reward forecasting zero,
paired comparisons, the seller-ranking backtest, and the UCI Online Retail sample as order lines."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from tests.conftest import reference_data_dir
from unseen.ml.trends import (
    TSB,
    LinearSeasonalRegression,
    SeasonalNaive,
    compare_models,
    demand_series,
    monthly_demand,
)
from unseen.ml.trends import _study
from unseen.ml.trends._study import (
    backtest_forecasts,
    class_routing,
    classes_at_origins,
    coverage_band,
    paired_difference,
    retail_order_lines,
    route_by_class,
    score_forecasts,
    seasonal_rms_scale,
    seller_ranking_backtest,
    summarise_by_class,
)
from unseen.simulate.catalogue import RETAIL_FILE

MONTHS = pd.date_range("2023-01-01", periods=30, freq="MS")


def test_examples_run():
    result = doctest.testmod(_study, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {_study.__name__}"


def shop(seed: int = 0) -> pd.DataFrame:
    """Eight products over thirty months: seasonal, steady, growing and sparse, as monthly_demand gives them."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(MONTHS))
    winter = 1 + 0.8 * np.cos(2 * np.pi * (MONTHS.month - 1) / 12)
    rates = {1: 40 * winter, 2: np.full(len(t), 25.0), 3: 5 + 1.5 * t, 4: np.full(len(t), 12.0),
             5: np.where(rng.random(len(t)) < 0.3, 4.0, 0.0), 6: np.where(rng.random(len(t)) < 0.2, 9.0, 0.0),
             7: np.where(rng.random(len(t)) < 0.4, 2.0, 0.0), 8: np.where(t < 20, 1.0, 0.0)}
    rows = [{"month": month, "key": key, "category": "Kitchen", "name": f"Product {key}", "units": int(units),
             "revenue_cents": int(units) * 500}
            for key, rate in rates.items() for month, units in zip(MONTHS, rng.poisson(rate))]
    return pd.DataFrame(rows)


def test_forecast_rows_score_exactly_as_compare_models_scores_them():
    series = demand_series(shop())
    models = {"naive": SeasonalNaive(), "linear": LinearSeasonalRegression(), "tsb": TSB()}
    rows = backtest_forecasts(series, models, test_size=5, horizon=2)
    assert len(rows) == len(models) * len(series) * 5 * 2
    assert list(rows.columns[:2]) == ["model", "series"] and "rmsse_scale" in rows
    ours = score_forecasts(rows).set_index(["model", "series"]).sort_index()
    theirs = compare_models(series, models, test_size=5, horizon=2).set_index(["model", "series"]).sort_index()
    for column in ("mase", "smape", "coverage", "n_forecasts"):
        np.testing.assert_allclose(ours[column], theirs[column], err_msg=column)


def test_the_squared_scale_is_the_in_sample_seasonal_naive_error_of_each_window():
    series = demand_series(shop())
    rows = backtest_forecasts({1: series[1]}, {"naive": SeasonalNaive()}, test_size=3)
    values = series[1].to_numpy(dtype=float)
    expected = [seasonal_rms_scale(values[:end]) for end in (27, 28, 29)]
    np.testing.assert_allclose(rows["rmsse_scale"], expected)
    window = values[:27]
    assert expected[0] == pytest.approx(np.sqrt(np.mean((window[12:] - window[:-12]) ** 2)))


def test_a_failed_backtest_names_the_model_and_the_series():
    short = pd.Series([1.0, 2.0, 3.0], index=MONTHS[:3])
    with pytest.raises(ValueError, match=r"series 'short' has 3 months; 3 origins .* at least 4"):
        backtest_forecasts({"short": short}, {"naive": SeasonalNaive()}, test_size=3)
    with pytest.raises(ValueError, match=r"backtest of naive on series 'gap' failed: .*consecutive month"):
        backtest_forecasts({"gap": pd.Series(1.0, index=MONTHS[[0, 1, 3, 4, 5]])}, {"naive": SeasonalNaive()},
                           test_size=2)
    with pytest.raises(ValueError, match="test_size must be a positive integer"):
        backtest_forecasts({"short": short}, {"naive": SeasonalNaive()}, test_size=0)


def test_a_forecast_of_zero_wins_on_absolute_error_and_loses_on_squared_error():
    # A product that sells 5 units in one month of four: the median month is 0, the mean 1.25 a month.
    actual = np.array([0.0, 0.0, 5.0, 0.0] * 3)
    rows = pd.concat([pd.DataFrame({"model": name, "series": "lamp", "actual": actual, "mean": forecast,
                                    "lower": 0.0, "upper": 5.0, "scale": 2.0, "rmsse_scale": 2.0})
                      for name, forecast in (("zero", 0.0), ("rate", 1.25))])
    scores = score_forecasts(rows).set_index("model")
    assert scores.at["zero", "mase"] < scores.at["rate", "mase"]
    assert scores.at["zero", "rmsse"] > scores.at["rate", "rmsse"]
    assert scores.at["rate", "bias"] == pytest.approx(0.0)
    assert scores.at["zero", "bias"] == pytest.approx(-1.25)
    with pytest.raises(ValueError, match="rmsse_scale"):
        score_forecasts(rows.drop(columns="rmsse_scale"))


def test_classes_come_from_the_history_up_to_each_origin():
    t = np.arange(len(MONTHS))
    demand = pd.concat([pd.DataFrame({"month": MONTHS, "key": "stopped", "units": np.where(t < 20, 2, 0)}),
                        pd.DataFrame({"month": MONTHS, "key": "late", "units": np.where(t >= 10, 3, 0)})])
    classes = classes_at_origins(demand, [MONTHS[5], MONTHS[19], MONTHS[29]])
    by_origin = classes.set_index(["origin", "key"])["demand_class"]
    assert by_origin[(MONTHS[19], "stopped")] == "smooth"  # every month so far had a sale
    assert by_origin[(MONTHS[29], "stopped")] == "intermittent"  # then ten empty months: ADI 1.5
    assert by_origin[(MONTHS[5], "late")] == "none" and by_origin[(MONTHS[29], "late")] == "intermittent"
    assert classes.set_index(["origin", "key"]).at[(MONTHS[29], "stopped"), "adi"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no demand on or before"):
        classes_at_origins(demand, [pd.Timestamp("2020-01-01")])


def test_routing_sends_each_forecast_to_the_model_of_its_class_at_its_origin():
    demand = shop()
    series = demand_series(demand)
    rows = backtest_forecasts(series, {"naive": SeasonalNaive(), "tsb": TSB()}, test_size=4)
    classes = classes_at_origins(demand, rows["origin"].unique())
    routing = class_routing("naive", "tsb")
    assert routing == {"smooth": "naive", "erratic": "naive", "intermittent": "tsb", "lumpy": "tsb", "none": "tsb"}
    routed = route_by_class(rows, classes, routing, "naive + tsb")
    assert len(routed) == len(series) * 4 and set(routed["model"]) == {"naive + tsb"}
    expected = routed["demand_class"].map(routing)
    assert (routed["routed_to"] == expected).all()
    merged = routed.merge(rows, left_on=["routed_to", "series", "origin"], right_on=["model", "series", "origin"])
    np.testing.assert_allclose(merged["mean_x"], merged["mean_y"])
    with pytest.raises(ValueError, match=r"model\(s\) \['croston'\]"):
        route_by_class(rows, classes, class_routing("naive", "croston"), "x")
    with pytest.raises(ValueError, match="no demand class for series"):
        route_by_class(rows, classes[classes["key"] != 1], routing, "x")


def test_class_summary_compares_models_on_the_series_every_model_has():
    scores = pd.DataFrame({"model": ["a", "b", "a", "a", "b"], "series": ["x", "x", "y", "z", "z"],
                           "mase": [1.0, 2.0, 9.0, 3.0, 1.0]})
    summary = summarise_by_class(scores, pd.Series({"x": "smooth", "y": "smooth", "z": "lumpy"}), columns=("mase",))
    smooth = summary[summary["demand_class"] == "smooth"].set_index("model")
    assert smooth.at["a", "mase"] == 1.0 and smooth.at["a", "n_series"] == 1  # y has no score of b
    assert summary[summary["demand_class"] == "lumpy"]["model"].tolist() == ["b", "a"]


def test_a_paired_difference_is_significant_only_when_it_is_consistent():
    rng = np.random.default_rng(0)
    baseline = rng.uniform(1, 2, 40)
    consistent = pd.DataFrame({"model": ["new"] * 40 + ["old"] * 40, "series": list(range(40)) * 2,
                               "mase": np.concatenate([baseline - 0.2, baseline])})
    result = paired_difference(consistent, "new", "old")
    assert result["significant"] and result["ci_high"] < 0 and result["share_better"] == 1.0
    noisy = consistent.assign(mase=np.concatenate([baseline + rng.normal(0, 0.5, 40), baseline]))
    assert not paired_difference(noisy, "new", "old", random_state=1)["significant"]
    with pytest.raises(ValueError, match="no scores for model 'other'"):
        paired_difference(consistent, "other", "old")


def test_the_coverage_band_holds_the_nominal_rate_and_narrows_with_more_forecasts():
    small, large = coverage_band(50, 0.8), coverage_band(5000, 0.8)
    assert small[0] < 0.8 < small[1] and large[0] < 0.8 < large[1]
    assert large[1] - large[0] < small[1] - small[0]
    with pytest.raises(ValueError, match="positive integer"):
        coverage_band(0, 0.8)


def ranking_demand():
    """Twelve products: key k sells k units in every month of 2025 except key 12, which stopped in June."""
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    rows = [{"month": month, "key": key, "units": (key if key < 12 or month.month < 6 else 0)}
            for key in range(1, 13) for month in months]
    rows += [{"month": month, "key": 13, "units": 0} for month in months]  # never sold: not on sale
    return pd.DataFrame(rows), months


def test_perfect_forecasts_pick_the_best_and_the_worst_sellers_exactly():
    demand, months = ranking_demand()
    origin, month = months[-2], months[-1]
    actual = demand[demand["month"] == month].set_index("key")["units"].astype(float)
    forecasts = pd.DataFrame({"model": "perfect", "series": actual.index, "origin": origin, "month": month, "h": 1,
                              "actual": actual.to_numpy(), "mean": actual.to_numpy()})
    result = seller_ranking_backtest(forecasts, demand, top=3).iloc[0]
    assert result["n_products"] == 12  # key 13 never sold
    assert result["best_precision"] == 1.0 and result["best_capture"] == 1.0
    assert result["worst_units"] == pytest.approx((0 + 1 + 2) / 3)
    assert result["worst_zero_share"] == pytest.approx(1 / 3)
    assert result["random_capture"] == pytest.approx(3 * actual.drop(13).mean() / (11 + 10 + 9))
    assert result["spearman"] == pytest.approx(1.0)


def test_forecast_ties_go_to_recent_sales_as_next_month_sellers_breaks_them():
    demand, months = ranking_demand()
    origin, month = months[-2], months[-1]
    actual = demand[demand["month"] == month].set_index("key")["units"].astype(float).drop(13)
    flat = pd.DataFrame({"model": "flat", "series": actual.index, "origin": origin, "month": month, "h": 1,
                         "actual": actual.to_numpy(), "mean": 1.0})
    result = seller_ranking_backtest(flat, demand, top=3).iloc[0]
    assert result["best_precision"] == 1.0  # the three that sold most lately
    assert result["worst_units"] == pytest.approx(1.0)  # key 12 (stopped), then keys 1 and 2
    assert np.isnan(result["spearman"])  # a constant forecast ranks nothing
    with pytest.raises(ValueError, match="at least 14"):
        seller_ranking_backtest(flat, demand, top=7)
    with pytest.raises(ValueError, match="h == 1"):
        seller_ranking_backtest(flat.assign(h=2), demand, top=3)


def test_retail_lines_keep_sales_of_products_only(tmp_path):
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        "536366,22633,HAND WARMER UNION JACK,6,2011-01-05 08:28:00,1.85,17850,United Kingdom\n"
        "C536379,22633,HAND WARMER UNION JACK,-2,2011-01-06 09:41:00,1.85,14527,United Kingdom\n"
        "536370,POST,POSTAGE,3,2011-01-07 08:45:00,18.0,12583,France\n"
        "536371,22634,CHILDS BREAKFAST SET,1,2011-02-08 09:00:00,0,13047,United Kingdom\n"
    )
    lines = retail_order_lines(path)
    assert lines["order_id"].tolist() == [536365, 536366]
    assert lines["category"].tolist() == ["Lighting", "Winter Warmers"]
    assert lines["revenue_cents"].tolist() == [6 * 255, 6 * 185]
    assert str(lines["ordered_at"].dt.tz) == "UTC"
    demand = monthly_demand(lines, level="product", until="2011-02-01")
    assert demand.groupby("key")["units"].sum().tolist() == [6, 6]
    with pytest.raises(ValueError, match="no UCI Online Retail sample"):
        retail_order_lines(tmp_path / "missing.csv")


def test_the_shared_uci_sample_reads_as_a_year_of_sparse_product_demand():
    path = reference_data_dir() / RETAIL_FILE
    assert path.is_file(), f"no UCI Online Retail sample at {path}: ../shared/data is part of the environment"
    lines = retail_order_lines(path)
    assert (lines["quantity"] > 0).all() and (lines["unit_price_cents"] > 0).all()
    demand = monthly_demand(lines, level="product")
    assert demand["month"].nunique() == 12  # December 2010 to November 2011; December 2011 is incomplete
    assert demand["key"].nunique() > 1000
