"""Two-sided recommendations on card transactions: merchants (or MCC categories) for users, and potential customers
for merchants, with an offline evaluation on a time split.

**Users.** A user's history is the user x merchant (or user x MCC) matrix, weighted ``log(1 + transactions)``. The
item-based k-NN of :mod:`unseen.ml.recommend` learns which merchants share customers and recommends, to each user,
the merchants closest to theirs that they have not paid at yet; the popularity recommender (the merchants with the
most customers) is the baseline.

**Merchants.** The potential customers of a merchant are the users who have not paid there yet and look most like
those who have. Two ways to say "look like": ``item_knn`` scores a user by the similarity of the merchants they use
to this merchant (the item-kNN score read the other way round), ``customer_centroid`` by the cosine between the
user's history and the merchant's customers' mean history. The baseline is the most active users (those with the
most distinct merchants).

**Evaluation.** Training interactions are those before ``test_start`` (default: the last ``test_months`` months);
the relevant items of a user are the merchants they first paid at in the test months (new to them), and the
relevant users of a merchant are its new customers. Precision, recall, nDCG and hit rate at ``k``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from unseen.analytics.loader import TransactionsLayout
from unseen.ml.recommend import (
    ItemKNNRecommender,
    PopularityRecommender,
    catalogue_coverage,
    ranking_report,
)

ITEM_KEYS = {"merchant": "merchant_id", "mcc": "mcc"}
CUSTOMER_METHODS: tuple[str, ...] = ("item_knn", "customer_centroid", "most_active")


def interactions(frame: pd.DataFrame, *, item: str = "merchant") -> pd.DataFrame:
    """``user_id, item_id, weight`` (``log(1 + transactions)``) from the features module's per-user
    interaction tables (:func:`~unseen.analytics.features.user_merchant_interactions` or
    :func:`~unseen.analytics.features.user_mcc_interactions`)."""
    key = _key(item)
    missing = [c for c in ("client_id", key, "transactions") if c not in frame.columns]
    if missing:
        raise ValueError(f"the interactions frame lacks column(s) {missing}; it has {list(frame.columns)}")
    return pd.DataFrame({"user_id": frame["client_id"].to_numpy(np.int64), "item_id": frame[key].to_numpy(np.int64),
                         "weight": np.log1p(frame["transactions"].to_numpy(np.float64))})


def _key(item: str) -> str:
    if item not in ITEM_KEYS:
        raise ValueError(f"item must be one of {', '.join(ITEM_KEYS)}, not {item!r}")
    return ITEM_KEYS[item]


@dataclass(frozen=True)
class TimeSplitInteractions:
    """Interactions before ``test_start`` (``train``) and from it on (``test``), as ``user_id, item_id, weight``."""

    train: pd.DataFrame
    test: pd.DataFrame
    test_start: pd.Timestamp
    item: str

    def new_items(self) -> dict[int, set[int]]:
        """Per user with training history, the items they first had in the test period."""
        seen = set(zip(self.train["user_id"].tolist(), self.train["item_id"].tolist()))
        known_users = set(self.train["user_id"].tolist())
        relevant: dict[int, set[int]] = {}
        for user, item in zip(self.test["user_id"].tolist(), self.test["item_id"].tolist()):
            if user in known_users and (user, item) not in seen:
                relevant.setdefault(user, set()).add(item)
        return relevant

    def new_customers(self) -> dict[int, set[int]]:
        """Per item known in training, the users with training history who first paid there in the test period."""
        known_items = set(self.train["item_id"].tolist())
        out: dict[int, set[int]] = {}
        for user, items in self.new_items().items():
            for item in items:
                if item in known_items:
                    out.setdefault(item, set()).add(user)
        return out


def split_interactions(folder: str | Path | TransactionsLayout, *, item: str = "merchant", test_months: int = 12,
                       test_start=None, con=None) -> TimeSplitInteractions:
    """Read the per-user interactions of the layout before and after ``test_start`` (default: the first day of
    the month ``test_months`` before the month after the last transaction)."""
    from unseen.analytics import features

    _key(item)
    reader = features.user_merchant_interactions if item == "merchant" else features.user_mcc_interactions
    if test_start is None:
        every = reader(folder, con=con)
        if every.empty:
            raise ValueError("the layout holds no transactions")
        last = pd.Timestamp(every["last_date"].max()).to_period("M")
        test_start = (last - (test_months - 1)).to_timestamp()
    test_start = pd.Timestamp(test_start)
    train = interactions(reader(folder, con=con, until=test_start), item=item)
    test = interactions(reader(folder, con=con, since=test_start), item=item)
    if train.empty or test.empty:
        raise ValueError(f"test_start {test_start:%Y-%m-%d} leaves no interactions before or after it")
    return TimeSplitInteractions(train=train, test=test, test_start=test_start, item=item)


def evaluate_user_recommendations(split: TimeSplitInteractions, *, k: int = 10, neighbours: int = 50,
                                  shrinkage: float = 10.0) -> pd.DataFrame:
    """Item-kNN against popularity: ranking metrics at ``k`` of the items users first had in the test period.

    Returns one row per model: ``precision, recall, ndcg, map, hit_rate, coverage, users, fit_seconds``.
    """
    relevant = split.new_items()
    if not relevant:
        raise ValueError("no user has a new item in the test period; nothing to evaluate")
    users = sorted(relevant)
    rows = []
    for name, model in (("popularity", PopularityRecommender()),
                        ("item_knn", ItemKNNRecommender(n_neighbors=neighbours, shrinkage=shrinkage))):
        started = time.perf_counter()
        model.fit(split.train)
        recommendations = model.recommend_many(split.train, n=k, users=users, exclude_seen=True)
        report = ranking_report(recommendations, relevant, k)
        report["coverage"] = catalogue_coverage(recommendations, split.train["item_id"].unique(), k)
        rows.append({"model": name, **report, "users": len(users), "seconds": time.perf_counter() - started})
    return pd.DataFrame(rows)


def recommend_for_users(model: ItemKNNRecommender, history: pd.DataFrame, users: Sequence[int], *,
                        n: int = 10) -> pd.DataFrame:
    """``user_id, rank, item_id, score``: each user's ``n`` best new items."""
    lists = model.recommend_many(history, n=n, users=list(users), exclude_seen=True)
    return pd.DataFrame([{"user_id": user, "rank": rank + 1, "item_id": item, "score": score}
                         for user, items in lists.items() for rank, (item, score) in enumerate(items)])


