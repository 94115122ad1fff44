"""DBSCAN with eps from the k-distance knee: it finds the blobs and calls the outliers noise."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from unseen.ml.clustering import BehaviourDBSCAN, eps_from_k_distance, k_distance_curve, knee_index


def test_k_distance_counts_the_point_itself():
    X = np.array([[0.0], [1.0], [3.0], [10.0]])
    # With min_samples=2 the k-distance is the distance to the nearest other point.
    np.testing.assert_array_equal(k_distance_curve(X, min_samples=2), [1.0, 1.0, 2.0, 7.0])
    np.testing.assert_array_equal(k_distance_curve(X, min_samples=3), [2.0, 3.0, 3.0, 9.0])


def test_k_distance_refuses_too_few_samples():
    with pytest.raises(ValueError, match="n_samples=3"):
        k_distance_curve(np.zeros((3, 2)), min_samples=5)
    with pytest.raises(ValueError, match="at least 2"):
        k_distance_curve(np.zeros((3, 2)), min_samples=1)


def test_knee_is_the_point_farthest_below_the_chord():
    flat_then_steep = np.concatenate([np.linspace(1.0, 1.5, 50), [3.0, 6.0, 12.0]])
    assert knee_index(flat_then_steep) == 49
    # Rescaling either axis does not move the knee.
    assert knee_index(1000 * flat_then_steep + 7) == 49
    assert knee_index(np.ones(10)) == 0
    assert knee_index([1.0, 2.0]) == 0
    assert knee_index(np.linspace(0, 1, 20)) == 0  # a straight line has no knee: any point will do


def test_eps_from_the_knee_separates_blobs_from_outliers(blobs_with_outliers):
    X, y = blobs_with_outliers
    eps = eps_from_k_distance(X, min_samples=5)
    curve = k_distance_curve(X, min_samples=5)
    # The radius sits between the k-distances inside the blobs and those of the outliers.
    assert np.quantile(curve[:300], 0.5) < eps < curve[-12:].min()
    model = BehaviourDBSCAN(min_samples=5).fit(X)
    assert model.eps_ == eps
    assert model.n_clusters_ == 3
    assert (model.labels_[y == -1] == -1).all()
    inliers = y != -1
    assert np.mean(model.labels_[inliers] == -1) < 0.05
    clustered = inliers & (model.labels_ != -1)
    assert adjusted_rand_score(y[clustered], model.labels_[clustered]) == 1.0
    assert model.noise_share_ == pytest.approx(np.mean(model.labels_ == -1))


def test_a_given_eps_is_used(blobs):
    X, _ = blobs
    model = BehaviourDBSCAN(eps=0.01, min_samples=5).fit(X)
    assert model.eps_ == 0.01 and model.n_clusters_ == 0 and model.noise_share_ == 1.0


def test_duplicated_points_still_get_a_positive_radius():
    X = np.vstack([np.zeros((20, 2)), [[1.0, 1.0], [1.0, 1.1]]])
    assert eps_from_k_distance(X, min_samples=3) > 0
