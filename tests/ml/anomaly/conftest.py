"""A synthetic request log with labelled attacks, its per-IP windows split by time, and detectors fitted on the
first (normal-only) day, shared by the anomaly tests."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from unseen.ml.anomaly import (
    FEATURE_NAMES,
    IsolationForestDetector,
    OneClassSVMDetector,
    synthetic_requests,
    window_features,
    window_labels,
)

SEED = 7


@dataclass
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


@pytest.fixture(scope="session")
def log() -> pd.DataFrame:
    """Two days of 200 shoppers; three attacks of each kind, all on the second day."""
    return synthetic_requests(200, random_state=SEED)


@pytest.fixture(scope="session")
def windows(log) -> pd.DataFrame:
    return window_features(log, by="ip", window="60s")


@pytest.fixture(scope="session")
def labels(log) -> pd.Series:
    return window_labels(log, by="ip", window="60s")


@pytest.fixture(scope="session")
def split(log, windows, labels) -> Split:
    first_day = (windows["window_end"] <= log["at"].min().normalize() + pd.Timedelta(days=1)).to_numpy()
    X = windows[list(FEATURE_NAMES)]
    return Split(X[first_day], X[~first_day], labels[first_day], labels[~first_day])


@pytest.fixture(scope="session")
def fitted(split) -> dict:
    """Both detectors fitted on the first day's windows, with a 2% false-positive budget."""
    return {
        "isolation_forest": IsolationForestDetector(contamination=0.02, random_state=0).fit(split.X_train),
        "one_class_svm": OneClassSVMDetector(contamination=0.02, random_state=0).fit(split.X_train),
    }


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
