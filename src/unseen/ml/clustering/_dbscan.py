"""DBSCAN with its radius read off the knee of the sorted k-distance curve.

Every point's distance to its ``min_samples``-th nearest neighbour (itself included, as DBSCAN counts) is sorted
ascending. Points inside clusters give a long, flat stretch; outliers give a steep tail. The knee between them, the
point of the curve farthest from the chord joining its ends once both axes are scaled to [0, 1], is the radius at
which a point stops being a core point and starts being noise (Ester et al., 1996; Satopaa et al., 2011).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data


def k_distance_curve(X, min_samples=5):
    """Every sample's distance to its ``min_samples``-th nearest neighbour, itself included, sorted ascending.

    A sample is a DBSCAN core point for a radius ``eps`` exactly when its value here is at most ``eps``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features, already scaled (distances are Euclidean).
    min_samples : int, default=5
        DBSCAN's ``min_samples``; at least 2 and at most ``n_samples``.

    Returns
    -------
    ndarray of shape (n_samples,)
        The sorted k-distances.

    Examples
    --------
    >>> import numpy as np
    >>> k_distance_curve(np.array([[0.0], [1.0], [3.0], [10.0]]), min_samples=2)
    array([1., 1., 2., 7.])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (n_samples, n_features); got shape {X.shape}.")
    if isinstance(min_samples, bool) or not isinstance(min_samples, Integral) or min_samples < 2:
        raise ValueError(f"min_samples must be an integer of at least 2; got {min_samples!r}.")
    if X.shape[0] < min_samples:
        raise ValueError(
            f"the k-distance curve for min_samples={min_samples} needs at least that many samples; "
            f"got n_samples={X.shape[0]}."
        )
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(X).kneighbors(X)
    return np.sort(distances[:, -1])


def knee_index(curve):
    """Position of the knee of an increasing curve: the point farthest below the chord joining its ends.

    Both axes are scaled to [0, 1] first, so the answer does not depend on the units of either.

    Parameters
    ----------
    curve : array-like of shape (n_points,)
        Values sorted ascending.

    Returns
    -------
    int
        Index of the knee; 0 when the curve is flat or has fewer than three points.

    Examples
    --------
    >>> knee_index([1.0, 1.1, 1.2, 1.3, 1.4, 5.0, 9.0])
    4
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.size < 3 or y[-1] == y[0]:
        return 0
    x = np.linspace(0.0, 1.0, y.size)
    y = (y - y[0]) / (y[-1] - y[0])
    # The chord runs from (0, 0) to (1, 1); a convex curve lies below it, by (x - y) / sqrt(2) at each point.
    return int(np.argmax(x - y))


def eps_from_k_distance(X, min_samples=5):
    """DBSCAN's radius at the knee of the sorted k-distance curve.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features, already scaled.
    min_samples : int, default=5
        DBSCAN's ``min_samples``.

    Returns
    -------
    float
        The k-distance at the knee; when that is 0 (many duplicated points), the smallest positive k-distance,
        since DBSCAN needs a positive radius.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=200, centers=3, cluster_std=0.4, random_state=0)
    >>> eps = eps_from_k_distance(X, min_samples=5)
    >>> 0.1 < eps < 1.0
    True
    """
    curve = k_distance_curve(X, min_samples)
    eps = float(curve[knee_index(curve)])
    if eps > 0:
        return eps
    positive = curve[curve > 0]
    return float(positive[0]) if positive.size else 1.0


class BehaviourDBSCAN(ClusterMixin, BaseEstimator):
    """DBSCAN whose radius comes from the knee of the k-distance curve unless given; noise is labelled -1.

    Parameters
    ----------
    eps : "auto" or float, default="auto"
        Neighbourhood radius; ``"auto"`` takes :func:`eps_from_k_distance` on the training data.
    min_samples : int, default=5
        Samples (itself included) within ``eps`` that make a sample a core point.

    Attributes
    ----------
    eps_ : float
        The radius used.
    dbscan_ : sklearn.cluster.DBSCAN
        The fitted DBSCAN.
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample; -1 for noise.
    core_sample_indices_ : ndarray of shape (n_core_samples,)
        Indices of the core samples.
    n_clusters_ : int
        Number of clusters found, noise not counted.
    noise_share_ : float
        Share of the samples labelled noise.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when it has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=200, centers=3, cluster_std=0.4, random_state=0)
    >>> X = np.vstack([X, [[20.0, 20.0], [-20.0, 20.0]]])  # two far-away outliers
    >>> model = BehaviourDBSCAN(min_samples=5).fit(X)
    >>> model.n_clusters_, model.labels_[-2:].tolist()
    (3, [-1, -1])
    """

    _parameter_constraints: dict = {
        "eps": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "min_samples": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, *, eps="auto", min_samples=5):
        self.eps = eps
        self.min_samples = min_samples

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the radius (when ``eps="auto"``) and run DBSCAN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, already scaled.
        y : None
            Ignored.

        Returns
        -------
        self : BehaviourDBSCAN
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float64)
        self.eps_ = eps_from_k_distance(X, self.min_samples) if self.eps == "auto" else float(self.eps)
        self.dbscan_ = DBSCAN(eps=self.eps_, min_samples=self.min_samples).fit(X)
        self.labels_ = self.dbscan_.labels_
        self.core_sample_indices_ = self.dbscan_.core_sample_indices_
        self.n_clusters_ = int(np.unique(self.labels_[self.labels_ >= 0]).size)
        self.noise_share_ = float(np.mean(self.labels_ == -1))
        return self
