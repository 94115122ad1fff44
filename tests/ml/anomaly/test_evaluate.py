"""Evaluation at the threshold and over all thresholds, per attack kind, and the side-by-side comparison."""

import numpy as np
import pandas as pd
import pytest

from unseen.ml.anomaly import (
    BaseAnomalyDetector,
    IsolationForestDetector,
    OneClassSVMDetector,
    compare_detectors,
    evaluate_detector,
)


class FirstColumn(BaseAnomalyDetector):
    """Scores a window by its first feature: a detector whose every score is known in advance."""

    _parameter_constraints: dict = {}

    def __init__(self, *, compress=False, contamination=0.1):
        self.compress = compress
        self.contamination = contamination

    def _fit(self, Z):
        pass

    def _score(self, Z):
        return Z[:, 0].copy()


def test_metrics_at_a_known_threshold():
    detector = FirstColumn().fit(np.arange(10.0).reshape(-1, 1)).set_threshold(4.5)
    X_test = np.array([[1.0], [2.0], [5.0], [6.0], [3.0], [7.0], [8.0], [0.0]])
    y_test = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    result = evaluate_detector(detector, X_test, y_test)
    # Flagged: 5, 6, 7, 8; attacks: 6, 3, 7, 8. Three hits, one false alarm among four normal windows.
    assert result["precision"] == 0.75 and result["recall"] == 0.75 and result["f1"] == 0.75
    assert result["fpr"] == 0.25 and result["n_flagged"] == 4 and result["n_attacks"] == 4
    assert result["roc_auc"] == pytest.approx(15 / 16)  # only the attack at 3 is below a normal window (5)
    assert result["threshold"] == 4.5


def test_per_kind_recall_and_auc_for_text_labels():
    detector = FirstColumn().fit(np.arange(10.0).reshape(-1, 1)).set_threshold(4.5)
    X_test = np.array([[1.0], [2.0], [9.0], [8.0], [3.0], [6.0]])
    y_test = pd.Series(["normal", "normal", "flood", "flood", "scraping", "scraping"], dtype="str")
    result = evaluate_detector(detector, X_test, y_test)
    assert result["recall_flood"] == 1.0 and result["roc_auc_flood"] == 1.0
    assert result["recall_scraping"] == 0.5 and result["roc_auc_scraping"] == 1.0
    assert result["recall"] == 0.75


def test_one_class_gives_nan_auc_and_no_error():
    detector = FirstColumn().fit(np.arange(10.0).reshape(-1, 1))
    result = evaluate_detector(detector, np.array([[1.0], [2.0]]), [0, 0])
    assert np.isnan(result["roc_auc"]) and np.isnan(result["average_precision"])


def test_bad_labels_are_named():
    detector = FirstColumn().fit(np.arange(10.0).reshape(-1, 1))
    with pytest.raises(ValueError, match="one label per window"):
        evaluate_detector(detector, np.array([[1.0], [2.0]]), [0])
    with pytest.raises(ValueError, match="0/1, boolean, or attack kinds"):
        evaluate_detector(detector, np.array([[1.0], [2.0]]), [0, 3])


def test_compare_detectors_fits_clones_and_times_them(split):
    detectors = {"IF": IsolationForestDetector(n_estimators=50, random_state=0),
                 "OC-SVM": OneClassSVMDetector(random_state=0)}
    table = compare_detectors(split.X_train, split.X_test, split.y_test, detectors)
    assert table.index.tolist() == ["IF", "OC-SVM"]
    for column in ("precision", "recall", "f1", "roc_auc", "average_precision", "fpr", "fit_s",
                   "score_us_per_window", "score_ms_single", "recall_flood", "roc_auc_sql_injection"):
        assert column in table.columns
    assert (table["roc_auc"] > 0.95).all()
    assert (table["fit_s"] > 0).all() and (table["score_ms_single"] > 0).all()
    assert not hasattr(detectors["IF"], "threshold_")  # the originals stay unfitted


def test_compare_detectors_names_a_list_by_class(split):
    table = compare_detectors(split.X_train.iloc[:200], split.X_test.iloc[:50], np.zeros(50),
                              [OneClassSVMDetector()])
    assert table.index.tolist() == ["OneClassSVMDetector"]
    with pytest.raises(ValueError, match="detectors is empty"):
        compare_detectors(split.X_train, split.X_test, split.y_test, {})
