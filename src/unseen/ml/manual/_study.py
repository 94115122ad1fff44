"""Comparing the hand-written classifiers with scikit-learn's: agreement, a bound on it, fit time, and variance.

The functions take fitted or unfitted estimators with scikit-learn's interface and a binary problem; they return
plain dicts and frames, so that a notebook can tabulate and plot them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score


def positive_probability(estimator, X) -> np.ndarray:
    """Probability of the second class (``classes_[1]``) for every row of ``X``."""
    return np.asarray(estimator.predict_proba(X))[:, 1]


def timed_fit(estimator, X, y, repeats: int = 3):
    """Fit a fresh clone of ``estimator`` ``repeats`` times; the last fit and the median seconds of one fit.

    Parameters
    ----------
    estimator : estimator
        Unfitted; it is cloned, never changed.
    X, y : array-like
    repeats : int, default=3
        At least 1.

    Returns
    -------
    fitted : estimator
    seconds : float

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> fitted, seconds = timed_fit(DecisionTreeClassifier(random_state=0), X, y, repeats=2)
    >>> fitted.get_depth() > 0, seconds > 0
    (True, True)
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats!r}.")
    times = []
    for _ in range(repeats):
        fitted = clone(estimator)
        started = time.perf_counter()
        fitted.fit(X, y)
        times.append(time.perf_counter() - started)
    return fitted, statistics.median(times)


def agreement(manual, reference, X, y) -> dict:
    """Accuracy and ROC-AUC of two fitted binary classifiers on ``X, y``, and how far their outputs agree.

    Returns
    -------
    dict
        ``accuracy_manual``, ``accuracy_sklearn``, ``auc_manual``, ``auc_sklearn``, ``prediction_agreement``
        (share of rows with the same predicted class), ``max_probability_gap`` and ``mean_probability_gap``
        (absolute differences of the positive class' probability).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> a = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    >>> agreement(a, a, X, y)["prediction_agreement"]
    1.0
    """
    p_manual, p_reference = positive_probability(manual, X), positive_probability(reference, X)
    gap = np.abs(p_manual - p_reference)
    return {
        "accuracy_manual": float(accuracy_score(y, manual.predict(X))),
        "accuracy_sklearn": float(accuracy_score(y, reference.predict(X))),
        "auc_manual": float(roc_auc_score(y, p_manual)),
        "auc_sklearn": float(roc_auc_score(y, p_reference)),
        "prediction_agreement": float(np.mean(manual.predict(X) == reference.predict(X))),
        "max_probability_gap": float(gap.max()),
        "mean_probability_gap": float(gap.mean()),
    }


def _logistic_gradient(X1, y, theta, penalty):
    """Gradient of mean log loss + sum(penalty * theta**2) / 2 (the intercept, last, has penalty 0)."""
    return X1.T @ (expit(X1 @ theta) - y) / len(y) + penalty * theta


