"""Train a task's model from the shop's data, register it, and promote it only if it beats the promoted one.

``unseen train TASK`` and the scheduled retraining notebooks call these functions; each returns what it did so the
caller can print or record it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from unseen.ml.registry import ModelRegistry, ModelVersion, PromotionDecision

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    task: str
    version: ModelVersion
    decision: PromotionDecision
    metrics: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecommendParameters:
    n_neighbors: int = 30
    similarity: str = "cosine"
    shrinkage: float = 10.0
    half_life_days: float = 30.0
    test_days: int = 30
    k: int = 10


def train_recommend(engine: Engine, registry: ModelRegistry, params: RecommendParameters = RecommendParameters(), *,
                    keep: int = 5, progress: Progress | None = None) -> TrainingResult:
    """Item-kNN on every product event: judged on the last ``test_days`` (trained before them), then refitted on all
    events and registered; promoted if its nDCG@k beats the promoted version's."""
    from unseen.ml.recommend import ItemKNNRecommender
    from unseen.ml.recommend._shop import fit_on_events, load_item_events, time_split_evaluation

    def make_model() -> ItemKNNRecommender:
        return ItemKNNRecommender(n_neighbors=params.n_neighbors, similarity=params.similarity,
                                  shrinkage=params.shrinkage)

    say = progress or (lambda _message: None)
    say("loading events")
    events = load_item_events(engine)
    if events.empty:
        raise ValueError("there are no product events to learn from; run `unseen seed` or let shoppers browse first")
    say(f"evaluating on the last {params.test_days} days")
    reports = time_split_evaluation(events, make_model, test_days=params.test_days, k=params.k,
                                    half_life_days=params.half_life_days)
    say("fitting on every event")
    model = fit_on_events(make_model(), events, half_life_days=params.half_life_days)
    version = registry.register(
        "recommend", model, params=params.__dict__, metrics={"holdout": reports["item_knn"]},
        data_range=(events["at"].min().isoformat(), events["at"].max().isoformat()), n_samples=len(events),
        notes=f"item-kNN over {events['user_id'].nunique()} users and {events['product_id'].nunique()} products",
    )
    decision = registry.promote_if_better("recommend", version.version, "holdout.ndcg")
    pruned = registry.prune("recommend", keep=keep)
    return TrainingResult("recommend", version, decision, reports["item_knn"], reports["popularity"], pruned)


def evaluate_recommend(engine: Engine | None, params: RecommendParameters = RecommendParameters(), *,
                       movielens: bool = True) -> list[dict[str, Any]]:
    """Item-kNN against popularity: on the shop's last ``test_days`` (when ``engine`` is given) and on MovieLens 100k
    under the Microsoft Recommenders protocol, beside their published SAR row. One row per dataset and model."""
    from unseen.ml.recommend import (
        MOVIELENS_PARAMETERS,
        SAR_REFERENCE,
        ItemKNNRecommender,
        PopularityRecommender,
        evaluate_top_k,
        load_movielens_100k,
        stratified_split,
    )
    from unseen.ml.recommend._shop import load_item_events, time_split_evaluation

    rows: list[dict[str, Any]] = []
    if engine is not None:
        events = load_item_events(engine)
        reports = time_split_evaluation(
            events, lambda: ItemKNNRecommender(n_neighbors=params.n_neighbors, similarity=params.similarity,
                                               shrinkage=params.shrinkage),
            test_days=params.test_days, k=params.k, half_life_days=params.half_life_days)
        rows += [{"dataset": f"shop, last {params.test_days} days", "model": name, **report}
                 for name, report in reports.items()]
    if movielens:
        ratings = load_movielens_100k()
        train, test = stratified_split(ratings, ratio=0.75, seed=42)
        for name, model in (("item_knn", ItemKNNRecommender(**MOVIELENS_PARAMETERS)), ("popularity", PopularityRecommender())):
            rows.append({"dataset": "MovieLens 100k", "model": name, **evaluate_top_k(model, train, test, k=10, weight=None)})
        rows.append({"dataset": "MovieLens 100k", "model": "SAR (published)", **SAR_REFERENCE})
    return rows
