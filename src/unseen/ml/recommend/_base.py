"""The contract every recommender in this package keeps: higher score means a better recommendation."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

INTERACTION_COLUMNS = ("user_id", "item_id", "weight")

# Items that tie on score (most often the zero score of items no neighbour reaches) are ordered by
# popularity. The nudge is far below any score difference a model produces, so it only breaks ties.
_TIE_BREAK = 1e-9

# Dense scores per batch in recommend_many when the caller does not say: 2M float64 is 16 MB.
_BATCH_CELLS = 2_000_000

Recommendations = list[tuple[Hashable, float]]


def check_interactions(interactions: object) -> pd.DataFrame:
    """Validate an interactions table and return it with a float ``weight`` column.

    Parameters
    ----------
    interactions : pandas.DataFrame
        One row per (user, item) pair with columns ``user_id``, ``item_id`` and ``weight``; a
        ``timestamp`` column may be present and is passed through. Repeated pairs are allowed
        and are summed by the models.

    Returns
    -------
    pandas.DataFrame
        The same rows with ``weight`` as float64.

    Raises
    ------
    ValueError
        If it is not a DataFrame, a column is missing, or a weight is missing, infinite or negative.

    Examples
    --------
    >>> import pandas as pd
    >>> check_interactions(pd.DataFrame({"user_id": [1], "item_id": ["a"], "weight": [2]})).dtypes["weight"]
    dtype('float64')
    """
    if not isinstance(interactions, pd.DataFrame):
        raise ValueError(
            "interactions must be a pandas DataFrame with columns user_id, item_id, weight; "
            f"got {type(interactions).__name__}."
        )
    missing = [column for column in INTERACTION_COLUMNS if column not in interactions.columns]
    if missing:
        raise ValueError(
            f"interactions is missing column(s) {missing}; expected {list(INTERACTION_COLUMNS)} "
            f"(got {list(interactions.columns)})."
        )
    weight = pd.to_numeric(interactions["weight"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        example = interactions["weight"].to_numpy()[np.flatnonzero(bad)[0]]
        raise ValueError(
            f"interactions has {int(bad.sum())} weight(s) that are missing, not finite or negative "
            f"(for example {example!r}); weights must be finite numbers >= 0."
        )
    if interactions[["user_id", "item_id"]].isna().any().any():
        raise ValueError("interactions has a missing user_id or item_id; every row needs both.")
    return interactions.assign(weight=weight)


def item_catalogue(interactions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factorise ``user_id`` and ``item_id`` of a validated interactions table.

    Items are sorted when their ids are comparable, so the catalogue order does not depend on row
    order.

    Returns
    -------
    user_codes : ndarray of int
        Row of each interaction.
    item_codes : ndarray of int
        Column of each interaction.
    item_ids : ndarray
        The catalogue; ``item_ids[item_codes]`` gives back the item of each row.
    """
    user_codes, _ = pd.factorize(interactions["user_id"])
    try:
        item_codes, item_ids = pd.factorize(interactions["item_id"], sort=True)
    except TypeError:
        item_codes, item_ids = pd.factorize(interactions["item_id"])
    return user_codes, item_codes, np.asarray(item_ids)