class CustomerFinder:
    """Finds the users most like a merchant's current customers among those who are not customers yet.

    Higher score means a likelier new customer. ``fit`` takes the training interactions; ``score`` works for any
    merchant in them.
    """

    def __init__(self, *, neighbours: int = 50, shrinkage: float = 10.0):
        self.neighbours = neighbours
        self.shrinkage = shrinkage

    def fit(self, history: pd.DataFrame) -> CustomerFinder:
        self.knn_ = ItemKNNRecommender(n_neighbors=self.neighbours, shrinkage=self.shrinkage).fit(history)
        users, user_code = np.unique(history["user_id"].to_numpy(), return_inverse=True)
        item_code = np.array([self.knn_._item_index[i] for i in history["item_id"].tolist()], dtype=np.int64)
        matrix = sp.csr_matrix((history["weight"].to_numpy(np.float64), (user_code, item_code)),
                               shape=(len(users), self.knn_.n_items_))
        matrix.sum_duplicates()
        self.user_ids_, self.matrix_ = users, matrix
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        self.unit_ = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix
        self.activity_ = np.diff(matrix.indptr).astype(np.float64)
        # Column slices of CSR matrices are slow; a merchant's customers and neighbours are columns.
        self.customers_ = matrix.tocsc()
        self.similarity_columns_ = self.knn_.similarity_.tocsc()
        return self

    def scores(self, merchant, *, method: str = "item_knn") -> np.ndarray:
        """One score per user of :attr:`user_ids_`; current customers get ``-inf``."""
        if method not in CUSTOMER_METHODS:
            raise ValueError(f"method must be one of {', '.join(CUSTOMER_METHODS)}, not {method!r}")
        position = self.knn_._item_index.get(merchant)
        if position is None:
            raise ValueError(f"merchant {merchant!r} has no customer in the training data")
        column = self.customers_[:, position].toarray().ravel()
        if method == "item_knn":
            # Score(u) = sum over u's merchants j of sim(j, merchant) * weight(u, j).
            score = self.matrix_ @ self.similarity_columns_[:, position].toarray().ravel()
        elif method == "customer_centroid":
            customers = np.flatnonzero(column > 0)
            centroid = np.asarray(self.unit_[customers].sum(axis=0)).ravel()
            centroid[position] = 0.0  # being a customer is what we predict, not a sign of likeness
            score = self.unit_ @ (centroid / max(np.linalg.norm(centroid), 1e-12))
        else:
            score = self.activity_.copy()
        score = np.asarray(score, dtype=np.float64) + 1e-9 * self.activity_ / max(self.activity_.max(), 1.0)
        score[column > 0] = -np.inf
        return score

    def potential_customers(self, merchant, *, n: int = 10, method: str = "item_knn") -> pd.DataFrame:
        """``user_id, score`` of the ``n`` likeliest new customers of ``merchant``, best first."""
        score = self.scores(merchant, method=method)
        order = np.argsort(-score, kind="stable")[:n]
        order = order[np.isfinite(score[order])]
        return pd.DataFrame({"user_id": self.user_ids_[order], "score": score[order]})


