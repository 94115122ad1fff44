"""Time-ordered splits, ranking metrics and threshold choice for rare-event classifiers (fraud, churn).

Every metric takes the true labels (0/1 or booleans) and a score where higher means likelier positive. None of them
shuffles anything: the split is by time, so a model is always judged on a period that comes after everything it
learnt from, as it would be in production.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 0, 1, 0, 0, 0])
>>> score = np.array([0.1, 0.2, 0.9, 0.3, 0.4, 0.5, 0.05, 0.0])
>>> round(average_precision(y, score), 3)
0.833
>>> recall_at_precision(y, score, 0.9)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

SPLIT_NAMES = ("train", "valid", "test")


def _labels_scores(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} labels, {s.size} scores")
    if not np.isfinite(s).all():
        raise ValueError(f"{int((~np.isfinite(s)).sum())} score(s) are not finite numbers")
    return y, s


# ---- the split ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSplit:
    """Three consecutive periods: train ``[.., valid_start)``, valid ``[valid_start, test_start)``, test from
    ``test_start`` on. Nothing is shuffled; a model fitted on ``train`` never sees a later day."""

    valid_start: pd.Timestamp
    test_start: pd.Timestamp

    def assign(self, dates) -> np.ndarray:
        """``"train"``, ``"valid"`` or ``"test"`` for each date.

        >>> split = TimeSplit(pd.Timestamp("2019-01-01"), pd.Timestamp("2019-07-01"))
        >>> split.assign(pd.to_datetime(["2018-12-31 23:59", "2019-01-01 00:00", "2019-07-01 00:00"])).tolist()
        ['train', 'valid', 'test']
        """
        when = pd.DatetimeIndex(pd.to_datetime(dates))
        return np.select([when < self.valid_start, when < self.test_start], ["train", "valid"], "test")

    def describe(self, dates, labels=None) -> pd.DataFrame:
        """Rows, first and last time (and positives, positive rate) per period."""
        frame = pd.DataFrame({"date": pd.to_datetime(dates), "split": self.assign(dates)})
        if labels is not None:
            frame["positive"] = np.asarray(labels).astype(bool)
        grouped = frame.groupby("split", sort=False)
        table = grouped["date"].agg(rows="size", first="min", last="max")
        if labels is not None:
            table["positives"] = grouped["positive"].sum()
            table["positive_rate"] = table["positives"] / table["rows"]
        return table.reindex([name for name in SPLIT_NAMES if name in table.index]).rename_axis("split")


def time_split(dates, *, test_months: int = 12, valid_months: int = 12) -> TimeSplit:
    """The last ``test_months`` calendar months for test, the ``valid_months`` before them for validation and
    every earlier month for training.

    Parameters
    ----------
    dates : array-like of datetimes
        When each row happened (transactions, or churn cut-offs).
    test_months, valid_months : int
        Whole calendar months, counted back from the month of the latest date.

    Raises
    ------
    ValueError
        If the dates do not span enough months to leave at least one month of training data.

    Examples
    --------
    >>> dates = pd.date_range("2010-01-01", "2019-10-31", freq="7D")
    >>> split = time_split(dates, test_months=12, valid_months=6)
    >>> str(split.valid_start.date()), str(split.test_start.date())
    ('2018-05-01', '2018-11-01')
    """
    for name, value in (("test_months", test_months), ("valid_months", valid_months)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a whole number of months of at least 1, not {value!r}")
    when = pd.DatetimeIndex(pd.to_datetime(dates))
    if len(when) == 0:
        raise ValueError("no dates to split: the frame is empty")
    first, last = when.min().to_period("M"), when.max().to_period("M")
    test_start = (last - (test_months - 1)).to_timestamp()
    valid_start = (last - (test_months + valid_months - 1)).to_timestamp()
    if first.to_timestamp() >= valid_start:
        months = (last - first).n + 1
        raise ValueError(f"the data span {months} month(s) ({first} to {last}); a split with {valid_months} "
                         f"validation and {test_months} test month(s) leaves no month to train on")
    return TimeSplit(valid_start=valid_start, test_start=test_start)


# ---- metrics -----------------------------------------------------------------------------------------------------


def average_precision(y_true, score) -> float:
    """Area under the precision-recall curve as a step function (scikit-learn's definition); the positive rate
    for a score that carries no information, 1 for a perfect ranking. 0 when there is no positive."""
    y, s = _labels_scores(y_true, score)
    return float(average_precision_score(y, s)) if y.any() else 0.0


def roc_auc(y_true, score) -> float:
    """Probability that a random positive scores above a random negative (ties count half); NaN with one class."""
    y, s = _labels_scores(y_true, score)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else float("nan")


def recall_at_precision(y_true, score, precision: float = 0.9) -> float:
    """Largest recall over the thresholds whose alerts are at least ``precision`` positive; 0 if none is.

    >>> recall_at_precision([1, 1, 0, 1], [0.9, 0.8, 0.7, 0.1], precision=0.9)
    0.6666666666666666
    """
    if not 0 < precision <= 1:
        raise ValueError(f"precision must be above 0 and at most 1, not {precision!r}")
    y, s = _labels_scores(y_true, score)
    if not y.any():
        return 0.0
    curve_precision, curve_recall, _ = precision_recall_curve(y, s)
    # The curve's last point (precision 1, recall 0) stands for "no alerts" and is no threshold.
    reached = curve_precision[:-1] >= precision
    return float(curve_recall[:-1][reached].max()) if reached.any() else 0.0


def precision_at_top_k_per_day(y_true, score, days, k: int = 10) -> pd.Series:
    """Per day, the share of positives among that day's ``k`` highest-scoring rows (all of them on a day with
    fewer): what an analyst who can review ``k`` alerts a day would find. Ties are broken by row order.

    Returns a Series indexed by day; its mean is the usual summary. Days with no positive count (as 0).

    >>> days = ["d1", "d1", "d1", "d2", "d2"]
    >>> precision_at_top_k_per_day([1, 0, 1, 0, 1], [0.9, 0.8, 0.1, 0.7, 0.2], days, k=2).tolist()
    [0.5, 0.5]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number of alerts of at least 1, not {k!r}")
    y, s = _labels_scores(y_true, score)
    frame = pd.DataFrame({"day": np.asarray(days), "score": s, "y": y, "row": np.arange(y.size)})
    if frame.empty:
        return pd.Series(dtype=np.float64, name=f"precision_at_{k}")
    top = frame.sort_values(["day", "score", "row"], ascending=[True, False, True], kind="stable")
    top = top.groupby("day", sort=True).head(k)
    per_day = top.groupby("day", sort=True)["y"].agg(["sum", "size"])
    return (per_day["sum"] / per_day["size"]).rename(f"precision_at_{k}")


