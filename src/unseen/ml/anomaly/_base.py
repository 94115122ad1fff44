"""The contract every anomaly detector in this package keeps: higher score means more anomalous."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data

from ._features import FEATURE_NAMES, RULE_FEATURE_NAMES
from ._threshold import threshold_at_fpr

MAD_TO_SD = 1.4826
"""Median absolute deviation times this estimates the standard deviation of normally distributed data."""
MEAN_AD_TO_SD = 1.2533
"""The same for the mean absolute deviation from the median (sqrt(pi / 2))."""
CONSTANT_SCALE = 1e-3
"""Scale of a feature that never varied in training: any change in it then ranks as highly unusual."""


class Explanation(NamedTuple):
    """One feature of a flagged window: its value, the typical (median) training value, and its robust z-score."""

    feature: str
    value: float
    typical: float
    z: float


def compress(X: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: counts and rates that span orders of magnitude, brought to a common footing.

    Shares, sines and cosines (within [-1, 1]) are only mildly bent; a flood's thousands of requests no longer
    leave every other feature at the bottom of the range.

    Examples
    --------
    >>> compress(np.array([[0.0, 1.0, -1.0, 999.0]])).round(3)
    array([[ 0.   ,  0.693, -0.693,  6.908]])
    """
    return np.sign(X) * np.log1p(np.abs(X))


class BaseAnomalyDetector(OutlierMixin, BaseEstimator):
    """Base class for anomaly detectors: higher score means more anomalous.

    Subclasses implement ``_fit(Z)`` and ``_score(Z)`` on the validated features (after :func:`compress` when
    their ``compress`` parameter is true) and, for ``contamination="auto"``, ``_auto_threshold()``. They have the
    parameters ``compress`` and ``contamination``. The base class validates input, sets the threshold, and gives
    scikit-learn's outlier-detector interface on top of the score:

    - ``anomaly_score(X)``: the anomaly score; flagged when above ``threshold_``;
    - ``score_samples(X)``: its negative (scikit-learn's convention: lower is more abnormal);
    - ``decision_function(X)``: ``threshold_ - anomaly_score(X)``, negative for anomalies;
    - ``predict(X)``: -1 for anomalies, +1 for normal windows.

    ``explain(x)`` ranks the features of one window by how far they are from the training windows: a robust
    z-score, ``(x - median) / scale``, on the scale the model sees. The scale is 1.4826 times the median absolute
    deviation; where that is 0 (a feature that is mostly one value, such as the share of 5xx answers), 1.2533 times
    the mean absolute deviation from the median; where that is 0 too, :data:`CONSTANT_SCALE`. It does not look
    inside the model: two detectors fitted on the same windows explain a window alike. It says which features are
    unusual, which is what an operator acting on an alert needs, not how the model weighed them.
    """

    @abstractmethod
    def _fit(self, Z: np.ndarray) -> None:
        """Learn from the training features."""

    @abstractmethod
    def _score(self, Z: np.ndarray) -> np.ndarray:
        """Anomaly scores of the features, higher meaning more anomalous."""

    def _auto_threshold(self) -> float:
        raise NotImplementedError  # pragma: no cover - every detector here has one

    def _features(self, X) -> np.ndarray:
        return compress(X) if self.compress else X

    def _training_threshold(self, scores: np.ndarray) -> float:
        if isinstance(self.contamination, str):
            return float(self._auto_threshold())
        return threshold_at_fpr(scores, self.contamination)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn what normal windows look like, and set the threshold from the training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Window features, taken to be (nearly all) normal.
        y : None
            Ignored.

        Returns
        -------
        self
            The fitted detector.
        """
        X = validate_data(self, X, dtype=np.float64)
        Z = self._features(X)
        self.typical_ = np.median(X, axis=0)
        self.center_ = np.median(Z, axis=0)
        deviation = np.abs(Z - self.center_)
        mad, mean_ad = MAD_TO_SD * np.median(deviation, axis=0), MEAN_AD_TO_SD * deviation.mean(axis=0)
        self.spread_ = np.where(mad > 0, mad, np.where(mean_ad > 0, mean_ad, CONSTANT_SCALE))
        self._fit(Z)
        self.set_threshold(self._training_threshold(self._score(Z)))
        return self

    def anomaly_score(self, X):
        """Anomaly scores: higher means more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Window features.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "threshold_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self._score(self._features(X)), dtype=np.float64)

    def anomaly_score_trusted(self, X: np.ndarray) -> np.ndarray:
        """:meth:`anomaly_score` without scikit-learn's input validation, for a float array the caller built in the
        training column order (the monitor's online path, where validation costs more than the score)."""
        return np.asarray(self._score(self._features(X)), dtype=np.float64)

    def score_samples(self, X):
        """The negated anomaly score, as scikit-learn's outlier detectors give it (lower is more abnormal)."""
        return -self.anomaly_score(X)

    def decision_function(self, X):
        """``threshold_ - anomaly_score(X)``: negative for windows flagged as anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """-1 for windows scored above ``threshold_`` (anomalies), +1 for the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Window features.

        Returns
        -------
        ndarray of int of shape (n_samples,)
        """
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def set_threshold(self, threshold):
        """Move the threshold of a fitted detector, for instance to one :func:`choose_threshold` picked.

        Parameters
        ----------
        threshold : float
            Scores strictly above it are flagged.

        Returns
        -------
        self
        """
        if isinstance(threshold, bool) or not isinstance(threshold, Real) or not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
        self.threshold_ = float(threshold)
        self.offset_ = -self.threshold_
        return self

    def _feature_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        for names in (FEATURE_NAMES, FEATURE_NAMES + RULE_FEATURE_NAMES):
            if self.n_features_in_ == len(names):
                return list(names)
        return [f"x{i}" for i in range(self.n_features_in_)]

    def explain(self, x, top=3):
        """The features that made one window most unusual, against the training windows.

        Parameters
        ----------
        x : array-like of shape (n_features,) or (1, n_features), Series or one-row DataFrame
            One window's features; a plain array in the order of the training columns.
        top : int, default=3
            How many features to return.

        Returns
        -------
        list of Explanation
            ``(feature, value, typical, z)`` tuples, largest ``|z|`` first: ``typical`` is the training median and
            ``z`` the robust z-score (see the class description). Names are the training columns, or
            :data:`FEATURE_NAMES` for a plain array of that width.
        """
        check_is_fitted(self, "threshold_")
        if isinstance(x, pd.Series):
            x = x.to_frame().T
        elif not isinstance(x, pd.DataFrame):
            x = np.asarray(x, dtype=np.float64)
            if x.ndim == 1:
                x = x.reshape(1, -1)
            if hasattr(self, "feature_names_in_") and x.shape[1:] == (self.n_features_in_,):
                x = pd.DataFrame(x, columns=self.feature_names_in_)  # a plain row in the training column order
        if x.shape[0] != 1:
            raise ValueError(f"explain takes one window (one row); got {x.shape[0]} rows.")
        if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
            raise ValueError(f"top must be a positive integer; got {top!r}.")
        row = validate_data(self, x, dtype=np.float64, reset=False)
        z = ((self._features(row) - self.center_) / self.spread_)[0]
        names = self._feature_names()
        order = np.argsort(-np.abs(z), kind="stable")[:top]
        return [Explanation(names[i], float(row[0, i]), float(self.typical_[i]), float(z[i])) for i in order]
