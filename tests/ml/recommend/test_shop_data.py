"""Recommendations from the shop's own events: loading, one user's weights, the time-split judgement, training."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from unseen.db import create_schema, make_engine
from unseen.ml.recommend._shop import load_item_events, time_split_evaluation, user_weights
from unseen.ml.recommend import ItemKNNRecommender
from unseen.ml.registry import ModelRegistry
from unseen.ml.training import RecommendParameters, train_recommend
from unseen.simulate.seed import SeedParameters, seed


@pytest.fixture(scope="module")
def seeded_engine(tmp_path_factory):
    from unseen.config import Settings

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('rec')}/shop.db")
    seed(engine, Settings(environment="test"), SeedParameters(seed=9, customers=80, months=24, products=100,
                                                               until=date(2026, 9, 30)))
    yield engine
    engine.dispose()


def test_load_item_events_keeps_product_events_of_users(seeded_engine):
    events = load_item_events(seeded_engine)
    assert list(events.columns) == ["user_id", "product_id", "kind", "at"]
    assert set(events["kind"]) <= {"view", "cart_add", "cart_remove", "favourite_add", "favourite_remove", "purchase"}
    assert events["at"].dt.tz is not None and events["product_id"].notna().all()
    since = events["at"].max() - pd.Timedelta(days=10)
    assert (load_item_events(seeded_engine, since=since.to_pydatetime())["at"] >= since).all()


def test_user_weights_sum_kinds_with_decay():
    now = datetime(2026, 1, 31, tzinfo=UTC)
    events = pd.DataFrame({"product_id": [1, 1, 2], "kind": ["view", "cart_add", "view"],
                           "at": pd.to_datetime([now - timedelta(days=30), now, now], utc=True)})
    weights = user_weights(events, reference_time=now, half_life_days=30)
    assert weights[2] == pytest.approx(1.0)
    assert weights[1] > weights[2]
    assert user_weights(events.iloc[:0]) == {}


def test_time_split_evaluation_beats_popularity_on_the_seeded_shop(seeded_engine):
    events = load_item_events(seeded_engine)
    reports = time_split_evaluation(events, lambda: ItemKNNRecommender(n_neighbors=20), test_days=60)
    assert reports["item_knn"]["users"] > 20
    assert reports["item_knn"]["ndcg"] > reports["popularity"]["ndcg"]
    assert reports["item_knn"]["coverage"] > reports["popularity"]["coverage"]


def test_time_split_evaluation_refuses_empty_events():
    with pytest.raises(ValueError, match="no product events"):
        time_split_evaluation(pd.DataFrame(columns=["user_id", "product_id", "kind", "at"]), ItemKNNRecommender)


def test_train_registers_and_promotes_only_when_better(seeded_engine, tmp_path):
    registry = ModelRegistry(tmp_path)
    first = train_recommend(seeded_engine, registry, RecommendParameters(n_neighbors=20, test_days=60))
    assert first.decision.promoted and registry.promoted("recommend").version == first.version.version
    assert first.version.n_samples > 1000 and first.version.metrics["holdout"]["ndcg"] == first.metrics["ndcg"]
    again = train_recommend(seeded_engine, registry, RecommendParameters(n_neighbors=20, test_days=60))
    assert not again.decision.promoted  # the same data scores the same: not better
    assert registry.promoted("recommend").version == first.version.version


def test_train_on_an_empty_shop_says_what_is_missing(tmp_path):
    engine = make_engine("sqlite://")
    create_schema(engine)
    with pytest.raises(ValueError, match="unseen seed"):
        train_recommend(engine, ModelRegistry(tmp_path))
