"""k-means with the number of clusters chosen by the silhouette, scored alongside Davies-Bouldin and inertia."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
from threadpoolctl import threadpool_limits

DEFAULT_K_RANGE = range(2, 11)


def _one_thread() -> threadpool_limits:
    """Run scikit-learn's k-means on one OpenMP thread.

    A shop has hundreds to thousands of users: each Lloyd iteration is then far shorter than waking an OpenMP team,
    and on a busy machine (tests and servers sharing two cores) the spinning threads cost 20 to 50 times the work
    itself (0.08 s against 2.5 to 4.6 s for ten k-means++ starts on 400 x 35, measured).
    """
    return threadpool_limits(limits=1, user_api="openmp")


def _usable_ks(k_range, n_samples: int) -> list[int]:
    """The ks of ``k_range`` the silhouette is defined for: 2 <= k <= n_samples - 1."""
    ks = sorted({int(k) for k in k_range})
    if not ks or any(isinstance(k, bool) or k < 2 for k in ks):
        raise ValueError(f"k_range must hold integers of at least 2; got {list(k_range)!r}.")
    usable = [k for k in ks if k < n_samples]
    if not usable:
        raise ValueError(
            f"choosing k by silhouette needs more samples than the smallest k in k_range ({ks[0]}); "
            f"got n_samples={n_samples}."
        )
    return usable


def _seeds_per_k(random_state, n_ks: int) -> np.ndarray:
    """One k-means seed per candidate k, drawn from ``random_state`` in the order of the sorted ks."""
    return check_random_state(random_state).randint(np.iinfo(np.int32).max, size=n_ks)


def choose_k_by_silhouette(X, k_range=DEFAULT_K_RANGE, random_state=None, n_init=10, max_iter=300):
    """Fit k-means for every k in ``k_range`` and pick the k with the highest silhouette.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features, already scaled (distances are Euclidean).
    k_range : iterable of int, default=range(2, 11)
        Candidate numbers of clusters. Those of ``n_samples`` or more are skipped: the silhouette needs at least
        one cluster with two members.
    random_state : int, numpy.random.RandomState or None, default=None
        Seed of the k-means initialisations; the same seed gives the same table.
    n_init : int, default=10
        Initialisations per k (k-means++); the best by inertia is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations per initialisation.

    Returns
    -------
    best_k : int
        The k with the highest silhouette (the smallest such k on a tie).
    table : pandas.DataFrame
        Indexed by ``k``: ``silhouette`` (higher is better), ``davies_bouldin`` (lower is better) and ``inertia``
        (within-cluster sum of squares, which always falls as k grows).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=150, centers=4, cluster_std=0.6, random_state=0)
    >>> best_k, table = choose_k_by_silhouette(X, k_range=range(2, 7), random_state=0)
    >>> best_k
    4
    >>> list(table.columns)
    ['silhouette', 'davies_bouldin', 'inertia']
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (n_samples, n_features); got shape {X.shape}.")
    ks = _usable_ks(k_range, X.shape[0])
    rows = []
    for k, seed in zip(ks, _seeds_per_k(random_state, len(ks))):
        with _one_thread():
            labels = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed).fit(X)
        found = np.unique(labels.labels_).size
        # Duplicated points can leave fewer distinct clusters than k; the scores need two or more.
        silhouette = silhouette_score(X, labels.labels_) if 2 <= found < X.shape[0] else np.nan
        davies_bouldin = davies_bouldin_score(X, labels.labels_) if found >= 2 else np.nan
        rows.append((k, silhouette, davies_bouldin, labels.inertia_))
    table = pd.DataFrame(rows, columns=["k", "silhouette", "davies_bouldin", "inertia"]).set_index("k")
    if table["silhouette"].isna().all():
        return int(table.index[0]), table
    return int(table["silhouette"].idxmax()), table


class BehaviourKMeans(ClusterMixin, BaseEstimator):
    """k-means whose number of clusters is chosen by the silhouette unless given.

    Parameters
    ----------
    k : "auto" or int, default="auto"
        Number of clusters; ``"auto"`` picks it from ``k_range`` with :func:`choose_k_by_silhouette`.
    k_range : iterable of int or None, default=None
        Candidates for ``k="auto"``; None means ``range(2, 11)``.
    n_init : int, default=10
        k-means++ initialisations per fit; the best by inertia is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations per initialisation.
    random_state : int, numpy.random.RandomState or None, default=None
        Seed of the initialisations.

    Attributes
    ----------
    k_ : int
        Number of clusters fitted.
    selection_ : pandas.DataFrame or None
        With ``k="auto"``, the silhouette, Davies-Bouldin and inertia of every candidate k; None otherwise.
    kmeans_ : sklearn.cluster.KMeans
        The fitted k-means.
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample, from 0 to ``k_ - 1``.
    cluster_centers_ : ndarray of shape (k_, n_features)
        Cluster centres.
    inertia_ : float
        Sum of squared distances of the samples to their centre.
    n_iter_ : int
        Lloyd iterations of the kept initialisation.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when it has string column names.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=150, centers=3, cluster_std=0.5, random_state=1)
    >>> model = BehaviourKMeans(random_state=0).fit(X)
    >>> model.k_, sorted(set(model.labels_.tolist()))
    (3, [0, 1, 2])
    >>> bool((model.predict(X) == model.labels_).all())
    True
    """

    _parameter_constraints: dict = {
        "k": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "k_range": ["array-like", None],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, k="auto", k_range=None, n_init=10, max_iter=300, random_state=None):
        self.k = k
        self.k_range = k_range
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose k (when ``k="auto"``) and fit k-means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, already scaled.
        y : None
            Ignored.

        Returns
        -------
        self : BehaviourKMeans
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float64)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if self.k == "auto":
            k_range = DEFAULT_K_RANGE if self.k_range is None else self.k_range
            self.k_, self.selection_ = choose_k_by_silhouette(
                X, k_range=k_range, random_state=seed, n_init=self.n_init, max_iter=self.max_iter
            )
            # Refit the chosen k with the seed it was scored with: the model is the one the table describes.
            ks = self.selection_.index.tolist()
            seed = _seeds_per_k(seed, len(ks))[ks.index(self.k_)]
        else:
            if self.k > X.shape[0]:
                raise ValueError(f"k={self.k} clusters need at least as many samples; got n_samples={X.shape[0]}.")
            self.k_, self.selection_ = int(self.k), None
        with _one_thread():
            self.kmeans_ = KMeans(
                n_clusters=self.k_, n_init=self.n_init, max_iter=self.max_iter, random_state=seed
            ).fit(X)
        self.labels_ = self.kmeans_.labels_
        self.cluster_centers_ = self.kmeans_.cluster_centers_
        self.inertia_ = float(self.kmeans_.inertia_)
        self.n_iter_ = int(self.kmeans_.n_iter_)
        return self

    def predict(self, X):
        """The nearest cluster centre of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, scaled as in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of every sample.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with _one_thread():
            return self.kmeans_.predict(X)
