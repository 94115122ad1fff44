"""User behaviour clustering over clickstreams: features, k-means and DBSCAN, their comparison and named profiles.

The path from the shop's tables to named segments::

    events = load_events(engine)
    features = behaviour_features(events, load_orders(engine))
    X = BehaviourFeatures().fit_transform(features)
    labels = BehaviourKMeans(random_state=0).fit_predict(X)
    names = name_clusters(cluster_profiles(features, labels))
"""

from ._data import load_events, load_orders
from ._dbscan import BehaviourDBSCAN, eps_from_k_distance, k_distance_curve, knee_index
from ._evaluate import cluster_quality, compare_clusterings, default_models, stability_across_seeds
from ._features import (
    HEAVY_TAILED,
    KINDS,
    STATES,
    BehaviourFeatures,
    behaviour_features,
    transition_matrix,
)
from ._kmeans import BehaviourKMeans, choose_k_by_silhouette
from ._profiles import KEY_FEATURES, RULES, cluster_profiles, name_clusters

__all__ = [
    "HEAVY_TAILED",
    "KEY_FEATURES",
    "KINDS",
    "RULES",
    "STATES",
    "BehaviourDBSCAN",
    "BehaviourFeatures",
    "BehaviourKMeans",
    "behaviour_features",
    "choose_k_by_silhouette",
    "cluster_profiles",
    "cluster_quality",
    "compare_clusterings",
    "default_models",
    "eps_from_k_distance",
    "k_distance_curve",
    "knee_index",
    "load_events",
    "load_orders",
    "name_clusters",
    "stability_across_seeds",
    "transition_matrix",
]