def user_item_matrix(interactions: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
    """Build the user x item matrix (float32 CSR, repeated pairs summed, zeros dropped).

    Parameters
    ----------
    interactions : pandas.DataFrame
        Columns ``user_id``, ``item_id``, ``weight``.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of shape (n_users, n_items)
    item_ids : ndarray of shape (n_items,)

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"user_id": [1, 1, 2], "item_id": ["b", "a", "b"], "weight": [1.0, 2.0, 3.0]})
    >>> matrix, item_ids = user_item_matrix(rows)
    >>> item_ids.tolist(), matrix.toarray().tolist()
    (['a', 'b'], [[2.0, 1.0], [0.0, 3.0]])
    """
    interactions = check_interactions(interactions)
    if len(interactions) == 0:
        raise ValueError("interactions is empty; fit needs at least one (user, item, weight) row.")
    user_codes, item_codes, item_ids = item_catalogue(interactions)
    matrix = sp.csr_matrix(
        (interactions["weight"].to_numpy(dtype=np.float32), (user_codes, item_codes)),
        shape=(int(user_codes.max()) + 1, len(item_ids)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix, item_ids


def item_popularity(matrix: sp.csr_matrix, measure: str = "users") -> np.ndarray:
    """Popularity per item: how many users have it (``"users"``) or its total weight (``"weight"``)."""
    if measure == "users":
        return np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
    return np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()


class BaseRecommender(BaseEstimator):
    """Base class for recommenders: higher score means a better recommendation.

    Subclasses learn item statistics in ``fit(interactions)`` and score users by folding in their
    items at request time, so a user's recommendations change the moment their items change,
    without retraining. They set ``item_ids_`` (the catalogue seen in ``fit``) and
    ``item_popularity_`` (one non-negative number per item, used to break ties and to serve users
    with no known items), and implement ``_score_users``. Recommending only reads the fitted
    state, so one fitted model can serve concurrent requests.
    """

    @abstractmethod
    def fit(self, interactions: pd.DataFrame, y: None = None) -> BaseRecommender:
        """Learn from an interactions table with columns ``user_id``, ``item_id``, ``weight``."""

    @abstractmethod
    def _score_users(self, user_item: sp.csr_matrix) -> np.ndarray:
        """Return dense scores, shape (n_users, n_items), for a user x item matrix over ``item_ids_``."""

    # ---- shared machinery -------------------------------------------------------------------

    def _index_items(self, item_ids: np.ndarray, popularity: np.ndarray) -> None:
        """Store the catalogue, its lookup table and the popularity tie-break; call from ``fit``."""
        self.item_ids_ = item_ids
        self.n_items_ = len(item_ids)
        self.item_popularity_ = popularity
        self._item_index = {item: position for position, item in enumerate(item_ids.tolist())}
        # Rank-based so that equal popularity still gives distinct, deterministic nudges.
        order = np.lexsort((np.arange(self.n_items_), -popularity))
        tie_break = np.empty(self.n_items_, dtype=np.float64)
        tie_break[order] = np.linspace(1.0, 0.0, self.n_items_, endpoint=False) if self.n_items_ else []
        self._tie_break = _TIE_BREAK * tie_break

    def _fold_in(
        self, user_items: Mapping[Hashable, float] | Sequence[Hashable]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Known item positions and weights of one user; unknown items are dropped."""
        if isinstance(user_items, Mapping):
            pairs = user_items.items()
        elif isinstance(user_items, (str, bytes)) or not isinstance(user_items, Iterable):
            raise ValueError(
                "user_items must be a mapping item_id -> weight or a sequence of item ids; "
                f"got {type(user_items).__name__}."
            )
        else:
            pairs = ((item, 1.0) for item in user_items)
        positions: dict[int, float] = {}
        for item, weight in pairs:
            position = self._item_index.get(item)
            if position is not None:
                positions[position] = positions.get(position, 0.0) + float(weight)
        index = np.fromiter(positions.keys(), dtype=np.int64, count=len(positions))
        weights = np.fromiter(positions.values(), dtype=np.float64, count=len(positions))
        return index, weights

    def _excluded_positions(self, exclude: Iterable[Hashable] | None) -> np.ndarray:
        if exclude is None:
            return np.empty(0, dtype=np.int64)
        if isinstance(exclude, (str, bytes)):
            exclude = [exclude]
        found = (self._item_index.get(item) for item in exclude)
        return np.fromiter((p for p in found if p is not None), dtype=np.int64)

    def _score_one(self, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Scores for one folded-in user; subclasses may override with a faster path."""
        row = sp.csr_matrix(
            (weights, index, np.array([0, len(index)])), shape=(1, self.n_items_)
        )
        return self._score_users(row)[0]

    def _top(self, scores: np.ndarray, n: int) -> tuple[list[np.ndarray], np.ndarray]:
        """Per row of ``scores`` (2-d float64, overwritten), the best ``n`` finite positions, best first.

        Returns the positions per row and ``scores`` with the popularity nudge added, from which
        the caller reads the scores back as ``scores[row, top] - self._tie_break[top]``.
        """
        key = scores
        key += self._tie_break
        width = min(n, key.shape[1])
        if width == 0:
            return [np.empty(0, dtype=np.int64) for _ in range(key.shape[0])], key
        if width < key.shape[1]:
            top = np.argpartition(key, key.shape[1] - width, axis=1)[:, -width:]
        else:
            top = np.broadcast_to(np.arange(width), key.shape).copy()
        top_key = np.take_along_axis(key, top, axis=1)
        order = np.argsort(-top_key, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        finite = np.isfinite(np.take_along_axis(top_key, order, axis=1))
        return [row[keep] for row, keep in zip(top, finite, strict=True)], key

    def _listing(self, key_row: np.ndarray, top: np.ndarray) -> Recommendations:
        scores = key_row[top] - self._tie_break[top]
        return list(zip(self.item_ids_[top].tolist(), scores.tolist(), strict=True))

    @staticmethod
    def _check_n(n: object) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer; got {n!r}.")
        return int(n)

    # ---- public interface -------------------------------------------------------------------

    def recommend(
        self,
        user_items: Mapping[Hashable, float] | Sequence[Hashable],
        n: int = 10,
        exclude: Iterable[Hashable] | None = None,
        *,
        exclude_seen: bool = True,
    ) -> Recommendations:
        """Recommend items for one user, folded in from their items without retraining.

        Parameters
        ----------
        user_items : mapping of item_id to float, or sequence of item_id
            The user's interaction weights, or just the items (each then weighs 1). Items the
            model has not seen are ignored; a user with no known items gets the most popular
            items.
        n : int, default=10
            Number of recommendations to return (fewer if the catalogue runs out).
        exclude : iterable of item_id, optional
            Items never to recommend, for example ones out of stock.
        exclude_seen : bool, default=True
            Whether to leave out the items in ``user_items``.

        Returns
        -------
        list of (item_id, float)
            Best first; scores never increase along the list.
        """
        check_is_fitted(self, "item_ids_")
        n = self._check_n(n)
        index, weights = self._fold_in(user_items)
        scores = np.asarray(self._score_one(index, weights), dtype=np.float64)
        if exclude_seen:
            scores[index] = -np.inf
        scores[self._excluded_positions(exclude)] = -np.inf
        key = scores + self._tie_break
        if n == 0:
            return []
        if n < len(key):
            top = np.argpartition(key, len(key) - n)[len(key) - n :]
        else:
            top = np.arange(len(key))
        top = top[np.argsort(-key[top], kind="stable")]
        return self._listing(key, top[np.isfinite(key[top])])

    def recommend_many(
        self,
        interactions: pd.DataFrame,
        n: int = 10,
        *,
        users: Iterable[Hashable] | None = None,
        exclude_seen: bool = True,
        batch_size: int | None = None,
    ) -> dict[Hashable, Recommendations]:
        """Recommend for many users at once with sparse matrix products, for evaluation.

        Parameters
        ----------
        interactions : pandas.DataFrame
            The users' histories, columns ``user_id``, ``item_id``, ``weight``; each user is folded
            in exactly as :meth:`recommend` would.
        n : int, default=10
            Number of recommendations per user.
        users : iterable of user_id, optional
            Users to recommend for; default every user in ``interactions``. A user with no row in
            ``interactions`` gets the most popular items.
        exclude_seen : bool, default=True
            Whether to leave out each user's own items.
        batch_size : int, optional
            Users scored per dense block; memory grows with ``batch_size * n_items`` floats. By
            default about 2 million floats (16 MB) per block.

        Returns
        -------
        dict of user_id to list of (item_id, float)
            Best first per user.
        """
        check_is_fitted(self, "item_ids_")
        n = self._check_n(n)
        interactions = check_interactions(interactions)
        position = interactions["item_id"].map(self._item_index)
        known = interactions[position.notna().to_numpy()]
        known_positions = position[position.notna()].to_numpy(dtype=np.int64)

        user_codes, user_ids = pd.factorize(known["user_id"])
        if users is None:
            all_users = pd.unique(interactions["user_id"])
        else:
            all_users = pd.unique(pd.Series(list(users)))
        # Users without known items become empty rows, which the models answer with popularity.
        row_of_user = {user: row for row, user in enumerate(user_ids.tolist())}
        extra = [user for user in all_users.tolist() if user not in row_of_user]
        for user in extra:
            row_of_user[user] = len(row_of_user)
        matrix = sp.csr_matrix(
            (known["weight"].to_numpy(), (user_codes, known_positions)),
            shape=(len(row_of_user), self.n_items_),
        )
        matrix.sum_duplicates()

        wanted = [(user, row_of_user[user]) for user in all_users.tolist()]
        batch_size = batch_size or max(1, _BATCH_CELLS // max(self.n_items_, 1))
        result: dict[Hashable, Recommendations] = {}
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            rows = matrix[[row for _, row in chunk]]
            scores = np.asarray(self._score_users(rows), dtype=np.float64)
            if exclude_seen:
                # The stored entries, not nonzero(): an item with weight 0 is still seen.
                scores[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), rows.indices] = -np.inf
            tops, key = self._top(scores, n)
            for offset, ((user, _), top) in enumerate(zip(chunk, tops, strict=True)):
                result[user] = self._listing(key[offset], top)
        return result
