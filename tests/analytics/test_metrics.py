"""The time-ordered split, ranking metrics, thresholds and alert explanations, on small hand-made arrays whose answers
can be worked out by hand or by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from unseen.analytics._explain import (
    forest_path_contributions,
    linear_contributions,
    reasons,
    substitution_contributions,
    tree_path_contributions,
)
from unseen.analytics._metrics import (
    TimeSplit,
    alert_outcome,
    average_precision,
    lift_at_top,
    precision_at_top_k_per_day,
    recall_at_precision,
    roc_auc,
    threshold_for_cost,
    threshold_for_precision,
    time_split,
)
from unseen.ml.manual import DecisionTreeClassifier, LogisticRegression


def test_time_split_takes_whole_months_from_the_end_and_never_mixes_periods() -> None:
    dates = pd.date_range("2016-01-03", "2019-10-30 18:00", freq="13h")
    split = time_split(dates, test_months=3, valid_months=2)
    assert split.test_start == pd.Timestamp("2019-08-01")
    assert split.valid_start == pd.Timestamp("2019-06-01")
    part = split.assign(dates)
    assert dates[part == "train"].max() < split.valid_start <= dates[part == "valid"].min()
    assert dates[part == "valid"].max() < split.test_start <= dates[part == "test"].min()
    # Time order is all that matters: the same dates shuffled fall in the same periods.
    shuffled = np.random.default_rng(0).permutation(len(dates))
    assert (split.assign(dates[shuffled]) == part[shuffled]).all()
    table = split.describe(dates, labels=np.arange(len(dates)) % 10 == 0)
    assert list(table.index) == ["train", "valid", "test"] and table["rows"].sum() == len(dates)


def test_time_split_refuses_data_too_short_to_train_on() -> None:
    with pytest.raises(ValueError, match="leaves no month to train on"):
        time_split(pd.date_range("2019-01-01", "2019-06-30", freq="D"), test_months=3, valid_months=3)
    with pytest.raises(ValueError, match="test_months"):
        time_split(pd.date_range("2019-01-01", "2019-06-30", freq="D"), test_months=0)
    assert TimeSplit(pd.Timestamp("2019-01-01"), pd.Timestamp("2019-02-01")).assign(
        ["2019-01-31 23:59:59"]).tolist() == ["valid"]


def _brute_ap(y, s):
    order = np.argsort(-s, kind="stable")
    y = np.asarray(y)[order]
    hits = np.cumsum(y)
    return float(np.sum((hits / np.arange(1, len(y) + 1))[y == 1]) / y.sum())


def test_average_precision_and_roc_auc_match_their_definitions() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.1).astype(int)
    s = rng.random(300) + y * 0.4  # distinct scores: no ties
    assert average_precision(y, s) == pytest.approx(_brute_ap(y, s))
    pairs = [(sp > sn) + 0.5 * (sp == sn) for sp, sn in itertools.product(s[y == 1], s[y == 0])]
    assert roc_auc(y, s) == pytest.approx(np.mean(pairs))
    # A score that carries nothing: AP is the positive rate, AUC a half.
    assert average_precision(y, np.zeros(300)) == pytest.approx(y.mean())
    assert roc_auc(y, np.zeros(300)) == 0.5
    assert np.isnan(roc_auc([0, 0], [0.1, 0.2])) and average_precision([0, 0], [0.1, 0.2]) == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        average_precision([0, 1], [0.5])


def test_recall_at_precision() -> None:
    y = [1, 1, 0, 1, 1, 0, 0, 1]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    # Cumulative precision 1, 1, .67, .75, .8, .67, .57, .625 at recalls .2, .4, .4, .6, .8, ...
    assert recall_at_precision(y, s, 0.9) == pytest.approx(0.4)
    assert recall_at_precision(y, s, 0.8) == pytest.approx(0.8)
    assert recall_at_precision(y, s, 0.5) == pytest.approx(1.0)
    assert recall_at_precision([0, 1], [0.9, 0.1], 0.9) == 0.0  # no threshold reaches it
    with pytest.raises(ValueError, match="precision"):
        recall_at_precision(y, s, 1.5)


def test_precision_at_top_k_per_day_counts_each_days_best_alerts() -> None:
    days = ["a"] * 4 + ["b"] * 3 + ["c"]
    y = [1, 0, 1, 0, 0, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.1, 0.5, 0.4, 0.3, 0.9]
    per_day = precision_at_top_k_per_day(y, s, days, k=2)
    assert per_day.to_dict() == {"a": 0.5, "b": 0.0, "c": 0.0}  # day c has one row: 0 of 1
    assert precision_at_top_k_per_day(y, s, days, k=3).to_dict() == pytest.approx({"a": 2 / 3, "b": 1 / 3,
                                                                                   "c": 0.0})
    # Ties on a day go to the earlier row.
    assert precision_at_top_k_per_day([0, 1], [0.5, 0.5], ["d", "d"], k=1).tolist() == [0.0]
    with pytest.raises(ValueError, match="k must be"):
        precision_at_top_k_per_day(y, s, days, k=0)


def test_lift_at_top() -> None:
    y = np.r_[np.ones(5), np.zeros(95)]
    assert lift_at_top(y, -np.arange(100), 0.05) == pytest.approx(20.0)
    assert lift_at_top(y, np.arange(100), 0.5) == 0.0


def test_threshold_for_precision_picks_the_most_recall_at_the_target() -> None:
    y = np.array([1, 1, 0, 1, 1, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    t = threshold_for_precision(y, s, 0.8)
    assert (t.value, t.alerts, t.reached) == (0.5, 5, True)
    assert t.precision == pytest.approx(0.8) and t.recall == pytest.approx(0.8)
    # Applied to the same rows it gives back what it promised.
    outcome = alert_outcome(y, s, t)
    assert outcome["precision"] == pytest.approx(t.precision) and outcome["recall"] == pytest.approx(t.recall)
    unreachable = threshold_for_precision([0, 1], [0.9, 0.1], 0.9)
    assert not unreachable.reached and unreachable.value == np.inf and not unreachable.apply([5.0]).any()


def test_threshold_for_cost_is_the_cheapest_of_every_cut() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(200) < 0.15
    s = np.round(rng.random(200) + 0.5 * y, 2)  # rounded: ties, as real scores have
    amounts = rng.exponential(80, 200)
    t = threshold_for_cost(y, s, amounts=amounts, review_cost=6.0)
    cuts = np.r_[np.unique(s), np.inf]
    costs = [6.0 * (s >= c).sum() + amounts[y & (s < c)].sum() for c in cuts]
    assert t.cost == pytest.approx(min(costs))
    assert alert_outcome(y, s, t, amounts=amounts, review_cost=6.0)["cost"] == pytest.approx(min(costs))
    # With alerts dearer than any loss, raising none is cheapest.
    none = threshold_for_cost(y, s, missed_cost=1.0, review_cost=2.0)
    assert none.value == np.inf and none.alerts == 0 and none.cost == pytest.approx(y.sum())


def test_linear_contributions_add_up_to_the_log_odds() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] - X[:, 2] + rng.normal(size=200) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    parts = linear_contributions(model.coef_[0], X)
    assert parts.sum(axis=1) + model.intercept_[0] == pytest.approx(model.decision_function(X))


def test_tree_path_contributions_add_up_to_the_leaf_minus_the_root() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    y = ((X[:, 1] > 0.3) & (X[:, 3] < 0.5)).astype(int)
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y).tree_
    parts = tree_path_contributions(tree.children_left, tree.children_right, tree.feature, tree.threshold,
                                    tree.value[:, 1], X)
    leaf_share = tree.value[tree.apply(X), 1]
    assert parts.sum(axis=1) == pytest.approx(leaf_share - tree.value[0, 1])
    assert np.abs(parts[:, [0, 2]]).sum() < np.abs(parts[:, [1, 3]]).sum() / 10  # the features y is made of

    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    trees = [(t.tree_.children_left, t.tree_.children_right, t.tree_.feature, t.tree_.threshold,
              t.tree_.value[:, 0, 1]) for t in forest.estimators_]
    parts = forest_path_contributions(trees, X)
    roots = np.mean([t.tree_.value[0, 0, 1] for t in forest.estimators_])
    assert parts.sum(axis=1) + roots == pytest.approx(forest.predict_proba(X)[:, 1])


def test_substitution_contributions_and_reasons() -> None:
    def predict(X):
        return 0.1 * X[:, 0] + X[:, 1] * X[:, 2]

    X = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    parts = substitution_contributions(predict, X, np.zeros(3))
    np.testing.assert_allclose(parts, [[0.1, 6.0, 6.0], [0.0, 0.0, 0.0]])
    lines = reasons(parts, ["a", "b", "c"], X, top=2)
    assert lines == ["b = 2 (+6.00); c = 3 (+6.00)", "no feature raised the score"]
