"""How good and how stable a clustering is, and k-means against DBSCAN on the same features."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.base import ClusterMixin
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

from unseen.ml.clustering._dbscan import BehaviourDBSCAN
from unseen.ml.clustering._kmeans import BehaviourKMeans

NOISE = -1
DEFAULT_SEEDS = range(5)


def cluster_quality(X, labels) -> dict:
    """Silhouette and Davies-Bouldin over the clustered samples, the number of clusters and the share of noise.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The features the clustering was fitted on.
    labels : array-like of shape (n_samples,)
        Cluster of every sample; -1 is noise and is left out of both scores.

    Returns
    -------
    dict
        ``n_clusters``, ``noise_share``, ``silhouette`` (from -1 to 1, higher is better) and ``davies_bouldin``
        (0 or more, lower is better). Both scores are NaN with fewer than two clusters, when they are undefined.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1], [50.0]])
    >>> quality = cluster_quality(X, [0, 0, 1, 1, -1])
    >>> quality["n_clusters"], quality["noise_share"], round(quality["silhouette"], 3)
    (2, 0.2, 0.98)
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must hold one label per sample ({X.shape[0]}); got shape {labels.shape}.")
    clustered = labels != NOISE
    found = np.unique(labels[clustered]).size
    silhouette = davies_bouldin = np.nan
    if 2 <= found < clustered.sum():
        silhouette = float(silhouette_score(X[clustered], labels[clustered]))
    if found >= 2:
        davies_bouldin = float(davies_bouldin_score(X[clustered], labels[clustered]))
    noise_share = float(np.mean(~clustered)) if labels.size else 0.0
    return {"n_clusters": int(found), "noise_share": noise_share, "silhouette": silhouette,
            "davies_bouldin": davies_bouldin}


def _labels(model: ClusterMixin, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.fit_predict(X))


def stability_across_seeds(
    X,
    make_model: Callable[[int], ClusterMixin],
    seeds: Iterable[int] = DEFAULT_SEEDS,
    subsample: float | None = None,
) -> float:
    """Mean adjusted Rand index between the clusterings of every pair of runs, one run per seed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features.
    make_model : callable
        ``make_model(seed)`` returns an unfitted clusterer (anything with ``fit_predict``).
    seeds : iterable of int, default=range(5)
        One run per seed; at least two.
    subsample : float in (0, 1] or None, default=None
        None: every run fits on all of X, so only the seed differs (a deterministic model such as DBSCAN scores
        1). A fraction: every run fits on a random subset of that size drawn with its seed, and two runs are
        compared on the samples both saw; this measures how much the clusters depend on who is in the data.

    Returns
    -------
    float
        Mean adjusted Rand index over all pairs: 1 for identical partitions, about 0 for chance agreement.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=200, centers=3, cluster_std=0.5, random_state=0)
    >>> ari = stability_across_seeds(X, lambda seed: KMeans(3, n_init=1, random_state=seed), seeds=range(4))
    >>> round(ari, 3)
    1.0
    """
    X = np.asarray(X, dtype=np.float64)
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"stability needs at least two seeds to compare runs; got {seeds!r}.")
    if subsample is not None and not 0 < subsample <= 1:
        raise ValueError(f"subsample must be a fraction in (0, 1] or None; got {subsample!r}.")
    n_samples = X.shape[0]
    runs = []
    for seed in seeds:
        if subsample is None:
            rows = np.arange(n_samples)
        else:
            size = max(2, int(round(subsample * n_samples)))
            rows = np.sort(np.random.default_rng(seed).choice(n_samples, size=size, replace=False))
        labels = np.full(n_samples, np.iinfo(np.int64).min)
        labels[rows] = _labels(make_model(seed), X[rows])
        runs.append((rows, labels))
    scores = []
    for (rows_a, labels_a), (rows_b, labels_b) in itertools.combinations(runs, 2):
        shared = np.intersect1d(rows_a, rows_b)
        scores.append(adjusted_rand_score(labels_a[shared], labels_b[shared]))
    return float(np.mean(scores))


def default_models() -> dict[str, Callable[[int], ClusterMixin]]:
    """k-means with k by silhouette and DBSCAN with eps from the k-distance knee, each made from a seed."""
    return {
        "KMeans": lambda seed: BehaviourKMeans(k="auto", random_state=seed),
        "DBSCAN": lambda seed: BehaviourDBSCAN(eps="auto"),
    }


def compare_clusterings(
    X,
    models: dict[str, Callable[[int], ClusterMixin]] | None = None,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    subsample: float | None = 0.9,
) -> pd.DataFrame:
    """Fit every model once and score it: clusters, silhouette, Davies-Bouldin, noise, stability and fit time.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features, already scaled.
    models : dict of str to callable or None, default=None
        Name to ``make_model(seed)``; None compares :func:`default_models` (k-means and DBSCAN).
    seeds : iterable of int, default=range(5)
        Seeds for the stability runs; the first also fits the model that is scored.
    subsample : float or None, default=0.9
        Passed to :func:`stability_across_seeds` for the ``stability_subsample_ari`` column (None leaves it out).

    Returns
    -------
    pandas.DataFrame
        Indexed by model name: ``n_clusters``, ``silhouette``, ``davies_bouldin``, ``noise_share``,
        ``stability_ari`` (runs on all of X with different seeds), ``stability_subsample_ari`` (runs on
        different subsets) and ``fit_seconds`` (one fit).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=200, centers=3, cluster_std=0.5, random_state=0)
    >>> table = compare_clusterings(X, seeds=range(3))
    >>> table["n_clusters"].to_dict()
    {'KMeans': 3, 'DBSCAN': 3}
    """
    X = np.asarray(X, dtype=np.float64)
    seeds = list(seeds)
    models = default_models() if models is None else models
    rows = {}
    for name, make_model in models.items():
        started = time.perf_counter()
        labels = _labels(make_model(seeds[0]), X)
        fit_seconds = time.perf_counter() - started
        row = cluster_quality(X, labels)
        row["stability_ari"] = stability_across_seeds(X, make_model, seeds)
        if subsample is not None:
            row["stability_subsample_ari"] = stability_across_seeds(X, make_model, seeds, subsample=subsample)
        row["fit_seconds"] = fit_seconds
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table
