"""How well a clustering finds the seeded shoppers' archetypes again: the hidden truth behind a seeded shop.

A real shop has no labels for its users; that is why segments are found by clustering. A seeded shop does: every
customer was drawn from one of :data:`unseen.simulate.shoppers.ARCHETYPES`, which the database does not store. This
module recovers each user's archetype from the seed parameters and scores clusterings against it with the adjusted
Rand index (ARI: 1 for the same partition, about 0 for chance), beside a permutation baseline of what chance gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.ml.clustering._kmeans import _one_thread
from unseen.tables import User

NOISE = -1


def seeded_archetypes(engine: Engine, params, reference_dir) -> pd.Series:
    """The archetype of every seeded customer, by user id, rebuilt from the parameters the shop was seeded with.

    :func:`unseen.simulate.seed.seed` draws the catalogue and then the shoppers from one generator seeded with
    ``params.seed``; drawing them again the same way gives the same shoppers. The result is checked against the
    database: every shopper's e-mail and country must be there as seeded.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The seeded shop.
    params : unseen.simulate.seed.SeedParameters
        The parameters it was seeded with.
    reference_dir : path-like or None
        The reference data folder it was seeded with (the catalogue depends on it).

    Returns
    -------
    pandas.Series
        Archetype name (str) indexed by ``user_id``, named ``archetype``.

    Raises
    ------
    ValueError
        When the shoppers drawn again do not match the database (other parameters, or the seeder changed).
    """
    from unseen.simulate.catalogue import build_catalogue
    from unseen.simulate.shoppers import make_shoppers

    rng = np.random.default_rng(params.seed)
    catalogue = build_catalogue(rng, reference_dir=reference_dir, max_products=params.products)
    categories = sorted({product.category for product in catalogue})
    shoppers = make_shoppers(rng, count=params.customers, categories=categories, months=params.months)
    with engine.connect() as connection:
        users = {email: (user_id, country) for email, user_id, country in
                 connection.execute(select(User.email, User.id, User.country)).all()}
    mismatched = [shopper.email for shopper in shoppers
                  if users.get(shopper.email, (None, None))[1] != shopper.country]
    if mismatched:
        raise ValueError(
            f"{len(mismatched)} of {len(shoppers)} shoppers drawn from {params.describe()} are not in the database "
            f"as seeded (for example {mismatched[0]}); the shop was seeded with other parameters or another "
            "reference data folder."
        )
    index = pd.Index([users[shopper.email][0] for shopper in shoppers], name="user_id")
    return pd.Series([shopper.archetype.name for shopper in shoppers], index=index, name="archetype").sort_index()


def chance_ari(truth, labels, n_permutations: int = 200, random_state: int = 0) -> np.ndarray:
    """ARI of ``labels`` against ``truth`` shuffled ``n_permutations`` times: the agreement chance gives.

    Parameters
    ----------
    truth, labels : array-like of shape (n_samples,)
    n_permutations : int, default=200
    random_state : int, default=0

    Returns
    -------
    ndarray of shape (n_permutations,)

    Examples
    --------
    >>> scores = chance_ari([0, 0, 1, 1] * 25, [0, 1] * 50, n_permutations=50)
    >>> bool(abs(scores.mean()) < 0.05)
    True
    """
    truth, labels = np.asarray(truth), np.asarray(labels)
    if truth.shape != labels.shape:
        raise ValueError(f"truth and labels must have the same shape; got {truth.shape} and {labels.shape}.")
    rng = np.random.default_rng(random_state)
    return np.array([adjusted_rand_score(rng.permutation(truth), labels) for _ in range(n_permutations)])


def archetype_recovery(truth, labelings: Mapping[str, Iterable], n_permutations: int = 200,
                       random_state: int = 0) -> pd.DataFrame:
    """How well each clustering finds the archetypes: ARI, adjusted mutual information and the chance level.

    Noise (label -1) counts as one more cluster in ``ari`` and ``ami``, so a clustering that calls most users
    noise is not rewarded; ``ari_clustered`` scores only the users a clustering did assign.

    Parameters
    ----------
    truth : array-like of shape (n_samples,)
        The archetype of every user.
    labelings : mapping of str to array-like of shape (n_samples,)
        Name to cluster labels, in the order of ``truth``.
    n_permutations : int, default=200
        Shuffles of ``truth`` for ``chance_ari_p99``.
    random_state : int, default=0

    Returns
    -------
    pandas.DataFrame
        Indexed by name: ``n_clusters`` (noise not counted), ``noise_share``, ``ari``, ``ami``, ``ari_clustered``
        and ``chance_ari_p99`` (the 99th percentile of the ARI against shuffled archetypes).

    Examples
    --------
    >>> truth = ["a"] * 50 + ["b"] * 50
    >>> table = archetype_recovery(truth, {"perfect": [0] * 50 + [1] * 50, "one cluster": [0] * 100},
    ...                            n_permutations=20)
    >>> table[["n_clusters", "ari"]].to_dict("index")
    {'perfect': {'n_clusters': 2, 'ari': 1.0}, 'one cluster': {'n_clusters': 1, 'ari': 0.0}}
    """
    truth = np.asarray(truth)
    rows = {}
    for name, labels in labelings.items():
        labels = np.asarray(list(labels))
        if labels.shape != truth.shape:
            raise ValueError(f"labels of {name!r} must hold one label per user ({truth.size}); got {labels.shape}.")
        clustered = labels != NOISE
        rows[name] = {
            "n_clusters": int(np.unique(labels[clustered]).size),
            "noise_share": float(np.mean(~clustered)),
            "ari": float(adjusted_rand_score(truth, labels)),
            "ami": float(adjusted_mutual_info_score(truth, labels)),
            "ari_clustered": float(adjusted_rand_score(truth[clustered], labels[clustered]))
            if clustered.any() else float("nan"),
            "chance_ari_p99": float(np.quantile(chance_ari(truth, labels, n_permutations, random_state), 0.99)),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "clustering"
    return table


def ari_by_k(X, truth, k_range: Iterable[int], random_state: int = 0, n_init: int = 10) -> pd.Series:
    """ARI against the archetypes of k-means with each k: what the silhouette's choice of k gives up, or not.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Scaled features.
    truth : array-like of shape (n_samples,)
    k_range : iterable of int
    random_state : int, default=0
    n_init : int, default=10

    Returns
    -------
    pandas.Series
        ARI indexed by ``k``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=120, centers=3, cluster_std=0.5, random_state=0)
    >>> ari_by_k(X, y, [2, 3]).round(2).to_dict()
    {2: 0.56, 3: 1.0}
    """
    X = np.asarray(X, dtype=np.float64)
    scores = {}
    for k in k_range:
        with _one_thread():
            labels = KMeans(n_clusters=int(k), n_init=n_init, random_state=random_state).fit_predict(X)
        scores[int(k)] = float(adjusted_rand_score(truth, labels))
    return pd.Series(scores, name="ari").rename_axis("k")


def dbscan_sweep(X, truth, eps_values: Iterable[float], min_samples: int = 5) -> pd.DataFrame:
    """DBSCAN at every radius of ``eps_values``: clusters, noise and ARI against the archetypes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Scaled features.
    truth : array-like of shape (n_samples,)
    eps_values : iterable of float
    min_samples : int, default=5

    Returns
    -------
    pandas.DataFrame
        Indexed by ``eps``: ``n_clusters``, ``noise_share``, ``ari`` (noise as a cluster of its own) and
        ``largest_cluster_share``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=120, centers=3, cluster_std=0.3, random_state=0)
    >>> dbscan_sweep(X, y, [0.5, 50.0])["n_clusters"].to_dict()
    {0.5: 3, 50.0: 1}
    """
    X = np.asarray(X, dtype=np.float64)
    rows = []
    for eps in eps_values:
        labels = DBSCAN(eps=float(eps), min_samples=min_samples).fit_predict(X)
        clustered = labels[labels != NOISE]
        sizes = np.bincount(clustered) if clustered.size else np.array([0])
        rows.append({"eps": float(eps), "n_clusters": int(np.unique(clustered).size),
                     "noise_share": float(np.mean(labels == NOISE)),
                     "ari": float(adjusted_rand_score(truth, labels)),
                     "largest_cluster_share": float(sizes.max() / labels.size)})
    return pd.DataFrame(rows).set_index("eps")