def lift_at_top(y_true, score, fraction: float = 0.1) -> float:
    """Positive rate among the top ``fraction`` of rows by score, divided by the overall positive rate (1 means
    no better than chance). NaN without positives.

    >>> lift_at_top([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], fraction=0.1)
    5.0
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be above 0 and at most 1, not {fraction!r}")
    y, s = _labels_scores(y_true, score)
    if not y.any():
        return float("nan")
    n_top = max(1, int(round(fraction * y.size)))
    order = np.argsort(-s, kind="stable")[:n_top]
    return float(y[order].mean() / y.mean())


def ranking_metrics(y_true, score, *, days=None, k: int = 10, precision: float = 0.9) -> dict[str, float]:
    """Average precision, ROC-AUC, recall at ``precision`` and, when ``days`` are given, mean precision among the
    top ``k`` per day, in one dict."""
    row = {"average_precision": average_precision(y_true, score), "roc_auc": roc_auc(y_true, score),
           f"recall_at_{round(precision * 100)}_precision": recall_at_precision(y_true, score, precision)}
    if days is not None:
        row[f"precision_at_{k}_per_day"] = float(precision_at_top_k_per_day(y_true, score, days, k).mean())
    return row


# ---- thresholds --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A score above or at ``value`` raises an alert. ``rule`` says how it was chosen; the counts are on the rows
    it was chosen on (validation)."""

    value: float
    rule: str
    reached: bool
    """False when the target could not be met; ``value`` is then ``inf`` (no alerts)."""
    alerts: int
    precision: float
    recall: float
    cost: float | None = None

    def apply(self, score) -> np.ndarray:
        return np.asarray(score, dtype=np.float64) >= self.value


