"""Per-user scores and their uncertainty, for comparing recommenders beyond one mean per metric.

:func:`evaluate_top_k` and :func:`time_split_evaluation` report means over users. A difference between two means is
only worth reading with its spread: these helpers keep the lists, score every user, and bootstrap the paired
difference (the same users under both models), so that a gap can be told from noise.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import timedelta

import numpy as np
import pandas as pd

from ._base import BaseRecommender
from ._implicit import interaction_weights
from ._metrics import hit_rate_at_k, ndcg_at_k, precision_at_k, recall_at_k
from ._shop import RELEVANT_KINDS

PER_USER_METRICS: dict[str, Callable] = {"precision": precision_at_k, "recall": recall_at_k, "ndcg": ndcg_at_k,
                                         "hit_rate": hit_rate_at_k}


def per_user_metrics(recommendations, relevant, k: int = 10) -> pd.DataFrame:
    """Precision, recall, nDCG and hit rate at ``k`` of every user that has relevant items and a list.

    The means of the columns are what :func:`ranking_report` gives for the same lists.

    Parameters
    ----------
    recommendations : mapping of user to sequence
        Lists best first, of item ids or (item, score) pairs.
    relevant : mapping of user to collection
        The items that count as hits.
    k : int, default=10

    Returns
    -------
    pandas.DataFrame
        Indexed by user, sorted: ``precision``, ``recall``, ``ndcg``, ``hit_rate``.

    Examples
    --------
    >>> per_user_metrics({"u": ["a", "b"], "v": ["c", "d"]}, {"u": {"b"}, "v": {"x"}}, k=2)["hit_rate"].to_dict()
    {'u': 1.0, 'v': 0.0}
    """
    users = sorted((user for user, items in relevant.items() if user in recommendations and len(items)),
                   key=lambda user: (str(type(user)), user))
    rows = {user: {name: metric({user: recommendations[user]}, {user: relevant[user]}, k)
                   for name, metric in PER_USER_METRICS.items()} for user in users}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(PER_USER_METRICS))
    table.index.name = "user_id"
    return table


def paired_bootstrap(a, b, n_resamples: int = 1000, confidence: float = 0.95, random_state: int = 0) -> dict:
    """Mean of ``a - b`` over paired samples, with a percentile bootstrap interval (users resampled).

    Parameters
    ----------
    a, b : array-like of shape (n_users,)
        The same users' scores under two models.
    n_resamples : int, default=1000
    confidence : float, default=0.95
    random_state : int, default=0

    Returns
    -------
    dict
        ``mean_difference``, ``low``, ``high`` (the interval's ends), ``share_better`` (users for whom ``a`` is
        higher), ``share_worse`` and ``users``.

    Examples
    --------
    >>> result = paired_bootstrap([1.0, 0.9, 0.8, 1.0] * 10, [0.5, 0.4, 0.6, 0.5] * 10, n_resamples=200)
    >>> round(result["mean_difference"], 3), bool(result["low"] > 0)
    (0.425, True)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"a and b must be equal, non-empty 1-d arrays of paired scores; got {a.shape} and {b.shape}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1; got {confidence!r}.")
    difference = a - b
    rng = np.random.default_rng(random_state)
    means = difference[rng.integers(0, difference.size, size=(n_resamples, difference.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return {"mean_difference": float(difference.mean()), "low": float(np.quantile(means, tail)),
            "high": float(np.quantile(means, 1 - tail)), "share_better": float(np.mean(difference > 0)),
            "share_worse": float(np.mean(difference < 0)), "users": int(difference.size)}


def recommendation_lists(model: BaseRecommender, train: pd.DataFrame, users: Iterable[Hashable], k: int,
                         weight: str | None = None) -> dict[Hashable, list]:
    """Fit ``model`` on ``train`` and return the top ``k`` unseen items of every user, as :func:`evaluate_top_k`
    does (``weight`` names the column used as the interaction weight; None weighs every row 1)."""
    weights = train[weight].astype(float) if weight is not None else 1.0
    interactions = train[["user_id", "item_id"]].assign(weight=weights)
    model.fit(interactions)
    lists = model.recommend_many(interactions, n=k, users=list(users), exclude_seen=True)
    return {user: [item for item, _ in items] for user, items in lists.items()}


def relevant_items(test: pd.DataFrame) -> dict[Hashable, set]:
    """Every user's items in ``test`` (the MovieLens protocol counts each as relevant, whatever its rating)."""
    return {user: set(items) for user, items in test.groupby("user_id")["item_id"]}


def shop_time_split(events: pd.DataFrame, *, test_days: int = 30, half_life_days: float = 30.0):
    """The shop's evaluation split, as :func:`time_split_evaluation` makes it, with its parts returned.

    Parameters
    ----------
    events : pandas.DataFrame
        Product events as :func:`load_item_events` returns them (``user_id``, ``product_id``, ``kind``, ``at``).
    test_days : int, default=30
    half_life_days : float, default=30.0

    Returns
    -------
    interactions : pandas.DataFrame
        Implicit weights of the events before the cut, decayed to it (what the models are fitted on).
    relevant : dict of user to set
        For every user with history before the cut, the products they carted, kept or bought after it.
    cut : pandas.Timestamp
        ``test_days`` before the last event.
    """
    if events.empty:
        raise ValueError("no product events to split; seed the shop or let shoppers browse first")
    cut = events["at"].max() - timedelta(days=test_days)
    train, test = events[events["at"] < cut], events[events["at"] >= cut]
    interactions = interaction_weights(train, half_life_days=half_life_days, reference_time=cut)
    known = set(interactions["user_id"])
    acted = test[test["kind"].isin([kind.value for kind in RELEVANT_KINDS]) & test["user_id"].isin(known)]
    relevant = acted.groupby("user_id")["product_id"].apply(lambda ids: set(ids.astype(int))).to_dict()
    return interactions, relevant, cut


def shop_lists(model: BaseRecommender, interactions: pd.DataFrame, users: Iterable[Hashable],
               k: int) -> dict[Hashable, list]:
    """Fit ``model`` on the shop's ``interactions`` and return every user's top ``k`` unseen products."""
    model.fit(interactions)
    lists = model.recommend_many(interactions, n=k, users=list(users))
    return {user: [item for item, _ in items] for user, items in lists.items()}
