"""MovieLens 100k and the Microsoft Recommenders evaluation protocol, to compare against published numbers.

The protocol, as in Recommenders' MovieLens benchmark: split every user's ratings 75/25 at
random (``python_stratified_split``, seed 42), fit on the train part, recommend the top 10
unseen items to every user in the test part, and count every test item of the user as relevant
whatever its rating.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import BaseRecommender
from ._metrics import catalogue_coverage, ranking_report

REFERENCE_DATA_ENV = "UNSEEN_REFERENCE_DATA"
MOVIELENS_100K_FILE = Path("movielens-100k") / "u.data"

MOVIELENS_PARAMETERS = {"similarity": "cosine", "n_neighbors": 10, "shrinkage": 50.0, "similarity_power": 0.5}
"""Item-kNN parameters for MovieLens 100k, chosen by nDCG@10 on a validation split of the training part
(``python bench/bench_recommend.py --tune`` repeats the search)."""

# The SAR row of Recommenders' MovieLens 100k table (top 10, 75/25 stratified split).
SAR_REFERENCE = {"map": 0.1106, "ndcg": 0.3825, "precision": 0.3308, "recall": 0.1764}


def reference_data_dir() -> Path:
    """Folder of shared reference data sets, never copied into the repository.

    The project setting (``$UNSEEN_REFERENCE_DATA``, otherwise ``../shared/data`` beside the repository root).
    """
    from unseen.config import Settings

    return Settings().reference_data_dir


def load_movielens_100k(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read MovieLens 100k ratings (``u.data``).

    Parameters
    ----------
    path : path-like, optional
        The tab-separated ``u.data`` file (user, item, rating, unix time). By default
        ``movielens-100k/u.data`` under :func:`reference_data_dir`.

    Returns
    -------
    pandas.DataFrame
        Columns ``user_id``, ``item_id`` (int), ``rating`` (float), ``timestamp`` (int seconds),
        in file order.

    Raises
    ------
    FileNotFoundError
        With the path tried and how to point at the data.
    """
    path = Path(path) if path is not None else reference_data_dir() / MOVIELENS_100K_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"MovieLens 100k ratings not found at {path}; pass the path to u.data or set "
            f"{REFERENCE_DATA_ENV} to the folder holding movielens-100k/u.data."
        )
    ratings = pd.read_csv(
        path,
        sep="\t",
        header=None,
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype={"user_id": np.int64, "item_id": np.int64, "rating": np.float64, "timestamp": np.int64},
    )
    return ratings


def stratified_split(
    ratings: pd.DataFrame, ratio: float = 0.75, seed: int = 42, by: str = "user_id"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each user's rows at random into train and test, like Recommenders' ``python_stratified_split``.

    Every row gets a uniform random number from ``numpy.random.seed(seed)``; within each user
    the rows are ordered by it and a row goes to train when its rank divided by the user's row
    count is at most ``ratio``.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Must hold the column ``by``.
    ratio : float, default=0.75
        Share of each user's rows for training, in (0, 1).
    seed : int, default=42
    by : str, default="user_id"
        Column to stratify on.

    Returns
    -------
    train, test : pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"user_id": [1] * 4 + [2] * 8, "item_id": range(12)})
    >>> train, test = stratified_split(rows)
    >>> train.groupby("user_id").size().tolist(), test.groupby("user_id").size().tolist()
    ([3, 6], [1, 2])
    """
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must lie strictly between 0 and 1; got {ratio!r}.")
    if by not in ratings.columns:
        raise ValueError(f"ratings has no column {by!r} to stratify on; columns are {list(ratings.columns)}.")
    # The legacy global generator, so the split matches Recommenders' for the same rows and seed.
    draws = np.random.RandomState(seed).rand(len(ratings))
    order = np.lexsort((draws, ratings[by].to_numpy()))
    ordered = ratings.iloc[order]
    groups = ordered.groupby(by, sort=False)
    rank = (groups.cumcount() + 1).to_numpy() / groups[by].transform("count").to_numpy()
    in_train = rank <= ratio
    return ordered[in_train], ordered[~in_train]


def _relevant_items(test: pd.DataFrame) -> dict[Hashable, set]:
    return {user: set(items) for user, items in test.groupby("user_id")["item_id"]}


def evaluate_top_k(
    model: BaseRecommender,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    weight: str | None = "rating",
) -> dict:
    """Fit on ``train``, recommend ``k`` unseen items to every test user, and score the lists.

    Parameters
    ----------
    model : BaseRecommender
        Unfitted or fitted; it is refitted on ``train``.
    train, test : pandas.DataFrame
        Columns ``user_id``, ``item_id`` and the ``weight`` column named below.
    k : int, default=10
    weight : str or None, default="rating"
        Column used as the interaction weight; None weighs every rating 1.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``ndcg``, ``map``, ``hit_rate`` at ``k``, ``coverage`` of the
        training catalogue, ``fit_seconds`` and ``recommend_seconds``.
    """
    def interactions(frame: pd.DataFrame) -> pd.DataFrame:
        weights = frame[weight].astype(float) if weight is not None else 1.0
        return frame[["user_id", "item_id"]].assign(weight=weights)

    started = time.perf_counter()
    model.fit(interactions(train))
    fitted = time.perf_counter()
    recommendations = model.recommend_many(
        interactions(train), n=k, users=test["user_id"].unique(), exclude_seen=True
    )
    finished = time.perf_counter()
    report = ranking_report(recommendations, _relevant_items(test), k)
    report["coverage"] = catalogue_coverage(recommendations, train["item_id"].unique(), k)
    report["fit_seconds"] = fitted - started
    report["recommend_seconds"] = finished - fitted
    return report
