"""Most-popular items: the baseline every personalised recommender has to beat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions

from ._base import BaseRecommender, item_popularity, user_item_matrix


class PopularityRecommender(BaseRecommender):
    """Recommend the most popular items to everyone.

    Higher score means a better recommendation; here the score is the item's popularity, the same
    for every user, so only the exclusion of a user's own items personalises the list.

    Parameters
    ----------
    measure : {"users", "weight"}, default="users"
        ``"users"`` counts the users with a positive weight on the item; ``"weight"`` sums their
        weights, so purchases count more than views.

    Attributes
    ----------
    item_ids_ : ndarray of shape (n_items,)
        The catalogue seen in ``fit``.
    n_items_ : int
        Number of items in the catalogue.
    item_popularity_ : ndarray of shape (n_items,)
        Popularity of each item under ``measure``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"user_id": [1, 2, 2, 3], "item_id": ["a", "a", "b", "c"], "weight": 1.0})
    >>> model = PopularityRecommender().fit(rows)
    >>> model.recommend(["c"], n=2)
    [('a', 2.0), ('b', 1.0)]
    """

    _parameter_constraints: dict = {"measure": [StrOptions({"users", "weight"})]}

    def __init__(self, measure: str = "users"):
        self.measure = measure

    def fit(self, interactions: pd.DataFrame, y: None = None) -> PopularityRecommender:
        """Count item popularity.

        Parameters
        ----------
        interactions : pandas.DataFrame
            Columns ``user_id``, ``item_id``, ``weight``.
        y : None
            Ignored.

        Returns
        -------
        self : PopularityRecommender
        """
        self._validate_params()
        matrix, item_ids = user_item_matrix(interactions)
        self._index_items(item_ids, item_popularity(matrix, self.measure))
        return self

    def _score_users(self, user_item: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.item_popularity_, (user_item.shape[0], 1))

    def _score_one(self, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.item_popularity_.copy()
