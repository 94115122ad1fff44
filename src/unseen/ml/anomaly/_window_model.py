"""The model the monitor serves: one detector per kind of key (IP, session) over windows of the request log, fitted
on the traffic the rules let through, with its threshold set on windows it did not see.

:func:`fit_window_model` builds it from a request log (``unseen train anomaly`` reads the shop's ``request_log``);
the monitor computes :func:`~unseen.ml.anomaly.features_for_window` for one key online and asks
:meth:`WindowModel.judge`.

Only features of what the client does are used. The time of day is left out (a log of a few hours would make every
other hour look strange), and so are the latency and the share of 5xx answers, which describe the shop's load: under
a flood every shopper's window gets slow, and a shopper must not be blamed for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._base import BaseAnomalyDetector, Explanation
from ._features import FEATURE_NAMES, window_features
from ._isolation_forest import IsolationForestDetector
from ._one_class_svm import OneClassSVMDetector
from ._threshold import threshold_at_fpr

__all__ = ["BEHAVIOUR_FEATURES", "DETECTORS", "KEY_KINDS", "WindowModel", "WindowVerdict", "fit_window_model",
           "kind_of_explanation"]

BEHAVIOUR_FEATURES = tuple(name for name in FEATURE_NAMES
                           if name not in ("latency_mean_ms", "share_5xx", "hour_sin", "hour_cos"))
"""The features the served model sees: what the client did, not how busy the shop was or what time it was."""
KEY_KINDS = ("ip", "session")
DETECTORS = {"one_class_svm": OneClassSVMDetector, "isolation_forest": IsolationForestDetector}

# Which anomaly kind an unusual feature points to; (feature, direction): +1 unusually high, -1 unusually low.
_KIND_OF_FEATURE = {
    ("login_attempts", 1): "password_guessing", ("share_401", 1): "password_guessing",
    ("cart_adds", 1): "cart_spam",
    ("share_4xx", 1): "scraping", ("n_paths", 1): "scraping", ("n_path_templates", 1): "scraping",
    ("share_operator_routes", 1): "probe",
    ("n_requests", 1): "flood", ("requests_per_second", 1): "flood", ("interarrival_mean_s", -1): "flood",
    ("interarrival_max_s", -1): "flood",
}
_COLUMNS = [FEATURE_NAMES.index(name) for name in BEHAVIOUR_FEATURES]


_KIND_PRIORITY = ("password_guessing", "cart_spam", "probe", "flood", "scraping")
"""When the unusual features point to several kinds, the most specific wins: failed logins are also 4xx answers,
and a flood also visits many paths."""


def kind_of_explanation(explanations: list[Explanation]) -> str:
    """The anomaly kind the most unusual features point to, or ``"model"`` when none names one.

    >>> kind_of_explanation([Explanation("requests_per_second", 4.0, 0.1, 38.0)])
    'flood'
    >>> kind_of_explanation([Explanation("share_4xx", 1.0, 0.0, 60.0), Explanation("share_401", 0.8, 0, 7.0)])
    'password_guessing'
    >>> kind_of_explanation([Explanation("query_length_mean", 90.0, 12.0, 6.0)])
    'model'
    """
    kinds = {_KIND_OF_FEATURE.get((e.feature, 1 if e.z > 0 else -1)) for e in explanations}
    return next((kind for kind in _KIND_PRIORITY if kind in kinds), "model")


@dataclass(frozen=True)
class WindowVerdict:
    score: float
    threshold: float
    anomalous: bool
    explanations: list[Explanation] = field(default_factory=list)
    kind: str | None = None


@dataclass
class WindowModel:
    """Detectors per key kind over windows of ``window`` (a pandas offset such as ``"60s"``).

    A window with fewer than ``min_requests`` requests is never called anomalous: one or two requests say too little
    about a client, and the rules judge single requests anyway.
    """

    detectors: dict[str, BaseAnomalyDetector]
    window: str = "60s"
    min_requests: int = 10
    features: tuple[str, ...] = BEHAVIOUR_FEATURES
    report: dict[str, Any] = field(default_factory=dict)

    def select(self, full_rows: np.ndarray) -> np.ndarray:
        """The served columns of rows in the order of :data:`FEATURE_NAMES` (what ``features_for_window`` gives)."""
        rows = np.atleast_2d(np.asarray(full_rows, dtype=np.float64))
        return rows[:, [FEATURE_NAMES.index(name) for name in self.features]]

    def judge(self, by: str, full_rows: np.ndarray, *, explain: int = 3) -> list[WindowVerdict]:
        """Score windows of one key kind (rows of all :data:`FEATURE_NAMES`) in one call; explain the anomalous."""
        detector = self.detectors[by]
        rows = self.select(full_rows)
        if rows.shape[1] != detector.n_features_in_ or not np.isfinite(rows).all():
            raise ValueError(f"expected finite rows of {len(FEATURE_NAMES)} window features; got shape "
                             f"{np.shape(full_rows)}")
        scores = detector.anomaly_score_trusted(rows)
        n_requests = rows[:, self.features.index("n_requests")]
        verdicts = []
        for i, score in enumerate(scores):
            anomalous = bool(score > detector.threshold_ and n_requests[i] >= self.min_requests)
            explanations = detector.explain(pd.DataFrame(rows[i:i + 1], columns=list(self.features)), top=explain) \
                if anomalous else []
            verdicts.append(WindowVerdict(float(score), float(detector.threshold_), anomalous, explanations,
                                          kind_of_explanation(explanations) if anomalous else None))
        return verdicts


def _normal_windows(requests: pd.DataFrame, by: str, window: str, step: str) -> pd.DataFrame:
    """Windows of clients the rules never called an anomaly and no block stopped."""
    key = "ip" if by == "ip" else "session_id"
    frame = requests if by == "ip" else requests[requests["session_id"].notna()]
    suspects = set(frame.loc[(frame["category"] == "anomaly") | frame["blocked"].astype(bool), key])
    clean = frame[~frame[key].isin(suspects)]
    return window_features(clean, by=by, window=window, step=step)


def fit_window_model(requests: pd.DataFrame, *, detector: str = "one_class_svm", window: str = "60s",
                     step: str = "5s", target_fpr: float = 0.001, holdout: float = 0.25, min_requests: int = 10,
                     exclude: set[str] | frozenset[str] = frozenset(), random_state: int = 0,
                     min_windows: int = 200) -> WindowModel:
    """Fit one detector per key kind on the clean windows of ``requests``.

    Parameters
    ----------
    requests : DataFrame
        A request log as the monitor writes it (``at``, ``ip``, ``method``, ``path``, ``status``, ``session_id``,
        ``category``, ``blocked``, ...).
    detector : {"one_class_svm", "isolation_forest"}
    window, step : str
        Window length and the distance between window ends (overlapping windows give more training rows).
    target_fpr : float
        Share of the held-out clean windows (with at least ``min_requests`` requests) allowed above the threshold.
    holdout : float
        The latest share of windows, by time, held out to set the threshold (and report the rate it gives).
    exclude : set of str
        Client IPs left out (addresses of the operator's own scripts, the simulator's setup client).

    Returns
    -------
    WindowModel
        With ``report``: windows used per key kind, the held-out false-positive rate, and the threshold.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {', '.join(DETECTORS)}; got {detector!r}.")
    if not 0 < target_fpr < 1 or not 0 < holdout < 1:
        raise ValueError(f"target_fpr and holdout must lie strictly between 0 and 1; got {target_fpr!r}, {holdout!r}.")
    requests = requests[~requests["ip"].isin(exclude)] if exclude else requests
    detectors: dict[str, BaseAnomalyDetector] = {}
    report: dict[str, Any] = {"detector": detector, "window": window, "step": step, "target_fpr": target_fpr,
                              "min_requests": min_requests, "features": list(BEHAVIOUR_FEATURES)}
    for by in KEY_KINDS:
        windows = _normal_windows(requests, by, window, step).sort_values("window_end", kind="stable")
        if len(windows) < min_windows:
            raise ValueError(
                f"the request log holds {len(windows)} clean {by} windows, fewer than the {min_windows} needed to "
                f"learn normal traffic; let shoppers use the shop (or run `unseen simulate --attacks none`) first")
        cut = windows["window_end"].quantile(1 - holdout, interpolation="lower")
        train, held = windows[windows["window_end"] <= cut], windows[windows["window_end"] > cut]
        if len(held) == 0 or len(train) == 0:
            train, held = windows.iloc[: int(len(windows) * (1 - holdout))], windows.iloc[int(len(windows) * (1 - holdout)):]
        model = DETECTORS[detector](contamination=target_fpr, random_state=random_state)
        model.fit(train[list(BEHAVIOUR_FEATURES)])
        judged = held[held["n_requests"] >= min_requests]
        scores = model.anomaly_score(judged[list(BEHAVIOUR_FEATURES)]) if len(judged) else np.zeros(0)
        if len(scores):
            model.set_threshold(max(model.threshold_, threshold_at_fpr(scores, target_fpr)))
        flagged = int((scores > model.threshold_).sum())
        detectors[by] = model
        report[by] = {"train_windows": len(train), "holdout_windows": len(held), "holdout_judged": len(judged),
                      "holdout_flagged": flagged, "holdout_fpr": flagged / len(judged) if len(judged) else 0.0,
                      "threshold": model.threshold_, "clients": int(windows.iloc[:, 0].nunique())}
    report["data_range"] = [requests["at"].min().isoformat(), requests["at"].max().isoformat()]
    return WindowModel(detectors, window=window, min_requests=min_requests, report=report)
