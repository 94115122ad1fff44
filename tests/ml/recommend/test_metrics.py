"""Ranking metrics against hand-worked examples."""

import math

import pytest

from unseen.ml.recommend import (
    catalogue_coverage,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_report,
    recall_at_k,
)

# User "ann": relevant {a, b, c}; the list hits at ranks 1 and 3 of 4.
# User "bob": relevant {z}; no hit.
RECOMMENDATIONS = {"ann": ["a", "x", "b", "y"], "bob": ["p", "q", "r", "s"]}
RELEVANT = {"ann": {"a", "b", "c"}, "bob": {"z"}}


def test_precision_divides_hits_by_k_and_averages_users():
    assert precision_at_k(RECOMMENDATIONS, RELEVANT, k=4) == pytest.approx((2 / 4 + 0) / 2)
    assert precision_at_k(RECOMMENDATIONS, RELEVANT, k=1) == pytest.approx((1 + 0) / 2)


def test_precision_divides_by_k_even_when_the_list_is_shorter():
    assert precision_at_k({"ann": ["a"]}, RELEVANT, k=4) == pytest.approx(1 / 4)


def test_recall_divides_hits_by_number_relevant():
    assert recall_at_k(RECOMMENDATIONS, RELEVANT, k=4) == pytest.approx((2 / 3 + 0) / 2)


def test_hit_rate_counts_users_with_any_hit():
    assert hit_rate_at_k(RECOMMENDATIONS, RELEVANT, k=4) == pytest.approx(0.5)
    assert hit_rate_at_k(RECOMMENDATIONS, RELEVANT, k=1) == pytest.approx(0.5)


def test_ndcg_by_hand():
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # min(k=4, 3 relevant) = 3 hits
    assert ndcg_at_k(RECOMMENDATIONS, RELEVANT, k=4) == pytest.approx((dcg / ideal + 0) / 2)


def test_ndcg_ideal_is_capped_at_k():
    # 3 relevant, k=1, hit at rank 1: perfect.
    assert ndcg_at_k(RECOMMENDATIONS, {"ann": RELEVANT["ann"]}, k=1) == pytest.approx(1.0)


def test_map_divides_by_all_relevant_items_not_min_k():
    # Precision at the hit ranks: 1/1 and 2/3; three relevant items.
    assert map_at_k(RECOMMENDATIONS, RELEVANT, k=4) == pytest.approx(((1 + 2 / 3) / 3 + 0) / 2)
    # With k=1 the denominator stays 3 (Recommenders' MAP), not min(k, 3) = 1.
    assert map_at_k(RECOMMENDATIONS, {"ann": RELEVANT["ann"]}, k=1) == pytest.approx(1 / 3)


def test_perfect_list_scores_one_everywhere():
    report = ranking_report({"u": ["a", "b"]}, {"u": {"a", "b"}}, k=2)
    assert report == pytest.approx({"precision": 1, "recall": 1, "ndcg": 1, "map": 1, "hit_rate": 1})


def test_pairs_with_scores_are_accepted_like_ids():
    pairs = {user: [(item, 1.0 / rank) for rank, item in enumerate(items, 1)] for user, items in RECOMMENDATIONS.items()}
    assert ranking_report(pairs, RELEVANT, k=3) == ranking_report(RECOMMENDATIONS, RELEVANT, k=3)


def test_only_users_in_both_mappings_count():
    # "eve" has no recommendations and "bob2" no relevant items: neither enters the average.
    recommendations = {**RECOMMENDATIONS, "bob2": ["a"]}
    relevant = {**RELEVANT, "eve": {"a"}}
    assert precision_at_k(recommendations, relevant, k=4) == precision_at_k(RECOMMENDATIONS, RELEVANT, k=4)


def test_no_common_users_gives_zero():
    assert map_at_k({"a": ["x"]}, {"b": {"x"}}) == 0.0


def test_catalogue_coverage():
    assert catalogue_coverage(RECOMMENDATIONS, ["a", "b", "x", "y", "p", "q", "r", "s"], k=2) == pytest.approx(4 / 8)
    assert catalogue_coverage(RECOMMENDATIONS, 16, k=4) == pytest.approx(8 / 16)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k_is_refused(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        precision_at_k(RECOMMENDATIONS, RELEVANT, k=k)
