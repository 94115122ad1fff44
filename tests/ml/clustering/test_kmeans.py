"""k-means with k by silhouette: it finds the number of well-separated blobs."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from unseen.ml.clustering import BehaviourKMeans, choose_k_by_silhouette


@pytest.mark.parametrize("centers", [2, 3, 5])
def test_silhouette_picks_the_number_of_blobs(centers):
    X, _ = make_blobs(n_samples=60 * centers, n_features=3, centers=centers, cluster_std=0.5,
                      center_box=(-15, 15), random_state=centers)
    best_k, table = choose_k_by_silhouette(X, k_range=range(2, 9), random_state=0)
    assert best_k == centers
    assert table.index.tolist() == list(range(2, 9))
    assert table.columns.tolist() == ["silhouette", "davies_bouldin", "inertia"]
    assert table["silhouette"].idxmax() == centers
    assert table["davies_bouldin"].idxmin() == centers
    assert table["inertia"].is_monotonic_decreasing


def test_the_table_is_reproducible_from_its_seed(blobs):
    X, _ = blobs
    _, first = choose_k_by_silhouette(X, k_range=range(2, 6), random_state=3)
    _, again = choose_k_by_silhouette(X, k_range=range(2, 6), random_state=3)
    assert first.equals(again)


def test_ks_without_a_silhouette_are_skipped():
    X = np.array([[0.0], [0.1], [5.0], [5.1]])
    best_k, table = choose_k_by_silhouette(X, k_range=range(2, 11), random_state=0)
    assert table.index.tolist() == [2, 3] and best_k == 2


def test_bad_k_ranges_are_refused():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="at least 2"):
        choose_k_by_silhouette(X, k_range=[1, 2])
    with pytest.raises(ValueError, match="n_samples=2"):
        choose_k_by_silhouette(X[:2], k_range=[2, 3])


def test_behaviour_kmeans_auto_finds_the_blobs(blobs):
    X, y = blobs
    model = BehaviourKMeans(k_range=range(2, 7), random_state=0).fit(X)
    assert model.k_ == 3
    assert model.selection_.index.tolist() == [2, 3, 4, 5, 6]
    assert adjusted_rand_score(y, model.labels_) == 1.0
    assert model.cluster_centers_.shape == (3, 4)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_behaviour_kmeans_with_a_fixed_k(blobs):
    X, _ = blobs
    model = BehaviourKMeans(k=5, random_state=0).fit(X)
    assert model.k_ == 5 and model.selection_ is None
    assert sorted(set(model.labels_)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="n_samples=3"):
        BehaviourKMeans(k=4).fit(X[:3])


def test_behaviour_kmeans_is_reproducible(blobs):
    X, _ = blobs
    first = BehaviourKMeans(k=4, random_state=1).fit(X).labels_
    again = BehaviourKMeans(k=4, random_state=1).fit(X).labels_
    np.testing.assert_array_equal(first, again)


def test_the_fitted_model_is_the_one_the_selection_scored(blobs):
    X, _ = blobs
    model = BehaviourKMeans(k_range=range(2, 6), random_state=4).fit(X)
    assert model.selection_.loc[model.k_, "inertia"] == pytest.approx(model.inertia_)
    ragged = X + np.random.default_rng(0).normal(scale=3.0, size=X.shape)  # where initialisations disagree
    model = BehaviourKMeans(k_range=range(2, 8), n_init=1, random_state=4).fit(ragged)
    assert model.selection_.loc[model.k_, "inertia"] == pytest.approx(model.inertia_)
