"""Tests for the hand-written CART decision tree."""

import numpy as np
import pytest
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier as SklearnTree
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from unseen.ml.manual import DecisionTreeClassifier
from unseen.ml.manual._tree import TREE_LEAF, TREE_UNDEFINED

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}


def tie_free_data(seed=0, n_samples=400):
    """Continuous features (no repeated values) and three classes, so no split ties."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 5))
    score = X[:, 0] + X[:, 1] ** 2 + rng.normal(size=n_samples)
    y = (score > 1).astype(int) + (X[:, 2] > 1)
    return X, y


# Every scikit-learn check passes, so there is no expected-failures dict.
@parametrize_with_checks([DecisionTreeClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_same_tree_as_sklearn_without_ties(criterion):
    X, y = tie_free_data()
    manual = DecisionTreeClassifier(criterion=criterion, max_depth=3).fit(X, y)
    reference = SklearnTree(criterion=criterion, max_depth=3, random_state=0).fit(X, y)
    ours, theirs = manual.tree_, reference.tree_

    np.testing.assert_array_equal(ours.feature, theirs.feature)
    np.testing.assert_array_equal(ours.children_left, theirs.children_left)
    np.testing.assert_array_equal(ours.children_right, theirs.children_right)
    np.testing.assert_array_equal(ours.n_node_samples, theirs.n_node_samples)
    # scikit-learn splits float32 copies of X, so thresholds agree to float32 precision.
    np.testing.assert_allclose(ours.threshold, theirs.threshold, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.impurity, theirs.impurity, atol=1e-12)
    np.testing.assert_allclose(ours.value, theirs.value[:, 0, :], atol=1e-12)
    np.testing.assert_allclose(manual.feature_importances_, reference.feature_importances_)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_root_split_is_the_best_split_by_brute_force(criterion):
    X, y = tie_free_data(seed=3, n_samples=120)
    tree = DecisionTreeClassifier(criterion=criterion, max_depth=1).fit(X, y)

    def impurity(labels):
        fractions = np.bincount(labels, minlength=3) / labels.size
        nonzero = fractions[fractions > 0]
        if criterion == "gini":
            return 1.0 - np.sum(nonzero**2)
        return -np.sum(nonzero * np.log2(nonzero))

    def children_impurity(feature, threshold):
        left = X[:, feature] <= threshold
        return left.sum() * impurity(y[left]) + (~left).sum() * impurity(y[~left])

    best = min(
        children_impurity(feature, threshold)
        for feature in range(X.shape[1])
        for threshold in np.sort(X[:, feature])[:-1]
    )
    chosen = children_impurity(tree.tree_.feature[0], tree.tree_.threshold[0])
    assert chosen == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
@pytest.mark.parametrize("max_depth", [2, 3, 5])
def test_test_accuracy_close_to_sklearn_at_equal_depth(name, max_depth):
    # Equally good splits are chosen between at random (by random_state) in both
    # implementations, and one test sample is worth more than 2 points on iris and wine, so
    # the comparison averages over ten seeds rather than trusting one coin flip.
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    gaps = [
        DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        - SklearnTree(max_depth=max_depth, random_state=seed)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for seed in range(10)
    ]
    assert abs(np.mean(gaps)) <= 0.02


@pytest.mark.parametrize("max_depth", [1, 2, 4, 6])
def test_max_depth_is_honoured(max_depth):
    X, y = datasets.load_breast_cancer(return_X_y=True)
    tree = DecisionTreeClassifier(max_depth=max_depth).fit(X, y)
    assert tree.get_depth() == max_depth
    assert tree.get_n_leaves() <= 2**max_depth


def test_unlimited_depth_fits_training_data_exactly():
    X, y = tie_free_data()
    tree = DecisionTreeClassifier().fit(X, y)
    assert tree.score(X, y) == 1.0
    assert np.all(tree.tree_.impurity[tree.tree_.children_left == TREE_LEAF] == 0.0)


@pytest.mark.parametrize("min_samples_leaf", [1, 5, 20])
def test_min_samples_leaf_is_honoured(min_samples_leaf):
    X, y = datasets.load_wine(return_X_y=True)
    tree = DecisionTreeClassifier(min_samples_leaf=min_samples_leaf).fit(X, y)
    leaves = tree.tree_.children_left == TREE_LEAF
    assert tree.tree_.n_node_samples[leaves].min() >= min_samples_leaf
    # The bound is tight for small leaves: the tree does not stop early to obey it.
    if min_samples_leaf == 1:
        assert tree.tree_.n_node_samples[leaves].min() == 1


def test_min_samples_split_is_honoured():
    X, y = datasets.load_wine(return_X_y=True)
    tree = DecisionTreeClassifier(min_samples_split=30).fit(X, y)
    internal = tree.tree_.children_left != TREE_LEAF
    assert tree.tree_.n_node_samples[internal].min() >= 30


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_both_criteria_learn(criterion):
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    tree = DecisionTreeClassifier(criterion=criterion, max_depth=4, random_state=0)
    assert tree.fit(X_train, y_train).score(X_test, y_test) > 0.88


def test_entropy_is_measured_in_bits_as_in_sklearn():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    tree = DecisionTreeClassifier(criterion="entropy", max_depth=1).fit(X, [0, 0, 1, 1])
    assert tree.tree_.impurity[0] == pytest.approx(1.0)
    assert tree.tree_.threshold[0] == 1.5


def test_feature_importances_sum_to_one_and_favour_informative_features():
    X, y = tie_free_data()
    tree = DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y)
    assert tree.feature_importances_.sum() == pytest.approx(1.0)
    assert np.all(tree.feature_importances_ >= 0)
    # Features 3 and 4 are noise.
    assert tree.feature_importances_[:3].sum() > 0.8


def test_single_leaf_when_nothing_can_split():
    X = np.ones((10, 3))
    tree = DecisionTreeClassifier().fit(X, np.r_[np.zeros(5), np.ones(5)])
    assert tree.get_depth() == 0 and tree.get_n_leaves() == 1
    np.testing.assert_array_equal(tree.feature_importances_, np.zeros(3))
    np.testing.assert_allclose(tree.predict_proba(X), 0.5)


def test_flat_arrays_describe_a_consistent_tree():
    X, y = datasets.load_iris(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    t = tree.tree_
    leaves = t.children_left == TREE_LEAF
    assert np.array_equal(leaves, t.children_right == TREE_LEAF)
    assert np.all(t.feature[leaves] == TREE_UNDEFINED)
    assert np.all(t.feature[~leaves] >= 0)
    internal = np.flatnonzero(~leaves)
    # Pre-order numbering: a left child follows its parent directly.
    np.testing.assert_array_equal(t.children_left[internal], internal + 1)
    np.testing.assert_array_equal(
        t.n_node_samples[internal],
        t.n_node_samples[t.children_left[internal]] + t.n_node_samples[t.children_right[internal]],
    )
    np.testing.assert_allclose(t.value.sum(axis=1), 1.0)
    assert tree.get_n_leaves() == leaves.sum()


def test_predict_proba_is_the_leaf_class_fractions():
    X, y = datasets.load_wine(return_X_y=True)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    proba = tree.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    leaves = tree.apply(X)
    for leaf in np.unique(leaves):
        in_leaf = leaves == leaf
        expected = np.bincount(y[in_leaf], minlength=3) / in_leaf.sum()
        np.testing.assert_allclose(proba[in_leaf], np.tile(expected, (in_leaf.sum(), 1)))


def test_same_random_state_same_tree_with_feature_sampling():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    first = DecisionTreeClassifier(max_features="sqrt", random_state=7).fit(X, y)
    second = DecisionTreeClassifier(max_features="sqrt", random_state=7).fit(X, y)
    other = DecisionTreeClassifier(max_features="sqrt", random_state=8).fit(X, y)
    np.testing.assert_array_equal(first.tree_.feature, second.tree_.feature)
    np.testing.assert_array_equal(first.tree_.threshold, second.tree_.threshold)
    assert not np.array_equal(first.tree_.feature, other.tree_.feature)


@pytest.mark.parametrize(
    "max_features, expected", [(None, 30), (5, 5), (0.5, 15), ("sqrt", 5), ("log2", 4)]
)
def test_max_features_resolves_like_sklearn(max_features, expected):
    X, y = datasets.load_breast_cancer(return_X_y=True)
    tree = DecisionTreeClassifier(max_features=max_features, max_depth=1).fit(X, y)
    assert tree.max_features_ == expected


@pytest.mark.parametrize(
    "parameters, name",
    [
        ({"max_depth": 0}, "max_depth"),
        ({"max_depth": 1.5}, "max_depth"),
        ({"criterion": "mse"}, "criterion"),
        ({"min_samples_split": 1}, "min_samples_split"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
        ({"max_features": "auto"}, "max_features"),
        ({"max_features": 0.0}, "max_features"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters, name):
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        DecisionTreeClassifier(**parameters).fit(X, y)


def test_too_many_max_features_names_the_parameter():
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"max_features=5 .* expected an int in \[1, 4\]"):
        DecisionTreeClassifier(max_features=5).fit(X, y)
