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

**Reasons.** :func:`explain_user_recommendations` names the user's own merchants that carry each recommendation's
score, :meth:`CustomerFinder.explain_potential_customers` the candidate's merchants that the merchant's current
customers also use.
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


USER_EXPLANATION_COLUMNS = ("rank", "item_id", "score", "because", "contributions", "explained_score",
                            "explained_share")


def explain_user_recommendations(model: ItemKNNRecommender, history: pd.DataFrame, user, *, n: int = 10,
                                 top: int = 3) -> pd.DataFrame:
    """A user's ``n`` best new items, each with the user's own items that carry its score.

    An item-kNN score is a sum over the user's items ``j`` of ``weight(user, j) * similarity(j, item)``; each term is
    item ``j``'s contribution, and the ``top`` largest positive ones are the reason for the recommendation.

    Parameters
    ----------
    model : ItemKNNRecommender
        Fitted; the user's items it has not seen contribute nothing, as in its recommendations.
    history : pandas.DataFrame
        ``user_id, item_id, weight`` (repeated pairs are summed), for example :attr:`TimeSplitInteractions.train`;
        only ``user``'s rows are read.
    user
        A ``user_id`` of ``history``.
    n : int, default=10
        Length of the list.
    top : int, default=3
        Most contributors named per item.

    Returns
    -------
    pandas.DataFrame
        One row per recommended item, best first: ``rank, item_id, score``; ``because``, the user's items with the
        largest positive contributions, largest first (ties in catalogue order), and ``contributions``, theirs;
        ``explained_score``, the sum of every contribution (the score); ``explained_share``, the part of it the
        ``because`` items carry (0 when it is not positive, as for a user the model only knows popular items for).

    Raises
    ------
    ValueError
        If ``user`` has no row in ``history``.

    Examples
    --------
    User 1 pays at the baker (weight 3) and the grocer (weight 4). The butcher shares a customer with each, so
    both explain it; the florist shares one with the grocer only.

    >>> history = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 3],
    ...                         "item_id": ["baker", "grocer", "baker", "butcher", "grocer", "butcher", "florist"],
    ...                         "weight": [3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 1.0]})
    >>> model = ItemKNNRecommender().fit(history)
    >>> explained = explain_user_recommendations(model, history, 1)
    >>> explained[["item_id", "because", "explained_share"]].to_dict("records")
    [{'item_id': 'butcher', 'because': ['grocer', 'baker'], 'explained_share': 1.0}, \
{'item_id': 'florist', 'because': ['grocer'], 'explained_share': 1.0}]
    >>> [round(c, 2) for c in explained["contributions"].iloc[0]]
    [1.92, 1.44]
    """
    own = history[history["user_id"] == user]
    if own.empty:
        raise ValueError(f"user {user!r} has no row in the history; expected one of its "
                         f"{history['user_id'].nunique():,} user_id values")
    recommended = recommend_for_users(model, own, [user], n=n)
    position = own["item_id"].map(model._item_index)
    known = position.notna().to_numpy()
    weight = own["weight"].to_numpy(np.float64)[known]
    weight = pd.Series(weight).groupby(position[known].to_numpy(np.int64)).sum()
    items = weight.index.to_numpy(np.int64)
    rows = []
    if len(recommended):
        targets = [model._item_index[item] for item in recommended["item_id"].tolist()]
        # One row per recommended item, one column per item of the user's.
        contribution = model.similarity_[items][:, targets].T.toarray() * weight.to_numpy()
        for rec, terms in zip(recommended.itertuples(), contribution):
            order = [j for j in np.argsort(-terms, kind="stable")[:top] if terms[j] > 0]
            total = float(terms.sum())
            rows.append({"rank": rec.rank, "item_id": rec.item_id, "score": rec.score,
                         "because": model.item_ids_[items[order]].tolist(),
                         "contributions": terms[order].tolist(), "explained_score": total,
                         "explained_share": float(terms[order].sum() / total) if total > 0 else 0.0})
    return pd.DataFrame(rows, columns=list(USER_EXPLANATION_COLUMNS))


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
        position = self._position(merchant)
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
        rows, score = self._ranked(merchant, n=n, method=method)
        return pd.DataFrame({"user_id": self.user_ids_[rows], "score": score})

    def explain_potential_customers(self, merchant, *, n: int = 10, method: str = "item_knn",
                                    top: int = 2) -> pd.DataFrame:
        """The ``n`` likeliest new customers of ``merchant``, each with their merchants its customers also use.

        The reason is the same whatever the ``method``: of the candidate's training merchants, the ``top`` that the
        most of ``merchant``'s current customers use too.

        Parameters
        ----------
        merchant
            A merchant (item id) with a customer in the interactions given to :meth:`fit`.
        n : int, default=10
            Length of the list.
        method : {"item_knn", "customer_centroid", "most_active"}, default="item_knn"
            How candidates are ranked, as in :meth:`scores`.
        top : int, default=2
            Most shared merchants named per candidate.

        Returns
        -------
        pandas.DataFrame
            One row per candidate, best first: ``rank, user_id, score``; ``merchants_in_training``, how many
            merchants the candidate uses; ``shared_merchants``, those of them used by the most current customers
            (at least one; ties in catalogue order) and ``shared_with_customers``, by how many.

        Raises
        ------
        ValueError
            If ``merchant`` has no customer in the training interactions, or ``method`` is unknown.

        Examples
        --------
        Users 1 to 3 are merchant 7's customers; user 4 uses merchant 10 like two of them, 20 and 30 like one.

        >>> history = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6],
        ...                         "item_id": [7, 10, 20, 7, 10, 7, 30, 10, 20, 30, 20, 40, 40], "weight": 1.0})
        >>> found = CustomerFinder().fit(history).explain_potential_customers(7)
        >>> found[["user_id", "shared_merchants", "shared_with_customers"]].to_dict("records")[:2]
        [{'user_id': 4, 'shared_merchants': [10, 20], 'shared_with_customers': [2, 1]}, \
{'user_id': 5, 'shared_merchants': [20], 'shared_with_customers': [1]}]
        """
        rows, score = self._ranked(merchant, n=n, method=method)
        uses = self.matrix_ > 0
        customers = self.customers_[:, self._position(merchant)].toarray().ravel() > 0
        customers_using = np.asarray(uses[np.flatnonzero(customers)].sum(axis=0)).ravel()
        found = []
        for rank, (row, value) in enumerate(zip(rows.tolist(), score.tolist()), start=1):
            theirs = uses.indices[uses.indptr[row]:uses.indptr[row + 1]]
            overlap = customers_using[theirs]
            common = [j for j in np.argsort(-overlap, kind="stable")[:top] if overlap[j] > 0]
            found.append({"rank": rank, "user_id": self.user_ids_[row].item(), "score": value,
                          "merchants_in_training": len(theirs),
                          "shared_merchants": self.knn_.item_ids_[theirs[common]].tolist(),
                          "shared_with_customers": overlap[common].tolist()})
        return pd.DataFrame(found, columns=["rank", "user_id", "score", "merchants_in_training", "shared_merchants",
                                            "shared_with_customers"])

    def _position(self, merchant) -> int:
        position = self.knn_._item_index.get(merchant)
        if position is None:
            raise ValueError(f"merchant {merchant!r} has no customer in the training data; expected one of the "
                             f"{self.knn_.n_items_:,} merchants of the interactions given to fit")
        return position

    def _ranked(self, merchant, *, n: int, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows of :attr:`matrix_` of the ``n`` likeliest new customers, best first, and their scores."""
        score = self.scores(merchant, method=method)
        order = np.argsort(-score, kind="stable")[:n]
        order = order[np.isfinite(score[order])]
        return order, score[order]


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
