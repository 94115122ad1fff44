"""Request anomaly detection: features of per-IP and per-session request windows, detectors that share one contract
(higher score means more anomalous), threshold choice, evaluation, and a synthetic request log with labelled
attacks."""

from ._base import BaseAnomalyDetector, Explanation, compress
from ._evaluate import compare_detectors, evaluate_detector
from ._features import (
    FEATURE_NAMES,
    RULE_FEATURE_NAMES,
    features_for_window,
    is_tool_agent,
    path_template,
    window_features,
)
from ._isolation_forest import IsolationForestDetector
from ._one_class_svm import OneClassSVMDetector
from ._synthetic import ATTACK_KINDS, LOG_COLUMNS, NORMAL, synthetic_requests, window_labels
from ._threshold import THRESHOLD_METHODS, choose_threshold, threshold_at_fpr
from ._window_model import BEHAVIOUR_FEATURES, WindowModel, WindowVerdict, fit_window_model, kind_of_explanation

__all__ = [
    "ATTACK_KINDS",
    "BEHAVIOUR_FEATURES",
    "FEATURE_NAMES",
    "LOG_COLUMNS",
    "NORMAL",
    "RULE_FEATURE_NAMES",
    "THRESHOLD_METHODS",
    "WindowModel",
    "WindowVerdict",
    "BaseAnomalyDetector",
    "Explanation",
    "IsolationForestDetector",
    "OneClassSVMDetector",
    "choose_threshold",
    "compare_detectors",
    "compress",
    "evaluate_detector",
    "features_for_window",
    "fit_window_model",
    "is_tool_agent",
    "kind_of_explanation",
    "path_template",
    "synthetic_requests",
    "threshold_at_fpr",
    "window_features",
    "window_labels",
]
