"""Tests for the hand-written logistic regression."""

import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLogistic
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from unseen.ml.manual import LogisticRegression

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}


def standardised(name):
    X, y = LOADERS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


# Every scikit-learn check passes, so there is no expected-failures dict.
@parametrize_with_checks([LogisticRegression()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "iris"])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_same_optimum_as_sklearn_lbfgs(name, C):
    X, y = standardised(name)
    manual = LogisticRegression(C=C, tol=1e-8).fit(X, y)
    reference = SklearnLogistic(C=C, tol=1e-10, max_iter=10_000).fit(X, y)

    np.testing.assert_allclose(manual.coef_, reference.coef_, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(manual.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    if len(manual.classes_) == 2:
        # The softmax intercepts are only defined up to a shared constant; probabilities
        # above pin them down, the binary intercept is identifiable on its own.
        np.testing.assert_allclose(manual.intercept_, reference.intercept_, atol=1e-4)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_test_accuracy_within_one_point_of_sklearn(name):
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    manual = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    reference = make_pipeline(StandardScaler(), SklearnLogistic()).fit(X_train, y_train)
    assert abs(manual.score(X_test, y_test) - reference.score(X_test, y_test)) <= 0.01


def test_multiclass_probabilities_sum_to_one_and_match_predictions():
    X, y = standardised("wine")
    model = LogisticRegression().fit(X, y)
    proba = model.predict_proba(X)

    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.coef_.shape == (3, X.shape[1])
    assert model.intercept_.shape == (3,)
    assert model.decision_function(X).shape == (X.shape[0], 3)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_binary_shapes_follow_sklearn():
    X, y = standardised("breast_cancer")
    model = LogisticRegression().fit(X, y)

    assert model.coef_.shape == (1, X.shape[1])
    assert model.intercept_.shape == (1,)
    assert model.decision_function(X).shape == (X.shape[0],)
    assert model.n_iter_.shape == (1,) and model.n_iter_[0] >= 1
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The decision function is the log-odds of classes_[1].
    np.testing.assert_allclose(
        model.decision_function(X), np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6, atol=1e-8
    )


def test_string_labels_round_trip():
    X, y = standardised("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression().fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert model.score(X, names) > 0.95


def test_no_intercept_when_not_fitted():
    X, y = standardised("breast_cancer")
    model = LogisticRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(model.intercept_, [0.0])


def test_intercept_is_not_penalised():
    # With a strong penalty the coefficients shrink towards zero but the intercept still
    # matches the class balance: 3 to 1 gives log-odds log(3).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = np.r_[np.ones(300, dtype=int), np.zeros(100, dtype=int)]
    model = LogisticRegression(C=1e-6).fit(X, y)
    assert np.all(np.abs(model.coef_) < 1e-3)
    assert model.intercept_[0] == pytest.approx(np.log(3), abs=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_stable_on_huge_scores_and_separable_data(n_classes):
    # Unscaled, separable clusters 1e4 apart and a weak penalty drive scores far past where
    # a naive exp overflows; log-sum-exp keeps every quantity finite and warning-free.
    rng = np.random.default_rng(1)
    centres = 1e4 * np.eye(3)[:n_classes]
    X = np.concatenate([rng.normal(centre, 1.0, size=(40, 3)) for centre in centres])
    y = np.repeat(np.arange(n_classes), 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(C=1e4, max_iter=500).fit(X, y)
        proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(model.coef_))
    assert model.score(X, y) == 1.0


def test_convergence_warning_when_max_iter_reached():
    X, y = standardised("wine")
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = LogisticRegression(max_iter=1).fit(X, y)
    assert model.n_iter_[0] == 1


def test_no_warning_when_converged():
    X, y = standardised("breast_cancer")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LogisticRegression().fit(X, y)


def test_single_class_is_refused_with_a_clear_message():
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: spam"):
        LogisticRegression().fit(X, ["spam"] * 5)


@pytest.mark.parametrize(
    "parameters, name",
    [
        ({"C": 0.0}, "C"),
        ({"C": -1.0}, "C"),
        ({"tol": -1e-3}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"fit_intercept": "yes"}, "fit_intercept"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters, name):
    X, y = standardised("iris")
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        LogisticRegression(**parameters).fit(X, y)
