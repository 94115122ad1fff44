"""Why a model raised an alert: per-feature contributions to one row's score, cheap enough for every alert.

Three ways, one per kind of model:

- **linear** (logistic regression): ``coef_j * z_j``, the feature's share of the log-odds, where ``z_j`` is the
  row's value as the model saw it (after scaling); the contributions plus the intercept are the log-odds.
- **tree paths** (a decision tree, a forest of them): the row is walked from the root to its leaf, and every split
  that moves the positive-class share from a node to its child credits the change to the split's feature
  (Saabas's decomposition); the root's share plus the contributions is the leaf's share, averaged over a forest's
  trees.
- **substitution** (any model, here gradient boosting): the score drop when one feature at a time is replaced by
  its training median; ``n_features`` extra predictions per row.

>>> import numpy as np
>>> reasons(np.array([[0.5, -0.1, 2.0]]), ["amount", "hour", "errors"], np.array([[900.0, 3, 1]]), top=2)
['errors = 1 (+2.00); amount = 900 (+0.50)']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def linear_contributions(coef: np.ndarray, transformed: np.ndarray) -> np.ndarray:
    """``coef * transformed`` row by row: each feature's term of the log-odds."""
    return np.asarray(transformed, dtype=np.float64) * np.asarray(coef, dtype=np.float64).ravel()[None, :]


def tree_path_contributions(children_left: np.ndarray, children_right: np.ndarray, feature: np.ndarray,
                            threshold: np.ndarray, positive_share: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Saabas contributions of one fitted tree given as flat arrays (leaves have ``children_left == -1``).

    ``positive_share[node]`` is the positive class's share of the node's training rows. Returns an
    ``(n_rows, n_features)`` array whose row sums equal ``leaf share - root share``.

    >>> left, right = np.array([1, -1, -1]), np.array([2, -1, -1])
    >>> tree_path_contributions(left, right, np.array([0, -2, -2]), np.array([0.5, -2, -2]),
    ...                         np.array([0.2, 0.0, 0.8]), np.array([[1.0, 7.0], [0.0, 7.0]])).round(2).tolist()
    [[0.6, 0.0], [-0.2, 0.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    contributions = np.zeros(X.shape, dtype=np.float64)
    node = np.zeros(n, dtype=np.intp)
    rows = np.arange(n)
    while True:
        internal = children_left[node] >= 0
        if not internal.any():
            return contributions
        at, here = rows[internal], node[internal]
        split = feature[here]
        goes_left = X[at, split] <= threshold[here]
        child = np.where(goes_left, children_left[here], children_right[here])
        np.add.at(contributions, (at, split), positive_share[child] - positive_share[here])
        node[internal] = child


def forest_path_contributions(trees: Sequence[tuple], X: np.ndarray) -> np.ndarray:
    """Mean of :func:`tree_path_contributions` over trees given as ``(left, right, feature, threshold, share)``."""
    total = np.zeros(np.shape(X), dtype=np.float64)
    for tree in trees:
        total += tree_path_contributions(*tree, X)
    return total / max(len(trees), 1)


def substitution_contributions(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                               baseline: np.ndarray) -> np.ndarray:
    """``predict(row) - predict(row with feature j set to baseline[j])`` for every row and feature."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    if n == 0:
        return np.zeros((0, p))
    base = predict(X)
    swapped = np.repeat(X[None, :, :], p, axis=0)  # (p, n, p): copy j has feature j replaced
    swapped[np.arange(p), :, np.arange(p)] = np.asarray(baseline, dtype=np.float64)[:, None]
    changed = predict(swapped.reshape(p * n, p)).reshape(p, n)
    return (base[None, :] - changed).T


def reasons(contributions: np.ndarray, names: Sequence[str], values: np.ndarray, *, top: int = 3) -> list[str]:
    """One line per row: the ``top`` features that pushed its score up most, with their values and shares."""
    lines = []
    for row_contribution, row_value in zip(np.asarray(contributions), np.asarray(values), strict=True):
        order = np.argsort(-row_contribution, kind="stable")[:top]
        parts = [f"{names[j]} = {_number(row_value[j])} ({row_contribution[j]:+.2f})" for j in order
                 if row_contribution[j] > 0]
        lines.append("; ".join(parts) if parts else "no feature raised the score")
    return lines


def _number(value: float) -> str:
    value = float(value)
    if np.isfinite(value) and value == round(value) and abs(value) < 1e9:
        return f"{int(round(value))}"
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
