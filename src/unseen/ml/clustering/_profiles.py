"""What each cluster's users do, in the units of the shop, and a readable name for each cluster.

Names come from rules that compare a cluster with all users (the size-weighted mean of the profiles): "lapsed
customers" have been away far longer than most, "window shoppers" view a lot and buy little, and so on. The rules
read the unscaled features, so their thresholds are in days, orders and shares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from unseen.ml.clustering._features import CATEGORY_PREFIX

NOISE = -1
NOISE_NAME = "unclustered (noise)"
KEY_FEATURES = (
    "recency_days",
    "sessions",
    "purchases",
    "monetary",
    "basket_value",
    "views",
    "events_per_session",
    "session_length_median",
    "view_to_cart",
    "cart_to_purchase",
    "view_to_purchase",
    "favourite_rate",
    "cart_remove_rate",
    "share_night",
    "share_morning",
    "share_afternoon",
    "share_evening",
    "weekday_share",
)
GIFT_CATEGORIES = ("Christmas",)
"""Categories whose buyers are seasonal gift buyers (the shop's Christmas range sells mostly in Q4)."""


def _circular_mean_hour(sin: pd.Series, cos: pd.Series) -> pd.Series:
    return (np.degrees(np.arctan2(sin, cos)) / 15.0) % 24.0


def cluster_profiles(features: pd.DataFrame, labels, top_n: int = 3) -> pd.DataFrame:
    """Size, share and the mean of the key features of every cluster, with its top categories.

    Parameters
    ----------
    features : pandas.DataFrame
        Unscaled behaviour features, one row per user (as :func:`behaviour_features` returns them).
    labels : array-like of shape (n_users,)
        Cluster of every row of ``features``; -1 is noise and gets a profile of its own.
    top_n : int, default=3
        How many categories ``top_categories`` lists.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cluster``, largest cluster first: ``size``, ``share``, the means of :data:`KEY_FEATURES`
        that ``features`` has, ``mean_hour`` (circular mean from ``hour_sin``/``hour_cos``, when present), the
        mean of every ``cat_`` column and ``top_categories`` (for example ``"Garden 52%, Toys 20%"``).

    Examples
    --------
    >>> import pandas as pd
    >>> features = pd.DataFrame({"recency_days": [2.0, 4.0, 300.0], "sessions": [40.0, 60.0, 3.0],
    ...                          "cat_Toys": [0.8, 0.6, 0.1], "cat_Garden": [0.2, 0.4, 0.9]})
    >>> profiles = cluster_profiles(features, [0, 0, 1])
    >>> profiles[["size", "recency_days", "sessions", "top_categories"]]  # doctest: +NORMALIZE_WHITESPACE
             size  recency_days  sessions          top_categories
    cluster
    0           2           3.0      50.0  Toys 70%, Garden 30%
    1           1         300.0       3.0  Garden 90%, Toys 10%
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a DataFrame of unscaled behaviour features; got {type(features).__name__}.")
    labels = np.asarray(labels)
    if labels.shape != (len(features),):
        raise ValueError(f"labels must hold one label per row of features ({len(features)}); got shape "
                         f"{labels.shape}.")
    key = [column for column in KEY_FEATURES if column in features]
    categories = [column for column in features.columns if str(column).startswith(CATEGORY_PREFIX)]
    extra = [column for column in ("hour_sin", "hour_cos") if column in features]
    groups = features[key + extra + categories].astype(float).groupby(pd.Index(labels, name="cluster"))
    profiles = groups.mean()
    profiles.insert(0, "size", groups.size())
    profiles.insert(1, "share", profiles["size"] / len(features))
    if len(extra) == 2:
        profiles.insert(2 + len(key), "mean_hour", _circular_mean_hour(profiles["hour_sin"], profiles["hour_cos"]))
    profiles = profiles.drop(columns=extra)

    def top(row: pd.Series) -> str:
        shares = row[categories].astype(float).sort_values(ascending=False, kind="stable").head(top_n)
        return ", ".join(f"{name[len(CATEGORY_PREFIX):]} {share:.0%}" for name, share in shares.items() if share > 0)

    profiles["top_categories"] = profiles.apply(top, axis=1) if categories else ""
    return profiles.sort_values("size", ascending=False, kind="stable")


def _overall(profiles: pd.DataFrame) -> pd.Series:
    """The mean over all users: the size-weighted mean of the cluster means."""
    numeric = profiles.drop(columns=["size", "share", "top_categories"], errors="ignore").select_dtypes("number")
    return numeric.mul(profiles["size"], axis=0).sum() / profiles["size"].sum()


# Every rule gives how strongly a cluster fits (a ratio against all users, above 1) or 0 when it does not fit.
Rule = Callable[[pd.Series, pd.Series], float]


def _has(row: pd.Series, *columns: str) -> bool:
    return all(column in row.index and pd.notna(row[column]) for column in columns)


def _above(value: float, reference: float) -> float:
    return value / reference if reference > 0 else (np.inf if value > 0 else 0.0)


def _lapsed(row, overall):
    if not _has(row, "recency_days") or row["recency_days"] < 30:
        return 0.0
    ratio = _above(row["recency_days"], overall["recency_days"])
    return ratio if ratio >= 1.5 else 0.0


def _big_spenders(row, overall):
    if not _has(row, "monetary", "purchases", "recency_days"):
        return 0.0
    ratio = _above(row["monetary"], overall["monetary"])
    fits = ratio >= 1.5 and row["purchases"] >= overall["purchases"] and row["recency_days"] <= overall["recency_days"]
    return ratio if fits else 0.0


def _window_shoppers(row, overall):
    if not _has(row, "view_to_purchase", "views") or row["views"] < 0.5 * overall["views"]:
        return 0.0
    ratio = _above(overall["view_to_purchase"], row["view_to_purchase"])
    return ratio if ratio >= 1.6 else 0.0


def _bargain_hunters(row, overall):
    if not _has(row, "basket_value", "sessions", "purchases") or row["purchases"] <= 0:
        return 0.0
    ratio = _above(overall["basket_value"], row["basket_value"])
    return ratio if ratio >= 1.6 and row["sessions"] >= overall["sessions"] else 0.0


def _big_baskets(row, overall):
    if not _has(row, "basket_value", "purchases") or row["purchases"] <= 0:
        return 0.0
    ratio = _above(row["basket_value"], overall["basket_value"])
    return ratio if ratio >= 2.0 else 0.0


def _cart_abandoners(row, overall):
    if not _has(row, "cart_to_purchase", "view_to_cart") or row["view_to_cart"] <= 0:
        return 0.0
    ratio = _above(overall["cart_to_purchase"], row["cart_to_purchase"])
    return ratio if ratio >= 1.6 else 0.0


def _gift_buyers(row, overall):
    columns = [f"{CATEGORY_PREFIX}{name}" for name in GIFT_CATEGORIES if f"{CATEGORY_PREFIX}{name}" in row.index]
    if not columns:
        return 0.0
    share, typical = float(row[columns].sum()), float(overall[columns].sum())
    ratio = _above(share, typical)
    return ratio if share >= 0.2 and ratio >= 2.0 else 0.0


def _night_owls(row, overall):
    night = row["share_night"] if _has(row, "share_night") else 0.0
    late = _has(row, "mean_hour") and (row["mean_hour"] >= 22.0 or row["mean_hour"] < 5.0)
    ratio = _above(night, overall.get("share_night", 0.0))
    if night >= 0.2 and ratio >= 2.0:
        return ratio
    return 1.5 if late else 0.0


def _evening_shoppers(row, overall):
    if not _has(row, "share_evening") or row["share_evening"] < 0.8:
        return 0.0
    ratio = _above(row["share_evening"], overall["share_evening"])
    return ratio if ratio >= 1.4 else 0.0


def _early_birds(row, overall):
    if not _has(row, "share_morning") or row["share_morning"] < 0.4:
        return 0.0
    ratio = _above(row["share_morning"], overall["share_morning"])
    return ratio if ratio >= 2.0 else 0.0


RULES: dict[str, Rule] = {
    "lapsed customers": _lapsed,
    "loyal big spenders": _big_spenders,
    "window shoppers": _window_shoppers,
    "bargain hunters": _bargain_hunters,
    "big-basket buyers": _big_baskets,
    "cart abandoners": _cart_abandoners,
    "seasonal gift buyers": _gift_buyers,
    "night owls": _night_owls,
    "evening shoppers": _evening_shoppers,
    "early birds": _early_birds,
}
"""Name -> rule. A cluster gets the name of the rule it fits most strongly that no other cluster fits better."""


def _fallback(row: pd.Series, overall: pd.Series) -> str:
    if _has(row, "sessions") and row["sessions"] >= overall["sessions"]:
        return "regular customers"
    return "occasional customers"


def _top_category(row: pd.Series) -> str:
    top = str(row.get("top_categories", "") or "")
    return top.split(",")[0].rsplit(" ", 1)[0] if top else ""


def name_clusters(profiles: pd.DataFrame) -> pd.Series:
    """A readable, unique name for every cluster, from rules over its profile.

    Each rule of :data:`RULES` scores how far a cluster stands out from all users in one way (recency, money,
    conversion, basket, Christmas share, hour). Names are handed out strongest fit first, one per cluster and each
    at most once. A cluster whose fitting names were all taken by clusters that fit them better gets its strongest
    one qualified by its top category ("lapsed customers (Coats)"); a cluster no rule fits is "regular customers"
    (at least the usual number of sessions) or "occasional customers", qualified the same way when taken. Noise
    is "unclustered (noise)".

    Parameters
    ----------
    profiles : pandas.DataFrame
        As :func:`cluster_profiles` returns them (needs ``size``; uses whichever key features it has).

    Returns
    -------
    pandas.Series
        The name of every cluster, indexed like ``profiles``.

    Examples
    --------
    >>> import pandas as pd
    >>> profiles = pd.DataFrame({"size": [300, 100], "recency_days": [10.0, 240.0], "sessions": [50.0, 4.0]},
    ...                         index=pd.Index([0, 1], name="cluster"))
    >>> name_clusters(profiles).to_dict()
    {0: 'regular customers', 1: 'lapsed customers'}
    """
    if "size" not in profiles:
        raise ValueError(f"profiles needs a size column, as cluster_profiles gives; got {list(profiles.columns)}.")
    overall = _overall(profiles)
    clustered = [label for label in profiles.index if label != NOISE]
    fits = [
        (strength, position, label, name)
        for position, label in enumerate(clustered)
        for name, rule in RULES.items()
        if (strength := rule(profiles.loc[label], overall)) > 0
    ]
    names: dict = {}
    used: set[str] = set()
    for _strength, _position, label, name in sorted(fits, key=lambda fit: (-fit[0], fit[1])):
        if label not in names and name not in used:
            names[label] = name
            used.add(name)
    strongest = {}
    for strength, _position, label, name in fits:
        if strength > strongest.get(label, (0.0, ""))[0]:
            strongest[label] = (strength, name)
    for label in clustered:
        if label in names:
            continue
        row = profiles.loc[label]
        name = strongest[label][1] if label in strongest else _fallback(row, overall)
        if name in used and _top_category(row):
            name = f"{name} ({_top_category(row)})"
        if name in used:
            name = f"{name} #{label}"
        names[label] = name
        used.add(name)
    if NOISE in profiles.index:
        names[NOISE] = NOISE_NAME
    return pd.Series([names[label] for label in profiles.index], index=profiles.index, name="name")
