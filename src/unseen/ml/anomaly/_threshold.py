"""Where to cut anomaly scores: a window whose score is above the threshold is flagged.

Without labels the only defensible rule is a false-positive budget: assume the scored windows are normal and put the
threshold so that at most ``target_fpr`` of them lie above it. With labels (a validation set with known attacks) the
threshold can instead maximise F1, or flag as much as possible while keeping a required precision.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.metrics import precision_recall_curve

THRESHOLD_METHODS = ("fpr", "f1", "precision")


def _check_scores(scores: object) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"scores must be a non-empty 1-dimensional array; got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores has missing or infinite values; every window needs a finite score.")
    return values


def _check_labels(labels: object, n: int) -> np.ndarray:
    values = np.asarray(labels)
    if values.shape != (n,):
        raise ValueError(f"labels must have one entry per score ({n}); got shape {values.shape}.")
    if values.dtype == bool:
        return values
    unknown = set(np.unique(values).tolist()) - {0, 1}
    if unknown:
        raise ValueError(f"labels must be 0/1 or boolean (1 = anomaly); got value(s) {sorted(unknown)[:5]}.")
    return values.astype(bool)


def threshold_at_fpr(normal_scores, target_fpr):
    """The lowest threshold that leaves at most ``floor(target_fpr * n)`` of the normal scores above it.

    Parameters
    ----------
    normal_scores : array-like of shape (n_samples,)
        Scores of windows taken to be normal.
    target_fpr : float
        Share of them allowed above the threshold, in [0, 1).

    Returns
    -------
    float

    Examples
    --------
    >>> threshold_at_fpr([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.2)
    8.0
    """
    scores = np.sort(_check_scores(normal_scores))
    if isinstance(target_fpr, bool) or not isinstance(target_fpr, Real) or not 0 <= target_fpr < 1:
        raise ValueError(f"target_fpr must be a share in [0, 1); got {target_fpr!r}.")
    # A small tolerance so that 0.1 * 300 counts as 30, not 29.999...
    allowed = int(np.floor(target_fpr * scores.size + 1e-9))
    return float(scores[scores.size - 1 - allowed])


def _below(sorted_unique: np.ndarray, cut: float) -> float:
    """A threshold that flags exactly the scores >= ``cut``: halfway to the next lower score."""
    position = int(np.searchsorted(sorted_unique, cut))
    if position == 0:
        return float(np.nextafter(cut, -np.inf))
    lower = float(sorted_unique[position - 1])
    middle = lower + (cut - lower) / 2.0
    return middle if lower <= middle < cut else lower


def choose_threshold(scores, labels=None, target_fpr=0.001, method="fpr", *, precision=0.95):
    """Choose the score above which a window is flagged.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Anomaly scores, higher meaning more anomalous.
    labels : array-like of shape (n_samples,) or None, default=None
        1 (or True) for known anomalies. Without labels every score is taken to be normal, which only
        ``method="fpr"`` allows.
    target_fpr : float, default=0.001
        For ``method="fpr"``: the share of normal windows that may lie above the threshold.
    method : {"fpr", "f1", "precision"}, default="fpr"
        ``"fpr"``: the lowest threshold within the false-positive budget, over the normal scores (those with label
        0 when labels are given). ``"f1"``: the threshold of best F1. ``"precision"``: the lowest threshold (most
        recall) whose precision is at least ``precision``.
    precision : float, default=0.95
        The required precision for ``method="precision"``.

    Returns
    -------
    float
        The threshold: scores strictly above it are flagged.

    Raises
    ------
    ValueError
        For a method that needs labels called without them, labels without both classes, or a precision that no
        threshold reaches.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> normal = rng.normal(0.0, 1.0, 1000)
    >>> threshold = choose_threshold(normal, target_fpr=0.01)
    >>> float(np.mean(normal > threshold))
    0.01
    >>> scores = np.r_[normal, rng.normal(5.0, 1.0, 50)]
    >>> labels = np.r_[np.zeros(1000), np.ones(50)]
    >>> 2.0 < choose_threshold(scores, labels, method="f1") < 4.0
    True
    """
    values = _check_scores(scores)
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"method must be one of {list(THRESHOLD_METHODS)}; got {method!r}.")
    truth = None if labels is None else _check_labels(labels, values.size)
    if method == "fpr":
        normal = values if truth is None else values[~truth]
        if normal.size == 0:
            raise ValueError("method='fpr' needs normal scores, but every label is an anomaly.")
        return threshold_at_fpr(normal, target_fpr)
    if truth is None:
        raise ValueError(f"method={method!r} needs labels (1 = anomaly); pass labels or use method='fpr'.")
    if truth.all() or not truth.any():
        raise ValueError(f"method={method!r} needs labels with both normal windows and anomalies.")
    precisions, recalls, cuts = precision_recall_curve(truth, values)
    precisions, recalls = precisions[:-1], recalls[:-1]  # the last point (recall 0) has no threshold
    if method == "f1":
        denominator = precisions + recalls
        f1 = np.divide(2 * precisions * recalls, denominator, out=np.zeros_like(denominator), where=denominator > 0)
        best = int(np.argmax(f1))
    else:
        if isinstance(precision, bool) or not isinstance(precision, Real) or not 0 < precision <= 1:
            raise ValueError(f"precision must be a number in (0, 1]; got {precision!r}.")
        reaching = np.flatnonzero(precisions >= precision)
        if reaching.size == 0:
            raise ValueError(
                f"no threshold reaches precision {precision}; the best these scores allow is {precisions.max():.3f}."
            )
        best = int(reaching[np.argmax(recalls[reaching])])
    return _below(np.unique(values), float(cuts[best]))
