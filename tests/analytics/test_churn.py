"""Churn: the stated definition on a hand-made history, the time-aware split, models against the recency and
constant-hazard baselines on generated data, and predictions stored in the database (re-running replaces them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unseen.analytics.churn import (
    CHURN_FEATURES,
    DailyActivity,
    churn_dataset,
    compare_horizons,
    daily_activity,
    feature_leak_check,
    load_churn_predictions,
    predict_churn,
    store_churn_predictions,
    train_churn_models,
)
from unseen.db import create_schema, make_engine

EPOCH = pd.Timestamp("1970-01-01")


def _day(text: str) -> int:
    return (pd.Timestamp(text) - EPOCH).days


def _activity(days_by_user: dict[int, list[str]]) -> DailyActivity:
    rows = [(user, _day(day)) for user, days in days_by_user.items() for day in sorted(days)]
    table = pd.DataFrame(rows, columns=["client_id", "day"]).assign(transactions=1, spend=10.0, online=0, errors=0)
    users = pd.DataFrame({"client_id": list(days_by_user), "birth_year": 1980, "yearly_income": 50_000.0,
                          "credit_score": 700.0, "total_debt": 0.0, "num_credit_cards": 2.0})
    cards = pd.DataFrame({"client_id": list(days_by_user), "opened": _day("2000-01-01"),
                          "expires_end": _day("2030-01-01")})
    return DailyActivity(days=table, cards=cards, users=users)


def test_the_definition_no_transaction_in_the_next_n_days_among_active_users() -> None:
    monthly = [f"2015-{m:02d}-15" for m in range(1, 13)]
    activity = _activity({
        1: monthly + ["2016-01-15", "2016-06-30"],  # stays, but pauses from mid-January to the end of June
        2: monthly[:6],  # last seen 2015-06-15
        3: ["2015-01-02"],  # one payment only
        4: ["2016-04-20"],
    })
    cutoffs = ["2015-03-01", "2015-07-01", "2015-10-01", "2016-02-01", "2016-04-01", "2016-05-01"]
    frame = churn_dataset(activity, days=90, active_days=90, cutoffs=cutoffs).set_index(["client_id", "as_of"])
    churned = frame["churned"]
    assert churned[(1, pd.Timestamp("2015-03-01"))] == False  # noqa: E712 (a nullable boolean)
    assert churned[(1, pd.Timestamp("2016-02-01"))] == True  # nothing from Feb 1 to May 1  # noqa: E712
    assert churned[(2, pd.Timestamp("2015-03-01"))] == False  # noqa: E712
    assert churned[(2, pd.Timestamp("2015-07-01"))] == True  # noqa: E712
    assert churned[(3, pd.Timestamp("2015-03-01"))] == True  # noqa: E712
    # Only users active in the 90 days before a cut-off are scored; who left is not scored again.
    assert (2, pd.Timestamp("2015-10-01")) not in frame.index
    assert (3, pd.Timestamp("2015-07-01")) not in frame.index
    # The horizon is [as_of, as_of + 90 days): the payment of 2016-06-30, day 90 after 2016-04-01, is outside it.
    assert churned[(1, pd.Timestamp("2016-04-01"))] == True  # noqa: E712
    # The last cut-off's horizon (to 2016-07-30) ends after the data (2016-06-30): no label.
    assert pd.isna(churned[(4, pd.Timestamp("2016-05-01"))])
    row = frame.loc[(1, pd.Timestamp("2015-07-01"))]
    assert row["recency_days"] == 16 and row["tenure_days"] == _day("2015-07-01") - _day("2015-01-15")
    assert row["transactions_90d"] == 3 and row["active_days_30d"] == 1
    assert frame[list(CHURN_FEATURES)].notna().all().all()
    with pytest.raises(ValueError, match="days must be"):
        churn_dataset(activity, days=0, cutoffs=cutoffs)


def test_longer_horizons_call_fewer_pauses_churn() -> None:
    activity = _activity({
        1: ["2015-06-15", "2015-08-15"],  # pays again 45 days after the cut-off
        2: ["2015-06-10", "2015-07-10"],  # within 30 days
        3: ["2015-06-20"],  # never again
        4: ["2015-06-01", "2015-12-31"],  # back after half a year: gone at every horizon compared here
    })
    table = compare_horizons(activity, [60, 30], came_back_days=60, cutoffs=["2015-07-01"]).set_index("days")
    assert table.index.tolist() == [30, 60]
    # N = 30: users 1, 3 and 4 churn; of them only user 1 pays within the 60 days after [Jul 1, Jul 31).
    assert table.loc[30, "churn_rate"] == 0.75 and table.loc[30, "came_back_share"] == pytest.approx(1 / 3)
    # N = 60: user 1's payment of Aug 15 is inside the horizon; users 3 and 4 stay away through October.
    assert table.loc[60, "churn_rate"] == 0.5 and table.loc[60, "came_back_share"] == 0.0
    assert (table["common_rows"] == 4).all() and (table["labelled_cutoffs"] == 1).all()
    with pytest.raises(ValueError, match="horizons is empty"):
        compare_horizons(activity, [], cutoffs=["2015-07-01"])


@pytest.fixture(scope="module")
def activity(generated):
    folder, _ = generated
    return daily_activity(folder)


@pytest.fixture(scope="module")
def dataset(activity):
    return churn_dataset(activity)


@pytest.fixture(scope="module")
def report(dataset):
    return train_churn_models(dataset, test_cutoffs=6)


def test_training_labels_never_reach_into_the_test_months(report) -> None:
    first_test = report.test_cutoffs[0]
    assert all(cut + pd.Timedelta(days=report.days) <= first_test for cut in report.train_cutoffs)
    assert max(report.train_cutoffs) < first_test
    assert report.scores["as_of"].min() == first_test


def test_models_beat_recency_and_the_constant_hazard_baseline(report) -> None:
    table = report.table.set_index("model")
    for name in ("logistic_regression", "gradient_boosting"):
        assert table.loc[name, "roc_auc"] > table.loc["recency", "roc_auc"] + 0.05, name
        assert table.loc[name, "average_precision"] > 1.4 * table.loc["recency", "average_precision"], name
        assert table.loc[name, "lift_top_decile"] > 3, name
    assert table.loc["gradient_boosting", "average_precision"] > table.loc["constant_hazard", "average_precision"]
    # Probabilities are calibrated well enough to read: the top decile's predicted rate is near its observed rate.
    top = report.calibration("gradient_boosting").iloc[-1]
    assert top["observed"] / 2 < top["predicted"] < top["observed"] * 2
    curve = report.lift_curve("gradient_boosting")
    assert curve["found"].is_monotonic_increasing and curve["found"].iloc[-1] == 1.0


def test_each_cut_off_has_its_part_in_the_split(report, dataset) -> None:
    roles = report.cutoff_roles(dataset).set_index("as_of")
    assert roles.index.tolist() == sorted(dataset["as_of"].unique())
    assert roles.index[roles["role"] == "test"].tolist() == report.test_cutoffs
    assert roles.index[roles["role"] == "train"].tolist() == report.train_cutoffs
    assert roles["role"].iloc[-1] == "predict" and roles.loc[roles["role"] == "predict", "churn_rate"].isna().all()
    gap = roles.index[roles["role"] == "gap"]
    assert len(gap) > 0 and all(report.train_cutoffs[-1] < cut < report.test_cutoffs[0] for cut in gap)
    assert (roles["horizon_end"] - roles.index == pd.Timedelta(days=report.days)).all()
    assert roles["active_users"].tolist() == dataset.groupby("as_of").size().tolist()


def test_auc_per_test_cut_off(report) -> None:
    from sklearn.metrics import roc_auc_score

    per_cut = report.auc_by_cutoff().set_index("as_of")
    assert per_cut.index.tolist() == report.test_cutoffs
    first = report.scores[report.scores["as_of"] == report.test_cutoffs[0]]
    assert per_cut.iloc[0]["gradient_boosting"] == pytest.approx(roc_auc_score(first["churned"],
                                                                              first["gradient_boosting"]))
    table = report.table.set_index("model")
    assert table.loc["recency", "mean_auc_per_cutoff"] == pytest.approx(per_cut["recency"].mean())


def test_the_leak_check_finds_a_feature_that_reads_the_future(activity, dataset, report) -> None:
    cut = report.test_cutoffs[0]
    clean = feature_leak_check(activity, dataset, cut)
    assert clean["same_rows"] and clean["features_differing"] == 0 and clean["rows"] == (dataset["as_of"] == cut).sum()
    leaky = dataset.copy()
    leaky.loc[leaky["as_of"] == cut, "transactions_30d"] += 1  # as if a payment from the horizon were counted
    found = feature_leak_check(activity, leaky, cut)
    assert found["features_differing"] == 1 and found["differing"] == "transactions_30d"


def test_predictions_are_stored_and_rerunning_replaces_them(dataset) -> None:
    engine = make_engine("sqlite://")
    create_schema(engine)
    predictions = predict_churn(dataset, model="logistic_regression")
    as_of = predictions["as_of"].iloc[0]
    assert as_of == dataset["as_of"].max().date()
    assert predictions["probability"].between(0, 1).all() and predictions["user_id"].is_unique
    assert store_churn_predictions(engine, predictions, model="logistic_regression", version="v1") == len(predictions)
    store_churn_predictions(engine, predictions.head(5).assign(as_of=pd.Timestamp("2019-01-01")),
                            model="logistic_regression", version="v1")
    store_churn_predictions(engine, predictions.head(3), model="gradient_boosting", version="v1")
    # Re-running the same model at the same cut-off replaces its rows, whatever the other cut-offs and models hold.
    store_churn_predictions(engine, predictions.head(10).assign(probability=0.5), model="logistic_regression",
                            version="v2")
    again = load_churn_predictions(engine, as_of=as_of, model="logistic_regression")
    assert len(again) == 10 and (again["version"] == "v2").all() and (again["probability"] == 0.5).all()
    assert len(load_churn_predictions(engine, as_of="2019-01-01")) == 5
    assert len(load_churn_predictions(engine, model="gradient_boosting")) == 3
    with pytest.raises(ValueError, match="probability"):
        store_churn_predictions(engine, predictions.drop(columns="probability"), model="x", version="v")


def test_clear_errors(dataset) -> None:
    with pytest.raises(ValueError, match="unknown churn model"):
        train_churn_models(dataset, models=("lstm",))
    with pytest.raises(ValueError, match="leave none to train on"):
        train_churn_models(dataset, test_cutoffs=10_000)
    with pytest.raises(ValueError, match="no active user"):
        predict_churn(dataset, as_of="1999-01-01")
    assert np.isfinite(dataset[list(CHURN_FEATURES)].to_numpy()).all()


def test_the_command_stores_predictions_and_refuses_bad_options(generated, tmp_path) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    folder, _ = generated
    url = f"sqlite:///{tmp_path / 'churn.db'}"
    bad = CliRunner().invoke(app, ["analytics", "churn", "--data", str(folder), "--model", "lstm",
                                   "--database-url", url])
    assert bad.exit_code == 2 and "unknown model" in bad.output
    missing = CliRunner().invoke(app, ["analytics", "churn", "--data", str(tmp_path / "none"), "--database-url", url])
    assert missing.exit_code == 2 and "No churn predictions" in missing.output
    for _ in range(2):  # twice: the second run replaces the first run's rows
        ok = CliRunner().invoke(app, ["analytics", "churn", "--data", str(folder), "--model", "logistic_regression",
                                      "--database-url", url])
        assert ok.exit_code == 0, ok.output
    stored = load_churn_predictions(make_engine(url), model="logistic_regression")
    assert len(stored) > 0 and stored["version"].nunique() == 1 and stored["user_id"].is_unique