def evaluate_potential_customers(split: TimeSplitInteractions, *, k: int = 10, neighbours: int = 50,
                                 shrinkage: float = 10.0, min_new_customers: int = 1, max_merchants: int = 500,
                                 seed: int = 0) -> pd.DataFrame:
    """Each method's ranking of non-customers against the merchants' new customers in the test period.

    Merchants with at least ``min_new_customers`` new customers are evaluated (a random ``max_merchants`` of them
    when there are more). One row per method: ``precision, recall, ndcg, map, hit_rate, merchants``.
    """
    truth = {m: users for m, users in split.new_customers().items() if len(users) >= min_new_customers}
    if not truth:
        raise ValueError("no merchant has a new customer in the test period; nothing to evaluate")
    merchants = sorted(truth)
    if len(merchants) > max_merchants:
        merchants = sorted(np.random.default_rng(seed).choice(merchants, max_merchants, replace=False).tolist())
    finder = CustomerFinder(neighbours=neighbours, shrinkage=shrinkage).fit(split.train)
    rows = []
    for method in CUSTOMER_METHODS:
        started = time.perf_counter()
        lists = {m: finder.potential_customers(m, n=k, method=method)["user_id"].tolist() for m in merchants}
        report = ranking_report(lists, {m: truth[m] for m in merchants}, k)
        rows.append({"method": method, **report, "merchants": len(merchants),
                     "seconds": time.perf_counter() - started})
    return pd.DataFrame(rows)


def random_customers_expectation(split: TimeSplitInteractions, *, k: int = 10,
                                 min_new_customers: int = 1) -> dict[str, float]:
    """The expected metrics of ranking each merchant's non-customers uniformly at random, exactly (no sampling): the
    floor :func:`evaluate_potential_customers` is read against. Of a merchant's ``N`` non-customers ``R`` become
    customers in the test period; each place of the list is a hit with probability ``R / N``, and MAP and hit rate
    follow from drawing without replacement. Averaged over every merchant with at least ``min_new_customers`` new
    customers. Returns a row like :func:`evaluate_potential_customers`' with ``method`` "random (expected)".

    >>> from types import SimpleNamespace
    >>> split = SimpleNamespace(train=pd.DataFrame({"user_id": [1, 2, 3], "item_id": [7, 8, 8]}),
    ...                         new_customers=lambda: {7: {2}})
    >>> row = random_customers_expectation(split, k=1)
    >>> row["precision"], row["recall"], row["hit_rate"]
    (0.5, 0.5, 0.5)
    """
    truth = {m: found for m, found in split.new_customers().items() if len(found) >= min_new_customers}
    if not truth:
        raise ValueError("no merchant has a new customer in the test period; nothing to evaluate")
    customers_before = split.train.groupby("item_id")["user_id"].nunique()
    pool = (split.train["user_id"].nunique() - customers_before.reindex(list(truth)).fillna(0).to_numpy()
            ).astype(np.float64)
    new = np.array([len(found) for found in truth.values()], dtype=np.float64)
    places = np.arange(1, k + 1)
    length = np.minimum(k, pool)
    shown = places[None, :] <= length[:, None]
    discount = 1.0 / np.log2(places + 1)
    ideal = np.array([discount[: int(min(k, r))].sum() for r in new])
    remaining = np.maximum(pool[:, None] - places + 1, 1)  # users left to draw at each place (guarded past the pool)
    miss_all = np.prod(np.where(shown, (pool[:, None] - new[:, None] - places + 1) / remaining, 1.0), axis=1)
    precision_given_hit = (1 + (places[None, :] - 1) * (new[:, None] - 1) / np.maximum(pool[:, None] - 1, 1)) / places
    return {
        "method": "random (expected)",
        "precision": float(np.mean(length * new / pool / k)),
        "recall": float(np.mean(length / pool)),
        "ndcg": float(np.mean((new / pool) * (shown * discount).sum(axis=1) / ideal)),
        "map": float(np.mean((shown * precision_given_hit).sum(axis=1) / pool)),
        "hit_rate": float(np.mean(1 - np.clip(miss_all, 0, 1))),
        "merchants": len(truth), "seconds": 0.0,
    }
