"""Cluster quality without the noise, stability across seeds, and the k-means against DBSCAN table."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import davies_bouldin_score, silhouette_score

from unseen.ml.clustering import (
    BehaviourDBSCAN,
    BehaviourKMeans,
    cluster_quality,
    compare_clusterings,
    stability_across_seeds,
)


class RandomLabels(ClusterMixin, BaseEstimator):
    """A 'clusterer' that labels at random: its runs should not agree."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        self.labels_ = np.random.default_rng(self.random_state).integers(0, 3, size=len(X))
        return self


def test_quality_leaves_noise_out(blobs_with_outliers):
    X, y = blobs_with_outliers
    quality = cluster_quality(X, y)
    inliers = y != -1
    assert quality["n_clusters"] == 3
    assert quality["noise_share"] == pytest.approx(12 / 312)
    assert quality["silhouette"] == pytest.approx(silhouette_score(X[inliers], y[inliers]))
    assert quality["davies_bouldin"] == pytest.approx(davies_bouldin_score(X[inliers], y[inliers]))


def test_quality_of_a_single_cluster_is_undefined(blobs):
    X, _ = blobs
    quality = cluster_quality(X, np.zeros(len(X), dtype=int))
    assert quality["n_clusters"] == 1 and quality["noise_share"] == 0.0
    assert np.isnan(quality["silhouette"]) and np.isnan(quality["davies_bouldin"])
    with pytest.raises(ValueError, match="one label per sample"):
        cluster_quality(X, [0, 1])


def test_kmeans_is_stable_on_blobs(blobs):
    X, _ = blobs
    make = lambda seed: BehaviourKMeans(k=3, n_init=1, random_state=seed)  # noqa: E731
    assert stability_across_seeds(X, make, seeds=range(5)) > 0.99
    assert stability_across_seeds(X, make, seeds=range(5), subsample=0.8) > 0.99


def test_random_labels_are_not_stable(blobs):
    X, _ = blobs
    assert abs(stability_across_seeds(X, lambda seed: RandomLabels(seed), seeds=range(5))) < 0.05


def test_stability_needs_two_runs_and_a_fraction(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at least two seeds"):
        stability_across_seeds(X, lambda seed: BehaviourDBSCAN(), seeds=[0])
    with pytest.raises(ValueError, match="subsample"):
        stability_across_seeds(X, lambda seed: BehaviourDBSCAN(), subsample=1.5)


def test_comparison_table_on_blobs(blobs_with_outliers):
    X, _ = blobs_with_outliers
    table = compare_clusterings(X, seeds=range(3))
    assert table.index.tolist() == ["KMeans", "DBSCAN"]
    assert table.columns.tolist() == ["n_clusters", "noise_share", "silhouette", "davies_bouldin", "stability_ari",
                                      "stability_subsample_ari", "fit_seconds"]
    assert table.loc["DBSCAN", "n_clusters"] == 3 and table.loc["DBSCAN", "noise_share"] > 0
    assert table.loc["KMeans", "noise_share"] == 0
    assert table.loc["DBSCAN", "stability_ari"] == 1.0  # deterministic on the same data
    assert (table["stability_subsample_ari"] > 0.9).all()
    assert (table["fit_seconds"] > 0).all()
    # With the outliers set aside, DBSCAN's clusters score better than k-means', which must place them somewhere.
    assert table.loc["DBSCAN", "silhouette"] > table.loc["KMeans", "silhouette"]
