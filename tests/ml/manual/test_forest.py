"""Tests for the random forest built on the hand-written tree."""

import numpy as np
import pytest
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier as SklearnForest
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from unseen.ml.manual import DecisionTreeClassifier, RandomForestClassifier

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}


# Ten trees instead of a hundred keep the checks fast; every check passes, so there is no
# expected-failures dict.
@parametrize_with_checks([RandomForestClassifier(n_estimators=10)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_test_accuracy_close_to_sklearn(name):
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    manual = RandomForestClassifier(n_estimators=25, random_state=0).fit(X_train, y_train)
    reference = SklearnForest(n_estimators=25, random_state=0).fit(X_train, y_train)
    # Different random streams: allow two test samples' worth on the smallest test set.
    assert abs(manual.score(X_test, y_test) - reference.score(X_test, y_test)) <= 0.06
    assert manual.score(X_test, y_test) >= 0.9


def test_forest_beats_a_single_tree_on_digits():
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=15, random_state=0).fit(X_train, y_train)
    tree = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
    assert forest.score(X_test, y_test) > tree.score(X_test, y_test) + 0.05


def test_probabilities_are_the_mean_of_the_trees():
    X, y = datasets.load_wine(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=15, random_state=0).fit(X, y)
    proba = forest.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)

    expected = np.zeros_like(proba)
    for tree in forest.estimators_:
        expected[:, tree.classes_] += tree.predict_proba(X)
    np.testing.assert_allclose(proba, expected / 15)
    np.testing.assert_array_equal(forest.predict(X), forest.classes_[proba.argmax(axis=1)])


def test_a_class_missing_from_a_bootstrap_sample_keeps_its_column():
    # One sample of class 2 in 30: most bootstrap samples miss it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.r_[np.zeros(15, dtype=int), np.ones(14, dtype=int), [2]]
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    assert any(len(tree.classes_) < 3 for tree in forest.estimators_)
    proba = forest.predict_proba(X)
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_feature_importances_sum_to_one():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    assert forest.feature_importances_.shape == (X.shape[1],)
    assert forest.feature_importances_.sum() == pytest.approx(1.0)
    assert np.all(forest.feature_importances_ >= 0)


def test_trees_are_grown_with_sqrt_features_and_bootstrap_by_default():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert all(tree.max_features_ == 5 for tree in forest.estimators_)
    # Bootstrap samples repeat rows, so the roots see the full count but not all rows.
    assert all(tree.tree_.n_node_samples[0] == X.shape[0] for tree in forest.estimators_)
    assert len({tree.tree_.threshold[0] for tree in forest.estimators_}) > 1


def test_without_bootstrap_or_feature_sampling_every_tree_is_the_same_tree():
    X, y = datasets.load_iris(return_X_y=True)
    forest = RandomForestClassifier(
        n_estimators=5, bootstrap=False, max_features=None, max_depth=2, random_state=0
    ).fit(X, y)
    single = DecisionTreeClassifier(max_depth=2).fit(X, y)
    np.testing.assert_allclose(forest.predict_proba(X), single.predict_proba(X))


def test_same_random_state_same_forest():
    X, y = datasets.load_wine(return_X_y=True)
    first = RandomForestClassifier(n_estimators=10, random_state=3).fit(X, y)
    second = RandomForestClassifier(n_estimators=10, random_state=3).fit(X, y)
    other = RandomForestClassifier(n_estimators=10, random_state=4).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_array_equal(first.feature_importances_, second.feature_importances_)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


@pytest.mark.parametrize(
    "parameters, name",
    [
        ({"n_estimators": 0}, "n_estimators"),
        ({"bootstrap": "sometimes"}, "bootstrap"),
        ({"max_depth": -1}, "max_depth"),
        ({"criterion": "log_loss"}, "criterion"),
        ({"max_features": 1.5}, "max_features"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters, name):
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        RandomForestClassifier(**parameters).fit(X, y)
