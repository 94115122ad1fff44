"""How well a detector separates attack windows from normal ones, at its threshold and over all thresholds."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ._synthetic import NORMAL

SINGLE_WINDOW_REPEATS = 50
"""Windows scored one at a time to time the online path (its median is reported)."""


def _truth_and_kinds(y_test, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Binary truth (True = attack) and, for text labels, the attack kind of each window."""
    values = np.asarray(y_test.to_numpy() if isinstance(y_test, pd.Series) else y_test)
    if values.shape != (n,):
        raise ValueError(f"y_test must have one label per window ({n}); got shape {values.shape}.")
    if values.dtype.kind in "OUT" or isinstance(values.dtype, pd.StringDtype):
        kinds = values.astype(str)
        return kinds != NORMAL, kinds
    if values.dtype == bool:
        return values, None
    unknown = set(np.unique(values).tolist()) - {0, 1}
    if unknown:
        raise ValueError(
            f"y_test must be 0/1, boolean, or attack kinds with {NORMAL!r} for normal windows; got {sorted(unknown)}."
        )
    return values.astype(bool), None


def _auc(truth: np.ndarray, scores: np.ndarray, metric) -> float:
    return float(metric(truth, scores)) if 0 < truth.sum() < truth.size else float("nan")


def evaluate_detector(detector, X_test, y_test):
    """Precision, recall, F1, ROC-AUC, average precision and false-positive rate of a fitted detector.

    Parameters
    ----------
    detector : BaseAnomalyDetector
        Fitted; windows scored above its ``threshold_`` count as flagged.
    X_test : array-like of shape (n_windows, n_features)
        Window features.
    y_test : array-like of shape (n_windows,)
        1 (or True) for attack windows; or attack kinds with ``"normal"`` for normal windows, which adds the recall
        and the ROC-AUC against the normal windows of each kind (``recall_<kind>``, ``roc_auc_<kind>``).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``fpr`` at the threshold; ``roc_auc`` and ``average_precision`` over all
        thresholds (NaN without both classes); ``threshold``, ``n_windows``, ``n_attacks``, ``n_flagged``; and the
        per-kind entries.

    Examples
    --------
    >>> import numpy as np
    >>> from unseen.ml.anomaly import IsolationForestDetector
    >>> rng = np.random.default_rng(0)
    >>> detector = IsolationForestDetector(random_state=0).fit(rng.normal(size=(400, 2)))
    >>> X_test = np.r_[rng.normal(size=(200, 2)), rng.normal(6.0, 1.0, size=(10, 2))]
    >>> y_test = ["normal"] * 200 + ["flood"] * 10
    >>> result = evaluate_detector(detector, X_test, y_test)
    >>> result["recall"], result["roc_auc_flood"], result["fpr"] < 0.05
    (1.0, 1.0, True)
    """
    check_is_fitted(detector, "threshold_")
    scores = np.asarray(detector.anomaly_score(X_test), dtype=np.float64)
    truth, kinds = _truth_and_kinds(y_test, scores.size)
    flagged = scores > detector.threshold_
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, flagged, average="binary", zero_division=0.0
    )
    normal = ~truth
    result = {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": _auc(truth, scores, roc_auc_score),
        "average_precision": _auc(truth, scores, average_precision_score),
        "fpr": float(flagged[normal].mean()) if normal.any() else float("nan"),
        "threshold": float(detector.threshold_),
        "n_windows": int(scores.size),
        "n_attacks": int(truth.sum()),
        "n_flagged": int(flagged.sum()),
    }
    if kinds is not None:
        for kind in sorted(set(kinds) - {NORMAL}):
            of_kind = kinds == kind
            result[f"recall_{kind}"] = float(flagged[of_kind].mean())
            pair = of_kind | normal
            result[f"roc_auc_{kind}"] = _auc(of_kind[pair], scores[pair], roc_auc_score)
    return result


def _single_window_ms(detector, X_test) -> float:
    """Median time to score one window on its own, as the online detector does."""
    rows = X_test.iloc if isinstance(X_test, pd.DataFrame) else np.asarray(X_test)
    n = min(SINGLE_WINDOW_REPEATS, len(X_test))
    times = []
    for i in range(n):
        one = rows[i:i + 1]
        started = time.perf_counter()
        detector.anomaly_score(one)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3) if times else float("nan")


def compare_detectors(X_train, X_test, y_test, detectors):
    """Fit each detector on the same training windows and evaluate it on the same test windows.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        Training windows (taken to be normal).
    X_test : array-like of shape (n_test, n_features)
        Test windows.
    y_test : array-like of shape (n_test,)
        As for :func:`evaluate_detector`.
    detectors : mapping of name to detector, or list of detectors
        Unfitted detectors; each is cloned before fitting. A list is named by class.

    Returns
    -------
    pandas.DataFrame
        One row per detector, indexed by name: the columns of :func:`evaluate_detector`, then ``fit_s`` (fit
        time), ``score_us_per_window`` (scoring the test set in one call, per window) and ``score_ms_single``
        (median time to score one window alone).

    Examples
    --------
    >>> import numpy as np
    >>> from unseen.ml.anomaly import IsolationForestDetector, OneClassSVMDetector
    >>> rng = np.random.default_rng(0)
    >>> X_train, X_test = rng.normal(size=(300, 2)), np.r_[rng.normal(size=(100, 2)), [[7.0, 7.0]]]
    >>> y_test = np.r_[np.zeros(100), 1]
    >>> table = compare_detectors(X_train, X_test, y_test, {
    ...     "IF": IsolationForestDetector(random_state=0), "OC-SVM": OneClassSVMDetector(random_state=0)})
    >>> table.index.tolist(), table["recall"].tolist()
    (['IF', 'OC-SVM'], [1.0, 1.0])
    """
    if not isinstance(detectors, Mapping):
        detectors = {type(detector).__name__: detector for detector in detectors}
    if not detectors:
        raise ValueError("detectors is empty; pass at least one detector to compare.")
    rows = {}
    for name, detector in detectors.items():
        model = clone(detector)
        started = time.perf_counter()
        model.fit(X_train)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        model.anomaly_score(X_test)
        score_seconds = time.perf_counter() - started
        row = evaluate_detector(model, X_test, y_test)
        row["fit_s"] = fit_seconds
        row["score_us_per_window"] = score_seconds / max(len(X_test), 1) * 1e6
        row["score_ms_single"] = _single_window_ms(model, X_test)
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")