def _cumulative_at_cuts(y: np.ndarray, s: np.ndarray, weight: np.ndarray | None = None):
    """For each distinct score (descending), alerts and positives (and positive weight) at or above it."""
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    alerts = np.arange(1, s.size + 1)[last_of_run]
    caught = np.cumsum(y_sorted)[last_of_run]
    caught_weight = None if weight is None else np.cumsum(weight[order] * y_sorted)[last_of_run]
    return s_sorted[last_of_run], alerts, caught, caught_weight


def threshold_for_precision(y_true, score, precision: float = 0.9) -> Threshold:
    """The lowest threshold whose alerts are at least ``precision`` positive: the most recall at that precision.

    >>> t = threshold_for_precision([1, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.1], precision=0.75)
    >>> t.value, t.alerts, t.precision, t.recall
    (0.6, 4, 0.75, 1.0)
    """
    if not 0 < precision <= 1:
        raise ValueError(f"precision must be above 0 and at most 1, not {precision!r}")
    y, s = _labels_scores(y_true, score)
    rule = f"precision >= {precision:g} on validation"
    if not y.any():
        return Threshold(float("inf"), rule, False, 0, 0.0, 0.0)
    cuts, alerts, caught, _ = _cumulative_at_cuts(y, s)
    ok = np.flatnonzero(caught / alerts >= precision)
    if ok.size == 0:
        return Threshold(float("inf"), rule, False, 0, 0.0, 0.0)
    best = ok[-1]
    return Threshold(float(cuts[best]), rule, True, int(alerts[best]), float(caught[best] / alerts[best]),
                     float(caught[best] / y.sum()))


def threshold_for_cost(y_true, score, *, amounts=None, review_cost: float = 5.0,
                       missed_cost: float = 100.0) -> Threshold:
    """The threshold with the lowest expected cost: every alert costs ``review_cost`` (an analyst's time, a call
    to the card holder) and every missed positive costs its amount (the chargeback) when ``amounts`` are given,
    else ``missed_cost``. Raising no alert at all is one of the candidates.

    >>> t = threshold_for_cost([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], review_cost=10, missed_cost=100)
    >>> t.value, t.alerts, t.cost
    (0.7, 3, 30.0)
    """
    if review_cost < 0 or missed_cost < 0:
        raise ValueError(f"costs must be at least 0, not review_cost={review_cost!r}, missed_cost={missed_cost!r}")
    y, s = _labels_scores(y_true, score)
    if amounts is None:
        loss = np.full(y.size, float(missed_cost))
        rule = f"least cost on validation: {review_cost:g} per alert, {missed_cost:g} per missed positive"
    else:
        loss = np.abs(np.asarray(amounts, dtype=np.float64).ravel())
        if loss.shape != y.shape:
            raise ValueError(f"amounts and labels differ in length: {loss.size} amounts, {y.size} labels")
        rule = f"least cost on validation: {review_cost:g} per alert, the amount of each missed positive"
    total_loss = float(loss[y].sum())
    if y.size == 0:
        return Threshold(float("inf"), rule, True, 0, 0.0, 0.0, 0.0)
    cuts, alerts, caught, caught_loss = _cumulative_at_cuts(y, s, loss)
    costs = review_cost * alerts + (total_loss - caught_loss)
    best = int(np.argmin(costs))
    positives = max(int(y.sum()), 1)
    if total_loss <= costs[best]:  # raising no alert is at least as cheap
        return Threshold(float("inf"), rule, True, 0, 0.0, 0.0, total_loss)
    return Threshold(float(cuts[best]), rule, True, int(alerts[best]), float(caught[best] / alerts[best]),
                     float(caught[best] / positives), float(costs[best]))


def alert_outcome(y_true, score, threshold: Threshold, *, amounts=None, review_cost: float = 5.0,
                  missed_cost: float = 100.0) -> dict[str, float]:
    """What a threshold chosen on validation does on other rows (test): alerts, precision, recall and cost."""
    y, s = _labels_scores(y_true, score)
    alert = threshold.apply(s)
    loss = np.full(y.size, float(missed_cost)) if amounts is None else np.abs(np.asarray(amounts, dtype=float))
    caught = int((alert & y).sum())
    return {"alerts": int(alert.sum()), "precision": caught / alert.sum() if alert.any() else 0.0,
            "recall": caught / y.sum() if y.any() else 0.0,
            "cost": float(review_cost * alert.sum() + loss[y & ~alert].sum())}
