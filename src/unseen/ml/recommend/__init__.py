"""Recommendations from implicit feedback: item-based k-NN, a popularity baseline, metrics and a cache."""

from ._base import BaseRecommender, check_interactions, user_item_matrix
from ._cache import RecommendationCache
from ._implicit import DEFAULT_EVENT_WEIGHTS, EVENTS_WITHOUT_ITEM, interaction_weights
from ._item_knn import ItemKNNRecommender
from ._metrics import (
    catalogue_coverage,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_report,
    recall_at_k,
)
from ._movielens import (
    MOVIELENS_PARAMETERS,
    SAR_REFERENCE,
    evaluate_top_k,
    load_movielens_100k,
    reference_data_dir,
    stratified_split,
)
from ._popularity import PopularityRecommender

__all__ = [
    "MOVIELENS_PARAMETERS",
    "DEFAULT_EVENT_WEIGHTS",
    "EVENTS_WITHOUT_ITEM",
    "SAR_REFERENCE",
    "BaseRecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "RecommendationCache",
    "catalogue_coverage",
    "check_interactions",
    "evaluate_top_k",
    "hit_rate_at_k",
    "interaction_weights",
    "load_movielens_100k",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_report",
    "recall_at_k",
    "reference_data_dir",
    "stratified_split",
    "user_item_matrix",
]
