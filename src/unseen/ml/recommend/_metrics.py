"""Ranking metrics for top-k recommendations, as Microsoft Recommenders defines them.

Every function takes ``recommendations`` (user -> items, best first; ``(item, score)`` pairs as
returned by :meth:`BaseRecommender.recommend_many` are accepted too) and ``relevant``
(user -> the items that count as hits, for example everything the user has in the test split).
Relevance is binary. As in Recommenders' ``merge_ranking_true_pred``, averages run over the users
that appear in both mappings (with at least one relevant item), and precision divides by ``k``
even when a list is shorter.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence

import numpy as np

RecommendationLists = Mapping[Hashable, Sequence]
RelevantItems = Mapping[Hashable, Collection[Hashable]]


def _item_list(recommended: Sequence, k: int) -> list:
    """First ``k`` item ids of one list, whether given as ids or as (item, score) pairs."""
    head = list(recommended[:k])
    if head and all(isinstance(entry, tuple) and len(entry) == 2 for entry in head):
        return [item for item, _ in head]
    return head


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    return int(k)


def _per_user(recommendations: RecommendationLists, relevant: RelevantItems, k: int):
    """Yield (hit flags of the top-k, number of relevant items) for each evaluated user."""
    k = _check_k(k)
    for user, items in relevant.items():
        if user not in recommendations or len(items) == 0:
            continue
        truth = set(items)
        top = _item_list(recommendations[user], k)
        yield np.array([item in truth for item in top], dtype=bool), len(truth)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0


def precision_at_k(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> float:
    """Mean share of the top ``k`` that is relevant (hits / k).

    Examples
    --------
    >>> precision_at_k({"u": ["a", "b", "c"]}, {"u": {"a", "c", "x"}}, k=2)
    0.5
    """
    return _mean(hits.sum() / k for hits, _ in _per_user(recommendations, relevant, k))


def recall_at_k(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> float:
    """Mean share of the relevant items found in the top ``k`` (hits / number relevant).

    Examples
    --------
    >>> recall_at_k({"u": ["a", "b", "c"]}, {"u": {"a", "c", "x", "y"}}, k=3)
    0.5
    """
    return _mean(hits.sum() / n for hits, n in _per_user(recommendations, relevant, k))


def hit_rate_at_k(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> float:
    """Share of users with at least one relevant item in their top ``k``.

    Examples
    --------
    >>> hit_rate_at_k({"u": ["a"], "v": ["b"]}, {"u": {"a"}, "v": {"c"}}, k=1)
    0.5
    """
    return _mean(float(hits.any()) for hits, _ in _per_user(recommendations, relevant, k))


def ndcg_at_k(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> float:
    """Mean normalised discounted cumulative gain with binary gains.

    DCG sums ``1 / log(1 + rank)`` over the hits at ranks 1..k; the ideal DCG puts
    ``min(k, number relevant)`` hits at the top (the log base cancels out).

    Examples
    --------
    >>> round(ndcg_at_k({"u": ["x", "a"]}, {"u": {"a"}}, k=2), 4)
    0.6309
    """

    def ndcg(hits: np.ndarray, n_relevant: int) -> float:
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = discounts[: min(k, n_relevant)].sum()
        return float(discounts[: len(hits)][hits].sum() / ideal)

    return _mean(ndcg(hits, n) for hits, n in _per_user(recommendations, relevant, k))


def map_at_k(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> float:
    """Mean average precision of the top ``k``, divided by the number of relevant items.

    A user's average precision sums precision@rank over the ranks of the hits and divides by
    *all* of the user's relevant items, not by ``min(k, n_relevant)``. That is the definition
    behind the MAP column of Microsoft Recommenders' MovieLens benchmark table (their
    ``map_at_k`` at the time; recent releases call it ``map`` and changed ``map_at_k`` to divide by
    ``min(k, n_relevant)``, which gives larger numbers).

    Examples
    --------
    >>> # hits at ranks 1 and 3 of 4 relevant items: (1/1 + 2/3) / 4
    >>> round(map_at_k({"u": ["a", "x", "b"]}, {"u": {"a", "b", "c", "d"}}, k=3), 4)
    0.4167
    """

    def average_precision(hits: np.ndarray, n_relevant: int) -> float:
        ranks = np.flatnonzero(hits) + 1
        return float((np.arange(1, len(ranks) + 1) / ranks).sum() / n_relevant)

    return _mean(average_precision(hits, n) for hits, n in _per_user(recommendations, relevant, k))


def catalogue_coverage(
    recommendations: RecommendationLists, catalogue: Collection[Hashable] | int, k: int = 10
) -> float:
    """Share of the catalogue that appears in at least one user's top ``k``.

    Parameters
    ----------
    recommendations : mapping of user to sequence
        Lists best first, of item ids or (item, score) pairs.
    catalogue : collection of item_id, or int
        The items that could have been recommended, or just how many there are.
    k : int, default=10

    Examples
    --------
    >>> catalogue_coverage({"u": ["a", "b"], "v": ["a", "c"]}, ["a", "b", "c", "d"], k=1)
    0.25
    """
    k = _check_k(k)
    shown = {item for items in recommendations.values() for item in _item_list(items, k)}
    if isinstance(catalogue, (int, np.integer)):
        size = int(catalogue)
    else:
        catalogue = set(catalogue)
        shown &= catalogue
        size = len(catalogue)
    if size <= 0:
        raise ValueError(f"catalogue must hold at least one item; got {catalogue!r}.")
    return len(shown) / size


def ranking_report(recommendations: RecommendationLists, relevant: RelevantItems, k: int = 10) -> dict:
    """Precision, recall, nDCG, MAP and hit rate at ``k`` in one dict, keyed by short names.

    Examples
    --------
    >>> ranking_report({"u": ["a", "b"]}, {"u": {"b"}}, k=2)["precision"]
    0.5
    """
    return {
        "precision": precision_at_k(recommendations, relevant, k),
        "recall": recall_at_k(recommendations, relevant, k),
        "ndcg": ndcg_at_k(recommendations, relevant, k),
        "map": map_at_k(recommendations, relevant, k),
        "hit_rate": hit_rate_at_k(recommendations, relevant, k),
    }
