"""The request-anomaly study (notebook 02): detectors fitted as novelty detectors on a normal period, and every
method (rules, detectors, rules or detector) judged per window and per attacker against the synthetic log's labels.

The study's log, with its bot net and the rules' verdicts, comes from :mod:`._study_log`, whose names are
re-exported here so that the notebook has one place to import from.

A window counts as flagged by a detector when its score is above the detector's threshold and it holds at least
``min_requests`` requests, which is how the served :class:`~unseen.ml.anomaly.WindowModel` decides. It counts as
flagged by the rules when at least one of its requests is in a flagged category (``anomaly`` means the rules act
on it; ``warning`` means they only note it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import precision_recall_fscore_support

from ._base import BaseAnomalyDetector
from ._features import KEY_COLUMNS
from ._study_log import DISTRIBUTED_FLOOD, add_distributed_flood, flagged_by_rules, judge_with_rules, peak_requests
from ._synthetic import NORMAL
from ._threshold import choose_threshold, threshold_at_fpr

__all__ = ["DISTRIBUTED_FLOOD", "DetectorRun", "add_distributed_flood", "detection_delays", "detection_summary",
           "fit_on_normal_period", "flagged_by_rules", "judge_with_rules", "peak_requests", "recall_by_kind",
           "threshold_policies"]


@dataclass
class DetectorRun:
    """One detector fitted on the normal period: its scores for every window and what it flags."""

    name: str
    detector: BaseAnomalyDetector
    scores: np.ndarray
    threshold: float
    flagged: np.ndarray
    judged: np.ndarray
    """Windows with at least ``min_requests`` requests: the only ones it may flag."""
    train: np.ndarray
    """Windows it was fitted on (judged windows of the normal period before the calibration part)."""
    calibration: np.ndarray
    """Judged windows of the normal period it was not fitted on; its threshold keeps the budget on those."""
    fit_seconds: float
    score_seconds: float
    """Time to score every window in one call."""


def fit_on_normal_period(windows, detectors, *, features, train_end, calibration=0.5, target_fpr=0.01,
                         min_requests=10, exclude=None):
    """Fit each detector on the windows ending by ``train_end`` and set its threshold as a false-positive budget.

    No label is read: the normal period is assumed to be normal, as production traffic that the rules let through
    is. Only windows with at least ``min_requests`` requests are used, since no other window is ever flagged. The
    latest ``calibration`` share of them (by window end) is held out. Each detector is cloned and fitted on the
    rest. Its threshold is then the lowest one that leaves at most ``target_fpr`` of the held-out windows above it,
    which is a budget measured on windows the model did not see (the in-sample share of the training windows would
    understate it).

    Parameters
    ----------
    windows : pandas.DataFrame
        Output of :func:`~unseen.ml.anomaly.window_features`.
    detectors : mapping of str to BaseAnomalyDetector
        Unfitted detectors by name.
    features : sequence of str
        The feature columns the detectors see.
    train_end : Timestamp
        End of the normal period.
    calibration : float, default=0.5
        Share of the normal period's judged windows (the latest) held out to set the threshold.
    target_fpr : float, default=0.01
        The false-positive budget.
    min_requests : int, default=10
        Windows with fewer requests are neither learnt from nor flagged.
    exclude : array-like of bool or None, default=None
        Windows never learnt from, such as those of clients the rules flagged: a normal period is only as clean
        as what is known about it, and the served model leaves those clients out the same way.

    Returns
    -------
    dict of str to DetectorRun

    Examples
    --------
    >>> from unseen.ml.anomaly import IsolationForestDetector, synthetic_requests, window_features
    >>> log = synthetic_requests(40, attacks=["flood"], attackers_per_kind=1, hours=4, random_state=0)
    >>> windows = window_features(log, step="10s")
    >>> runs = fit_on_normal_period(windows, {"if": IsolationForestDetector(random_state=0)},
    ...                             features=["n_requests", "requests_per_second"],
    ...                             train_end=log["at"].min() + pd.Timedelta(hours=2), target_fpr=0.05)
    >>> run = runs["if"]
    >>> bool(run.train.any() and run.calibration.any()), bool(run.flagged[run.calibration].mean() <= 0.05)
    (True, True)
    """
    if not 0 < calibration < 1:
        raise ValueError(f"calibration must be a share strictly between 0 and 1; got {calibration!r}.")
    ends = windows["window_end"]
    judged = (windows["n_requests"] >= min_requests).to_numpy()
    normal_period = (ends <= train_end).to_numpy() & judged
    if exclude is not None:
        normal_period &= ~np.asarray(exclude, dtype=bool)
    if normal_period.sum() < 4:
        raise ValueError(f"only {int(normal_period.sum())} windows with at least {min_requests} requests end by "
                         f"{train_end}; the normal period needs more.")
    cut = ends[normal_period].quantile(1 - calibration, interpolation="lower")
    train = normal_period & (ends <= cut).to_numpy()
    held = normal_period & ~train
    if not train.any() or not held.any():
        raise ValueError(f"the normal period's {int(normal_period.sum())} windows leave none to fit or none to "
                         f"calibrate on at calibration={calibration}; lengthen the normal period.")
    X = windows[list(features)]
    runs = {}
    for name, unfitted in detectors.items():
        started = time.perf_counter()
        detector = clone(unfitted).set_params(contamination=target_fpr).fit(X[train])
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        scores = detector.anomaly_score(X)
        score_seconds = time.perf_counter() - started
        detector.set_threshold(threshold_at_fpr(scores[held], target_fpr))
        flagged = (scores > detector.threshold_) & judged
        runs[name] = DetectorRun(name, detector, scores, float(detector.threshold_), flagged, judged, train, held,
                                 fit_seconds, score_seconds)
    return runs


def _check_flags(flagged: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    out = {}
    for method, marks in flagged.items():
        marks = np.asarray(marks, dtype=bool)
        if marks.shape != (n,):
            raise ValueError(f"{method}: {marks.shape[0]} flags for {n} windows.")
        out[method] = marks
    return out


def recall_by_kind(flagged: Mapping[str, np.ndarray], labels, *, mask=None):
    """The share of windows each method flagged, per label: recall for an attack kind, the false-positive rate for
    ``"normal"``.

    Parameters
    ----------
    flagged : mapping of method name to boolean array
        One entry per window.
    labels : array-like of str
        The window labels (:func:`~unseen.ml.anomaly.window_labels`).
    mask : array-like of bool or None
        Only these windows (the test period).

    Returns
    -------
    pandas.DataFrame
        One row per method and label: ``method``, ``kind``, ``windows``, ``flagged``, ``share_flagged``.

    Examples
    --------
    >>> recall_by_kind({"rules": np.array([True, False, False, True])}, ["flood", "flood", "normal", "normal"])
      method   kind  windows  flagged  share_flagged
    0  rules  flood        2        1            0.5
    1  rules normal        2        1            0.5
    """
    labels = np.asarray(labels, dtype=object)
    keep = np.ones(len(labels), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    rows = []
    for method, marks in _check_flags(flagged, len(labels)).items():
        for kind in sorted(set(labels[keep]) - {NORMAL}) + [NORMAL]:
            of_kind = keep & (labels == kind)
            n = int(of_kind.sum())
            if n:
                rows.append({"method": method, "kind": kind, "windows": n, "flagged": int(marks[of_kind].sum()),
                             "share_flagged": float(marks[of_kind].mean())})
    return pd.DataFrame(rows, columns=["method", "kind", "windows", "flagged", "share_flagged"])


def detection_summary(flagged: Mapping[str, np.ndarray], labels, *, mask=None):
    """Precision, recall, F1 and false-positive rate of each method over all attack kinds at once.

    Recall per kind is :func:`recall_by_kind`; precision has no kind (a false alarm is of none), so it is given
    here, with ``macro_recall``, the mean of the per-kind recalls, which weighs a rare kind as much as a long one.

    Examples
    --------
    >>> detection_summary({"rules": np.array([True, False, False, True, False])},
    ...                   ["flood", "flood", "normal", "normal", "scraping"])
      method  precision    recall   f1  fpr  macro_recall  flagged
    0  rules        0.5  0.333333  0.4  0.5          0.25        2
    """
    labels = np.asarray(labels, dtype=object)
    keep = np.ones(len(labels), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    truth = labels[keep] != NORMAL
    kinds = sorted(set(labels[keep]) - {NORMAL})
    rows = []
    for method, marks in _check_flags(flagged, len(labels)).items():
        marks = marks[keep]
        precision, recall, f1, _ = precision_recall_fscore_support(truth, marks, average="binary", zero_division=0.0)
        per_kind = [marks[labels[keep] == kind].mean() for kind in kinds]
        rows.append({"method": method, "precision": float(precision), "recall": float(recall), "f1": float(f1),
                     "fpr": float(marks[~truth].mean()) if (~truth).any() else float("nan"),
                     "macro_recall": float(np.mean(per_kind)) if kinds else float("nan"),
                     "flagged": int(marks.sum())})
    return pd.DataFrame(rows)


def detection_delays(log, windows, flagged: Mapping[str, np.ndarray], *, rule_categories=None, by="ip",
                     label="attack"):
    """How soon each attacker was flagged: per attacker (a key, IP or session, that sent attack requests) and method.

    A window method flags an attacker when it flags one of the attacker's windows. That happens at the window's end,
    which lies on the grid of ``window_features``' ``step``; the monitor judges a window at every request, so it can
    be up to one step sooner. The rules flag an attacker at the first request they put in ``anomaly``. With
    ``rule_categories``, the method ``"rules"`` and, for every window method, ``"rules or <method>"`` (whichever is
    first) are added.

    Parameters
    ----------
    log : pandas.DataFrame
        The request log, with the ``label`` column (``"normal"`` for normal requests).
    windows : pandas.DataFrame
        ``window_features(log, by=by, ...)``.
    flagged : mapping of method name to boolean array
        One entry per row of ``windows``.
    rule_categories : array-like of str or None
        The rules' category of every request of ``log``.
    by : {"ip", "session"}, default="ip"
    label : str, default="attack"

    Returns
    -------
    pandas.DataFrame
        One row per attacker and method: the key, ``kind`` (its most frequent attack label), ``requests`` it sent,
        ``method``, ``detected``, ``delay_s`` from its first request to being flagged and ``requests_until``, the
        requests it had sent by then (both NaN when never flagged).

    Examples
    --------
    >>> log = pd.DataFrame({"ip": ["a", "a", "a", "b"], "attack": ["sql_injection"] * 3 + ["normal"],
    ...     "at": pd.to_datetime(["2026-11-20 10:00:01", "2026-11-20 10:00:30", "2026-11-20 10:01:30",
    ...                           "2026-11-20 10:00:05"], utc=True)})
    >>> windows = pd.DataFrame({"ip": ["a", "a", "b"], "window_end": pd.to_datetime(
    ...     ["2026-11-20 10:01", "2026-11-20 10:02", "2026-11-20 10:01"], utc=True)})
    >>> delays = detection_delays(log, windows, {"model": [False, True, False]},
    ...                           rule_categories=["anomaly", "anomaly", "normal", "normal"])
    >>> delays[["ip", "method", "delay_s", "requests_until"]]
      ip          method  delay_s  requests_until
    0  a           model    119.0             3.0
    1  a           rules      0.0             1.0
    2  a  rules or model      0.0             1.0
    """
    key = KEY_COLUMNS[by]
    flags = _check_flags(flagged, len(windows))
    attacks = log[log[label].astype(str) != NORMAL]
    attacks = attacks[attacks[key].notna()].sort_values("at", kind="stable")
    categories = None if rule_categories is None else pd.Series(np.asarray(rule_categories), index=log.index)
    rows = []
    for attacker, requests in attacks.groupby(key, sort=True):
        times = requests["at"]
        first = times.iloc[0]
        own = (windows[key] == attacker).to_numpy()
        found: dict[str, pd.Timestamp | None] = {}
        for method, marks in flags.items():
            ends = windows.loc[own & marks, "window_end"]
            found[method] = ends.min() if len(ends) else None
        if categories is not None:
            ruled = times[(categories.loc[requests.index] == "anomaly").to_numpy()]
            found["rules"] = ruled.iloc[0] if len(ruled) else None
            for method in flags:
                both = [at for at in (found[method], found["rules"]) if at is not None]
                found[f"rules or {method}"] = min(both) if both else None
        kind = requests[label].astype(str).value_counts().index[0]
        for method, at in found.items():
            rows.append({key: attacker, "kind": kind, "requests": len(requests), "method": method,
                         "detected": at is not None,
                         "delay_s": float((at - first).total_seconds()) if at is not None else np.nan,
                         "requests_until": float((times <= at).sum()) if at is not None else np.nan})
    return pd.DataFrame(rows, columns=[key, "kind", "requests", "method", "detected", "delay_s", "requests_until"])


def threshold_policies(run: DetectorRun, labels, test, *, budgets=(0.001, 0.01, 0.05)):
    """What each way of cutting one detector's scores flags on the test windows.

    - ``budget x%``: :func:`threshold_at_fpr` on the detector's calibration windows, set without labels, as in
      production. A budget below one window in ``calibration_windows`` cannot be told apart from zero: it gives
      the highest calibration score (``resolvable`` is False).
    - ``library default``: the detector's own cut for ``contamination="auto"`` (0.5 for the Isolation Forest, the
      SVM's boundary, which leaves about ``nu`` of the training windows outside).
    - ``oracle best F1`` and ``oracle precision 0.95``: :func:`choose_threshold` on the test labels themselves. No
      shop has those labels; the rows show what the budget leaves on the table.

    Parameters
    ----------
    run : DetectorRun
        From :func:`fit_on_normal_period`.
    labels : array-like of str
        Window labels.
    test : array-like of bool
        The test windows (only the judged ones among them count).
    budgets : sequence of float
        False-positive budgets.

    Returns
    -------
    pandas.DataFrame
        One row per policy: ``policy``, ``needs_labels``, ``resolvable``, ``threshold``, ``precision``, ``recall``,
        ``fpr``, ``flagged``, and ``calibration_windows``.
    """
    labels = np.asarray(labels, dtype=object)
    candidates = np.asarray(test, dtype=bool) & run.judged
    truth = labels[candidates] != NORMAL
    scores = run.scores[candidates]
    n_calibration = int(run.calibration.sum())
    cuts = [(f"budget {budget:.1%}", False, budget * n_calibration >= 1,
             threshold_at_fpr(run.scores[run.calibration], budget)) for budget in budgets]
    cuts.append(("library default", False, True, float(run.detector._auto_threshold())))
    for method in ("f1", "precision"):
        try:
            cut = choose_threshold(scores, truth, method=method)
        except ValueError:  # no threshold reaches the precision, or the test windows lack a class
            continue
        cuts.append((f"oracle {'best F1' if method == 'f1' else 'precision 0.95'}", True, True, cut))
    rows = []
    for policy, needs_labels, resolvable, cut in cuts:
        marks = scores > cut
        precision, recall, _, _ = precision_recall_fscore_support(truth, marks, average="binary", zero_division=0.0)
        rows.append({"policy": policy, "needs_labels": needs_labels, "resolvable": bool(resolvable),
                     "threshold": float(cut), "precision": float(precision), "recall": float(recall),
                     "fpr": float(marks[~truth].mean()) if (~truth).any() else float("nan"),
                     "flagged": int(marks.sum()), "calibration_windows": n_calibration})
    return pd.DataFrame(rows)
