"""Fraud models on generated transactions: every model ranks fraud far above the positive rate and the analyst's rule
on a time-ordered split, trains on earlier months only, undersamples the majority in training only, and explains its
alerts.

The data set is small (60k rows) with a raised fraud rate (2%) so that each period holds about a hundred labelled
frauds and the claims are not at the mercy of a handful of bursts; the models use lighter settings than the
defaults to keep the test within seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unseen.analytics import generate_transactions
from unseen.analytics.features import FRAUD_FEATURES, transaction_features
from unseen.analytics.fraud import BASELINES, FRAUD_MODELS, rule_score, train_fraud_models

LIGHT = {"random_forest": {"n_estimators": 40}, "gradient_boosting": {"max_iter": 100, "learning_rate": 0.1}}


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("fraud")
    generate_transactions(folder, rows=60_000, users=300, seed=11, fraud_rate=0.02)
    return transaction_features(folder)


@pytest.fixture(scope="module")
def report(features):
    return train_fraud_models(features, negatives_per_positive=50, model_params=LIGHT, seed=0)


def test_one_table_with_every_model_and_baseline(report) -> None:
    table = report.table.set_index("model")
    assert list(table.index) == [*BASELINES, *FRAUD_MODELS]
    for column in ("average_precision", "roc_auc", "recall_at_precision", "precision_at_k_per_day"):
        assert table[column].between(0, 1).all(), column
    # The positive-rate baseline is a constant score: its AP is the test period's fraud rate.
    test_rate = report.periods.loc["test", "positive_rate"]
    assert table.loc["positive_rate", "average_precision"] == pytest.approx(test_rate)
    assert table.loc["positive_rate", "roc_auc"] == 0.5


def test_every_model_beats_the_baselines_by_a_wide_margin(report) -> None:
    table = report.table.set_index("model")
    rate = table.loc["positive_rate", "average_precision"]
    rule = table.loc["rule", "average_precision"]
    for name in FRAUD_MODELS:
        assert table.loc[name, "average_precision"] > max(20 * rate, 5 * rule, 0.6), name
        assert table.loc[name, "roc_auc"] > 0.9, name
    # At 90% precision the best models still catch most frauds; the rule catches none at that precision.
    assert table.loc[["logistic_regression", "gradient_boosting"], "recall_at_precision"].min() > 0.5
    assert table.loc["rule", "recall_at_precision"] == 0.0
    # A perfect ranking bounds precision@k per day (most days have fewer than k frauds); the models come close.
    assert table.loc["gradient_boosting", "precision_at_k_per_day"] > 0.8 * report.top_k_ceiling
    assert table.loc["gradient_boosting", "precision_at_k_per_day"] > 1.3 * table.loc["positive_rate",
                                                                                     "precision_at_k_per_day"]


def test_the_split_is_by_time_and_training_never_sees_a_later_month(features, report) -> None:
    split = report.split
    assert split.test_start == pd.Timestamp("2018-11-01") and split.valid_start == pd.Timestamp("2017-11-01")
    assert report.scores["date"].min() >= split.test_start
    periods = report.periods
    assert periods.loc["train", "last"] < split.valid_start <= periods.loc["valid", "first"]
    # Whatever the validation and test months hold, the fitted models are the same: they never saw them.
    later = features["date"] >= split.valid_start
    scrambled = features.copy()
    scrambled.loc[later, "is_fraud"] = ~scrambled.loc[later, "is_fraud"]
    scrambled.loc[later, list(FRAUD_FEATURES)] = 0
    again = train_fraud_models(scrambled, models=("logistic_regression", "decision_tree"),
                               negatives_per_positive=50, seed=0)
    for name in ("logistic_regression", "decision_tree"):
        first, second = report.models[name].estimator, again.models[name].estimator
        if name == "logistic_regression":
            np.testing.assert_allclose(first[-1].coef_, second[-1].coef_)
        else:
            np.testing.assert_array_equal(first.tree_.threshold, second.tree_.threshold)


def test_undersampling_keeps_every_training_fraud_and_probabilities_are_corrected_back(report) -> None:
    train_frauds = report.periods.loc["train", "positives"]
    assert report.train_sample["positives"] == train_frauds
    assert report.train_sample["negatives"] == 50 * train_frauds
    assert report.train_sample["negative_rate"] < 1
    # Without the correction a model trained on 1 fraud in 51 rows would predict about 2% on average; with it the
    # mean probability is near the real rate of the test period.
    test_rate = report.periods.loc["test", "positive_rate"]
    mean_probability = report.scores["logistic_regression"].mean()
    assert test_rate / 2 < mean_probability < test_rate * 2


def test_the_training_sample_is_capped(features) -> None:
    small = train_fraud_models(features, models=("logistic_regression",), max_train_rows=2_000, seed=1)
    assert small.train_sample["positives"] + small.train_sample["negatives"] == 2_000
    assert small.table.set_index("model").loc["logistic_regression", "train_rows"] == 2_000


def test_thresholds_are_chosen_on_validation_and_reported_on_test(report) -> None:
    row = report.table.set_index("model").loc["gradient_boosting"]
    chosen = report.thresholds["gradient_boosting"]["precision"]
    assert chosen.reached and chosen.precision >= 0.9
    assert row["test_precision_at_valid_threshold"] > 0.7  # the threshold carries over to later months
    cost = report.thresholds["gradient_boosting"]["cost"]
    no_alert_cost = report.scores.loc[report.scores["is_fraud"], "amount"].abs().sum()
    assert row["test_cost_at_cost_threshold"] < no_alert_cost / 3
    assert np.isfinite(cost.value)


def test_each_alert_comes_with_a_short_explanation(features, report) -> None:
    for name in FRAUD_MODELS:
        alerts = report.top_alerts(name, per_day=3, features=features)
        assert len(alerts) <= 3 * report.scores["date"].dt.floor("D").nunique()
        caught = alerts[alerts["is_fraud"]]
        assert len(caught) > 20, name
        first_reason = caught["why"].str.split(" = ").str[0]
        assert first_reason.isin(FRAUD_FEATURES).all(), name
    # The linear model's first reasons for its frauds are the burst features the generator plants.
    top = report.top_alerts("logistic_regression", features=features)
    named = top.loc[top["is_fraud"], "why"].str.split(" = ").str[0].value_counts()
    assert named.index[0].startswith(("card_count", "card_amount", "seconds_since", "first_"))


def test_rule_and_bad_input() -> None:
    frame = pd.DataFrame({"amount_zscore": [0.5, 4.0, 1.0], "card_on_dark_web": [0, 0, 1]})
    assert rule_score(frame).tolist() == [0.0, 5.0, 2.0]
    with pytest.raises(ValueError, match="amount_zscore"):
        rule_score(frame.drop(columns="amount_zscore"))


def test_clear_errors(features) -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['credit_score'\]"):
        train_fraud_models(features.drop(columns="credit_score"))
    with pytest.raises(ValueError, match="unknown fraud model"):
        train_fraud_models(features, models=("neural_net",))
    early = features[features["date"] < "2013-01-01"]
    with pytest.raises(ValueError, match="no labelled fraud|no month to train"):
        train_fraud_models(early.assign(is_fraud=False), models=("logistic_regression",))


def test_the_command_refuses_a_folder_that_is_not_the_layout(tmp_path) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    result = CliRunner().invoke(app, ["analytics", "fraud", "--data", str(tmp_path / "none"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2 and "No fraud models" in result.output and "Traceback" not in result.output