def logistic_gap_bound(X, y, theta_a, theta_b, C: float, X_eval=None) -> dict:
    """How far apart two solutions of the same L2-penalised logistic regression can be, from their gradients.

    Both minimise ``f(theta) = mean_i log_loss_i + ||w||^2 / (2 C n)`` (scikit-learn's objective divided by
    ``C n``, the intercept unpenalised). ``f`` is strongly convex near its minimum with modulus ``mu``, the smallest
    eigenvalue of its Hessian there, so ``||theta_a - theta_b|| <= (||grad f(theta_a)|| + ||grad f(theta_b)||) / mu``
    to first order. A probability moves by at most a quarter of the change of its logit, so on a row ``x`` the
    probabilities differ by at most ``||(x, 1)|| * ||theta_a - theta_b|| / 4``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The training features, as the models saw them (after any scaling).
    y : array-like of shape (n_samples,)
        0/1 labels.
    theta_a, theta_b : array-like of shape (n_features + 1,)
        Coefficients followed by the intercept of each solution.
    C : float
        Inverse penalty strength both were fitted with.
    X_eval : array-like, optional
        Rows to bound the probability gap on; default ``X``.

    Returns
    -------
    dict
        ``gradient_a``, ``gradient_b`` (Euclidean norms), ``strong_convexity`` (``mu``), ``coefficient_bound``,
        ``coefficient_gap`` (the actual ``||theta_a - theta_b||``) and ``probability_bound``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    >>> loose = LogisticRegression(tol=1e-3).fit(X, y)
    >>> tight = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
    >>> def theta(m):
    ...     return np.r_[m.coef_.ravel(), m.intercept_]
    >>> bound = logistic_gap_bound(X, y, theta(loose), theta(tight), C=1.0)
    >>> bool(bound["coefficient_gap"] <= bound["coefficient_bound"])
    True
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    theta_a, theta_b = np.asarray(theta_a, dtype=np.float64), np.asarray(theta_b, dtype=np.float64)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    penalty = np.full(X1.shape[1], 1.0 / (C * len(X)))
    penalty[-1] = 0.0
    gradient_a = float(np.linalg.norm(_logistic_gradient(X1, y, theta_a, penalty)))
    gradient_b = float(np.linalg.norm(_logistic_gradient(X1, y, theta_b, penalty)))
    p = expit(X1 @ theta_a)
    hessian = (X1 * (p * (1 - p))[:, None]).T @ X1 / len(X) + np.diag(penalty)
    mu = float(np.linalg.eigvalsh(hessian)[0])
    coefficient_bound = (gradient_a + gradient_b) / mu
    rows = X1 if X_eval is None else np.hstack([np.asarray(X_eval, dtype=np.float64), np.ones((len(X_eval), 1))])
    return {"gradient_a": gradient_a, "gradient_b": gradient_b, "strong_convexity": mu,
            "coefficient_bound": coefficient_bound, "coefficient_gap": float(np.linalg.norm(theta_a - theta_b)),
            "probability_bound": float(0.25 * np.linalg.norm(rows, axis=1).max() * coefficient_bound)}


def refits_over_seeds(make_model: Callable[[int], object], seeds: Iterable[int], X_train, y_train, X_test,
                      y_test) -> tuple[pd.DataFrame, np.ndarray]:
    """Refit on a bootstrap resample of the training set per seed (the model seeded alike) and score on the test.

    What changes between runs is what an ensemble averages over: the sample a model learns from and, for a forest,
    its own randomness. How much a single tree's predictions move between runs is its variance.

    Parameters
    ----------
    make_model : callable
        ``make_model(seed)`` returns an unfitted binary classifier.
    seeds : iterable of int
    X_train, y_train, X_test, y_test : array-like

    Returns
    -------
    runs : pandas.DataFrame
        One row per seed: ``seed``, ``accuracy``, ``auc``, ``fit_seconds``.
    probabilities : ndarray of shape (n_seeds, n_test)
        The positive class' probability of every test row in every run.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> runs, probabilities = refits_over_seeds(lambda s: DecisionTreeClassifier(random_state=s), range(3),
    ...                                         X[:400], y[:400], X[400:], y[400:])
    >>> runs.shape, probabilities.shape
    ((3, 4), (3, 169))
    """
    X_train, y_train = np.asarray(X_train), np.asarray(y_train)
    rows, probabilities = [], []
    for seed in seeds:
        sample = np.random.default_rng(seed).integers(0, len(X_train), size=len(X_train))
        fitted, seconds = timed_fit(make_model(seed), X_train[sample], y_train[sample], repeats=1)
        probability = positive_probability(fitted, X_test)
        rows.append({"seed": seed, "accuracy": float(accuracy_score(y_test, fitted.predict(X_test))),
                     "auc": float(roc_auc_score(y_test, probability)), "fit_seconds": seconds})
        probabilities.append(probability)
    return pd.DataFrame(rows), np.vstack(probabilities)


def depth_sweep(make_model: Callable[[int | None], object], depths: Iterable[int | None], X_train, y_train, X_test,
                y_test) -> pd.DataFrame:
    """Train and test accuracy and test ROC-AUC of ``make_model(depth)`` for every depth (None: unlimited).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> table = depth_sweep(lambda d: DecisionTreeClassifier(max_depth=d, random_state=0), [1, None],
    ...                     X[:400], y[:400], X[400:], y[400:])
    >>> table["train_accuracy"].tolist()[-1]
    1.0
    """
    rows = []
    for depth in depths:
        fitted = make_model(depth).fit(X_train, y_train)
        rows.append({"max_depth": depth, "train_accuracy": float(accuracy_score(y_train, fitted.predict(X_train))),
                     "test_accuracy": float(accuracy_score(y_test, fitted.predict(X_test))),
                     "test_auc": float(roc_auc_score(y_test, positive_probability(fitted, X_test)))})
    return pd.DataFrame(rows)
