"""MovieLens 100k: loader, the Recommenders split, and a small run where item-kNN beats popularity."""

import pandas as pd
import pytest

from unseen.ml.recommend import (
    ItemKNNRecommender,
    PopularityRecommender,
    evaluate_top_k,
    load_movielens_100k,
    reference_data_dir,
    stratified_split,
)
from unseen.ml.recommend._movielens import MOVIELENS_100K_FILE


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    path = reference_data_dir() / MOVIELENS_100K_FILE
    assert path.is_file(), f"MovieLens 100k is expected at {path} (../shared/data, or set UNSEEN_REFERENCE_DATA)"
    return load_movielens_100k(path)


def test_loader_reads_all_ratings(ratings):
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ratings) == 100_000
    assert ratings["user_id"].nunique() == 943
    assert ratings["item_id"].nunique() == 1682
    assert ratings["rating"].between(1, 5).all()


def test_reference_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UNSEEN_REFERENCE_DATA", str(tmp_path))
    assert reference_data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="UNSEEN_REFERENCE_DATA"):
        load_movielens_100k()


def test_stratified_split_keeps_three_quarters_of_every_user(ratings):
    train, test = stratified_split(ratings, ratio=0.75, seed=42)
    assert len(train) + len(test) == len(ratings)
    assert not set(train.index) & set(test.index)
    per_user = train.groupby("user_id").size() / ratings.groupby("user_id").size()
    assert per_user.between(0.70, 0.76).all()
    assert set(test["user_id"]) == set(ratings["user_id"])  # every user has at least 20 ratings
    again, _ = stratified_split(ratings, ratio=0.75, seed=42)
    other, _ = stratified_split(ratings, ratio=0.75, seed=1)
    assert train.index.equals(again.index)
    assert not train.index.equals(other.index)


def test_item_knn_clearly_beats_popularity_on_a_subset(ratings):
    users = sorted(ratings["user_id"].unique())[:300]
    train, test = stratified_split(ratings[ratings["user_id"].isin(users)])
    knn = evaluate_top_k(
        ItemKNNRecommender(n_neighbors=10, shrinkage=50.0, similarity_power=0.5), train, test, weight=None
    )
    popularity = evaluate_top_k(PopularityRecommender(), train, test, weight=None)
    for metric in ("precision", "recall", "ndcg", "map"):
        assert knn[metric] > 1.2 * popularity[metric], metric
    assert knn["coverage"] > popularity["coverage"]
