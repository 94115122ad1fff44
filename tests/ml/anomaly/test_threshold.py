"""Threshold choice by false-positive budget, best F1 and required precision, checked against brute force."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from unseen.ml.anomaly import choose_threshold, threshold_at_fpr


@pytest.mark.parametrize(("n", "target", "allowed"), [(1000, 0.01, 10), (300, 0.1, 30), (999, 0.001, 0), (50, 0.0, 0)])
def test_fpr_threshold_flags_at_most_the_budget(rng, n, target, allowed):
    scores = rng.normal(size=n)
    threshold = choose_threshold(scores, target_fpr=target)
    assert np.sum(scores > threshold) == allowed
    assert threshold in scores


def test_ties_never_push_the_false_positive_rate_over_budget():
    scores = np.r_[np.zeros(90), np.ones(10)]
    assert np.mean(scores > choose_threshold(scores, target_fpr=0.05)) == 0.0
    assert np.mean(scores > choose_threshold(scores, target_fpr=0.1)) == 0.1


def test_fpr_with_labels_uses_the_normal_scores_only(rng):
    normal, attacks = rng.normal(size=500), rng.normal(10.0, 1.0, 50)
    scores, labels = np.r_[normal, attacks], np.r_[np.zeros(500), np.ones(50)]
    assert choose_threshold(scores, labels, target_fpr=0.02) == threshold_at_fpr(normal, 0.02)


def _every_cut(scores, labels):
    """Precision, recall and F1 of flagging scores >= each distinct score."""
    flagged = scores[None, :] >= np.unique(scores)[:, None]
    hits = (flagged & labels[None, :]).sum(axis=1)
    precision, recall = hits / flagged.sum(axis=1), hits / labels.sum()
    return precision, recall, 2 * precision * recall / np.maximum(precision + recall, 1e-300)


def test_f1_threshold_reaches_the_best_f1(rng):
    scores = np.r_[rng.normal(size=400), rng.normal(2.0, 1.0, 40)]
    labels = np.r_[np.zeros(400), np.ones(40)].astype(bool)
    threshold = choose_threshold(scores, labels, method="f1")
    assert f1_score(labels, scores > threshold) == pytest.approx(_every_cut(scores, labels)[2].max())


def test_f1_threshold_separates_separable_classes():
    scores, labels = np.array([0.1, 0.2, 0.3, 0.8, 0.9]), np.array([0, 0, 0, 1, 1])
    assert choose_threshold(scores, labels, method="f1") == pytest.approx(0.55)


def test_precision_threshold_keeps_the_precision_with_most_recall(rng):
    scores = np.r_[rng.normal(size=400), rng.normal(2.5, 1.0, 40)]
    labels = np.r_[np.zeros(400), np.ones(40)].astype(bool)
    threshold = choose_threshold(scores, labels, method="precision", precision=0.9)
    flagged = scores > threshold
    assert precision_score(labels, flagged) >= 0.9
    precisions, recalls, _ = _every_cut(scores, labels)
    best_recall = recalls[precisions >= 0.9].max()
    assert recall_score(labels, flagged) == pytest.approx(best_recall)


def test_the_lowest_score_can_be_the_cut():
    assert choose_threshold([1.0, 2.0], [0, 1], method="f1") == 1.5
    threshold = choose_threshold([1.0, 1.0, 2.0], [1, 0, 1], method="precision", precision=0.5)
    assert threshold < 1.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "f1"}, "needs labels"),
    ({"method": "youden"}, "method must be one of"),
    ({"target_fpr": 1.0}, r"target_fpr must be a share in \[0, 1\)"),
    ({"labels": [0, 0, 0], "method": "f1"}, "both normal windows and anomalies"),
    ({"labels": [0, 2, 1]}, "labels must be 0/1"),
    ({"labels": [0, 1]}, "one entry per score"),
    ({"labels": [0, 1, 1], "method": "precision", "precision": 1.5}, r"precision must be a number in \(0, 1\]"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        choose_threshold([0.1, 0.5, 0.9], **kwargs)


def test_unreachable_precision_says_what_is_reachable():
    with pytest.raises(ValueError, match="best these scores allow is 0.667"):
        choose_threshold([0.9, 0.8, 0.7], [0, 1, 1], method="precision", precision=0.99)


def test_scores_must_be_finite():
    with pytest.raises(ValueError, match="finite score"):
        choose_threshold([0.1, np.nan])
    with pytest.raises(ValueError, match="non-empty"):
        choose_threshold([])
