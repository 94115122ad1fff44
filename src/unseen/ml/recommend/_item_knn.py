"""Item-based k-nearest-neighbour recommendations over implicit feedback."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseRecommender, item_popularity, user_item_matrix

# Cells (items in the block x n_items) per similarity block when block_size is left to the model.
# Only co-occurring pairs are stored, at roughly 30 bytes each with their temporaries, so even a
# block where every pair co-occurs stays near 60 MB; smaller blocks only add per-block overhead.
_BLOCK_CELLS = 2_000_000


class ItemKNNRecommender(BaseRecommender):
    """Recommend the items most similar to the ones a user already has.

    Higher score means a better recommendation. ``fit`` learns, for every item, its
    ``n_neighbors`` most similar items from the user x item matrix. A user is folded in at request
    time as a vector of item weights, and an item's score is the weighted sum of its similarity to
    the user's items, ``user_vector @ similarity_``; changing a user's items changes their
    recommendations without refitting. Items nobody similar reaches score 0 and are ordered by
    popularity, and a user with no known items gets the most popular items.

    Parameters
    ----------
    n_neighbors : int, default=100
        Neighbours kept per item. Fewer neighbours means a sparser ``similarity_``, faster requests
        and usually more focused lists; too few loses recall.
    similarity : {"cosine", "adjusted_cosine", "jaccard"}, default="cosine"
        ``"cosine"`` compares item columns of the weight matrix; ``"adjusted_cosine"`` first
        subtracts each user's mean weight over their items (useful for explicit ratings; with
        0/1 feedback every centred weight is 0); ``"jaccard"`` compares who has the item, ignoring
        weights: co-occurrences over the union of the two items' users.
    shrinkage : float, default=0.0
        Added to the similarity's denominator, so pairs supported by few users count less.
    similarity_power : float, default=1.0
        Similarities are raised to this power after the neighbours are chosen. Below 1 evens
        out strong and weak neighbours (0.5 helped on MovieLens); above 1 lets the closest
        dominate.
    block_size : int, optional
        Items whose similarities are computed at once. Memory grows with the co-occurring pairs
        in a block, at most ``block_size * n_items``; by default ``2_000_000 // n_items`` items,
        at most about 60 MB per block.

    Attributes
    ----------
    item_ids_ : ndarray of shape (n_items,)
        The catalogue seen in ``fit``.
    n_items_ : int
        Number of items in the catalogue.
    item_popularity_ : ndarray of shape (n_items,)
        Number of users with a positive weight on each item.
    similarity_ : scipy.sparse.csr_matrix of shape (n_items, n_items)
        Row ``i`` holds item ``i``'s (at most) ``n_neighbors`` positive similarities; the diagonal
        is 0.

    See Also
    --------
    PopularityRecommender : The non-personalised baseline.

    References
    ----------
    .. [1] M. Deshpande and G. Karypis, "Item-based top-N recommendation algorithms",
       ACM Transactions on Information Systems 22(1), 2004.

    Examples
    --------
    Two users bought a tent and a sleeping bag, one of them also a stove; the stove goes with a
    kettle, the kettle with a mug.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 2, 2, 3, 3, 4, 4],
    ...     "item_id": ["tent", "sleeping bag", "tent", "sleeping bag", "stove",
    ...                 "stove", "kettle", "kettle", "mug"],
    ...     "weight": 1.0,
    ... })
    >>> model = ItemKNNRecommender(n_neighbors=2).fit(rows)
    >>> [(item, round(score, 3)) for item, score in model.recommend(["tent"], n=3)]
    [('sleeping bag', 1.0), ('stove', 0.5), ('kettle', 0.0)]

    The kettle is nobody's neighbour of the tent; it fills the list as the most popular item left.
    Folding in another item changes the list without refitting:

    >>> [item for item, score in model.recommend({"tent": 1.0, "kettle": 2.0}, n=3)]
    ['stove', 'mug', 'sleeping bag']
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "similarity": [StrOptions({"cosine", "adjusted_cosine", "jaccard"})],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "similarity_power": [Interval(Real, 0, None, closed="neither")],
        "block_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_neighbors: int = 100,
        similarity: str = "cosine",
        shrinkage: float = 0.0,
        similarity_power: float = 1.0,
        block_size: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.similarity_power = similarity_power
        self.block_size = block_size

    def fit(self, interactions: pd.DataFrame, y: None = None) -> ItemKNNRecommender:
        """Learn each item's nearest neighbours.

        Parameters
        ----------
        interactions : pandas.DataFrame
            Columns ``user_id``, ``item_id``, ``weight`` (non-negative; repeated pairs are
            summed). A ``timestamp`` column is ignored: decay belongs in the weights, see
            :func:`interaction_weights`.
        y : None
            Ignored.

        Returns
        -------
        self : ItemKNNRecommender
        """
        self._validate_params()
        matrix, item_ids = user_item_matrix(interactions)
        self._index_items(item_ids, item_popularity(matrix))
        self.similarity_ = self._neighbours(matrix)
        return self

    def _neighbours(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Top-``n_neighbors`` similarities per item, one block of items at a time."""
        n_items = matrix.shape[1]
        vectors = matrix.copy()
        if self.similarity == "jaccard":
            vectors.data[:] = 1.0
        elif self.similarity == "adjusted_cosine":
            per_user = np.diff(vectors.indptr)
            means = np.asarray(vectors.sum(axis=1)).ravel() / np.maximum(per_user, 1)
            vectors.data -= np.repeat(means, per_user).astype(np.float32)
        if self.similarity == "jaccard":
            size = np.bincount(vectors.indices, minlength=n_items).astype(np.float32)
        else:
            size = np.sqrt(np.bincount(vectors.indices, weights=vectors.data**2, minlength=n_items))
            size = size.astype(np.float32)
        item_vectors = vectors.T.tocsr()

        block = self.block_size or max(1, _BLOCK_CELLS // max(n_items, 1))
        shrinkage = np.float32(self.shrinkage)
        rows, cols, values = [], [], []
        for start in range(0, n_items, block):
            stop = min(start + block, n_items)
            # Only co-occurring pairs are stored, so a block costs what the data holds, not
            # block x n_items; rare items have short rows.
            gram = item_vectors[start:stop] @ vectors
            row = np.repeat(np.arange(start, stop), np.diff(gram.indptr))
            col = gram.indices
            if self.similarity == "jaccard":
                denominator = size[row] + size[col] - gram.data
            else:
                denominator = size[row] * size[col]
            denominator += shrinkage
            value = np.zeros_like(gram.data)
            np.divide(gram.data, denominator, out=value, where=denominator > 0)
            keep = (value > 0) & (row != col)
            row, col, value = row[keep], col[keep], value[keep]
            chosen = self._top_per_row(row - start, value, stop - start, self.n_neighbors)
            rows.append(row[chosen])
            cols.append(col[chosen])
            values.append(value[chosen])
        kept = np.concatenate(values)
        if self.similarity_power != 1.0:
            kept = kept**self.similarity_power
        neighbours = sp.csr_matrix(
            (kept.astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items),
        )
        neighbours.sort_indices()
        return neighbours

    @staticmethod
    def _top_per_row(row: np.ndarray, value: np.ndarray, n_rows: int, k: int) -> np.ndarray:
        """Mask of the ``k`` largest values of each row, for entries grouped by (sorted) row."""
        counts = np.bincount(row, minlength=n_rows)
        chosen = np.ones(len(value), dtype=bool)
        ends = np.cumsum(counts)
        for heavy in np.flatnonzero(counts > k):
            stop = ends[heavy]
            begin = stop - counts[heavy]
            segment = value[begin:stop]
            losers = np.argpartition(segment, len(segment) - k)[: len(segment) - k]
            chosen[begin + losers] = False
        return chosen

    def _popularity_scores(self) -> np.ndarray:
        return self.item_popularity_ / max(self.item_popularity_.max(), 1.0)

    def _score_users(self, user_item: sp.csr_matrix) -> np.ndarray:
        # float64 weights times float32 similarities give float64 scores without another pass.
        scores = (user_item.astype(np.float64, copy=False) @ self.similarity_).toarray()
        cold = np.diff(user_item.indptr) == 0
        if cold.any():
            scores[cold] = self._popularity_scores()
        return scores

    def _score_one(self, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
        # Gathering the user's few similarity rows directly is several times faster per request
        # than a 1-row sparse product.
        if len(index) == 0:
            return self._popularity_scores()
        indptr = self.similarity_.indptr
        starts, stops = indptr[index], indptr[index + 1]
        lengths = stops - starts
        # Positions of all the user's neighbour entries in similarity_.data, without a Python loop.
        first_of_run = np.cumsum(lengths) - lengths
        cells = np.arange(lengths.sum()) + np.repeat(starts - first_of_run, lengths)
        return np.bincount(
            self.similarity_.indices[cells],
            weights=self.similarity_.data[cells] * np.repeat(weights, lengths),
            minlength=self.n_items_,
        )
