"""PopularityRecommender: the baseline ranks by popularity and shares the interface."""

import pandas as pd
import pytest

from unseen.ml.recommend import BaseRecommender, PopularityRecommender

ROWS = pd.DataFrame(
    {
        "user_id": [1, 2, 3, 1, 2, 1],
        "item_id": ["a", "a", "a", "b", "b", "c"],
        "weight": [1.0, 1.0, 1.0, 1.0, 1.0, 10.0],
    }
)


def test_ranks_by_number_of_users():
    model = PopularityRecommender().fit(ROWS)
    assert isinstance(model, BaseRecommender)
    assert model.recommend([], n=3) == [("a", 3.0), ("b", 2.0), ("c", 1.0)]


def test_ranks_by_total_weight():
    model = PopularityRecommender(measure="weight").fit(ROWS)
    assert [item for item, _ in model.recommend([], n=3)] == ["c", "a", "b"]


def test_same_for_everyone_except_own_items():
    model = PopularityRecommender().fit(ROWS)
    assert model.recommend(["a"], n=2) == [("b", 2.0), ("c", 1.0)]
    assert model.recommend(["a"], n=1, exclude_seen=False) == [("a", 3.0)]
    assert model.recommend([], n=2, exclude=["b"]) == [("a", 3.0), ("c", 1.0)]


def test_recommend_many():
    model = PopularityRecommender().fit(ROWS)
    many = model.recommend_many(ROWS, n=1, users=[3, 99])
    assert many == {3: [("b", 2.0)], 99: [("a", 3.0)]}


def test_bad_measure_is_named():
    with pytest.raises(ValueError, match="measure"):
        PopularityRecommender(measure="sales").fit(ROWS)
