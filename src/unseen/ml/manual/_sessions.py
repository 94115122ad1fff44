"""A classification problem from the shop's clickstream: will a session with something in the cart end in a purchase?

Every logged-in session that added to the cart becomes one row. Its features are what the shop knows at the
moment of checkout, before the purchase: what the session did (views, favourites, cart adds and removes, the cart's
value, how long it lasted, when it happened) and what the user did in earlier sessions (how many, how many of them
bought, how long ago the last one was). The label is whether the session placed an order. Nothing from the
purchase itself, from the logout after it, or from later sessions enters a row, so the features could be computed
live and the label is not leaked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SESSION_FEATURES = (
    "views",
    "favourites",
    "cart_adds",
    "cart_removes",
    "cart_units",
    "cart_value",
    "mean_view_price",
    "session_seconds",
    "hour_sin",
    "hour_cos",
    "weekend",
    "prior_sessions",
    "prior_purchase_share",
    "days_since_previous",
)
"""The columns of :func:`purchase_sessions` that a model reads, in order."""
_BEFORE_CHECKOUT = ("view", "favourite_add", "favourite_remove", "cart_add", "cart_remove")
_NO_PREVIOUS_DAYS = 365.0
"""``days_since_previous`` of a user's first session: longer than any gap a one-year history has."""


def purchase_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per logged-in session with a cart add: checkout-time features and whether it was bought.

    Parameters
    ----------
    events : pandas.DataFrame
        Events as :func:`unseen.ml.clustering.load_events` returns them: ``at``, ``kind``, ``user_id``,
        ``session_id``, ``quantity``, ``category`` and ``price_cents``. Events without a user or a session are
        left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``session_id``, oldest session first: ``user_id``, ``started_at``, the columns of
        :data:`SESSION_FEATURES` (money in currency units; ``prior_purchase_share`` is 0 for a first session,
        ``days_since_previous`` 365) and ``purchased`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:01", "2026-03-02 09:02", "2026-03-02 09:05",
    ...                           "2026-03-09 21:00", "2026-03-09 21:01", "2026-03-09 21:03"], utc=True),
    ...     "kind": ["login_ok", "view", "cart_add", "purchase", "login_ok", "view", "cart_add"],
    ...     "user_id": 1, "session_id": [10, 10, 10, 10, 11, 11, 11],
    ...     "quantity": [None, None, 2, 2, None, None, 1], "category": [None, "Toys", "Toys", "Toys", None,
    ...                                                                "Garden", "Garden"],
    ...     "price_cents": [None, 500, 500, 500, None, 1200, 1200],
    ... })
    >>> sessions = purchase_sessions(events)
    >>> sessions[["cart_value", "session_seconds", "prior_purchase_share", "purchased"]].to_dict("index")
    ...     # doctest: +NORMALIZE_WHITESPACE
    {10: {'cart_value': 10.0, 'session_seconds': 120.0, 'prior_purchase_share': 0.0, 'purchased': True},
     11: {'cart_value': 12.0, 'session_seconds': 180.0, 'prior_purchase_share': 1.0, 'purchased': False}}
    """
    missing = [column for column in ("at", "kind", "user_id", "session_id") if column not in events]
    if missing:
        raise ValueError(f"events is missing column(s) {missing}; pass the frame load_events returns "
                         f"(got columns {list(events.columns)}).")
    frame = events[events["user_id"].notna() & events["session_id"].notna()].copy()
    frame["user_id"] = frame["user_id"].astype(np.int64)
    frame["session_id"] = frame["session_id"].astype(np.int64)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["kind"] = frame["kind"].astype(str)
    price = pd.to_numeric(frame.get("price_cents"), errors="coerce").astype(float) / 100.0
    quantity = pd.to_numeric(frame.get("quantity"), errors="coerce").astype(float).fillna(1.0)
    frame["price"], frame["quantity"] = price, quantity

    by_session = frame.groupby("session_id")
    sessions = pd.DataFrame({"user_id": by_session["user_id"].first(), "started_at": by_session["at"].min(),
                             "purchased": by_session["kind"].agg(lambda kinds: bool((kinds == "purchase").any()))})
    sessions = sessions.sort_values(["started_at"], kind="stable")
    # What a user did before: counted over all their sessions, those without a cart too.
    per_user = sessions.groupby("user_id")
    sessions["prior_sessions"] = per_user.cumcount().astype(float)
    earlier_purchases = per_user["purchased"].cumsum() - sessions["purchased"]
    sessions["prior_purchase_share"] = (earlier_purchases / sessions["prior_sessions"].where(
        sessions["prior_sessions"] > 0)).fillna(0.0)
    gap = per_user["started_at"].diff().dt.total_seconds() / 86400.0
    sessions["days_since_previous"] = gap.fillna(_NO_PREVIOUS_DAYS)

    shopping = frame[frame["kind"].isin(_BEFORE_CHECKOUT)]
    kind = shopping["kind"]
    grouped = shopping.groupby("session_id")
    sign = np.where(kind == "cart_add", 1.0, np.where(kind == "cart_remove", -1.0, 0.0))
    views = shopping[kind == "view"].groupby("session_id")
    hour = sessions["started_at"].dt.hour + sessions["started_at"].dt.minute / 60.0
    counts = pd.crosstab(shopping["session_id"], kind).reindex(columns=list(_BEFORE_CHECKOUT), fill_value=0)
    features = pd.DataFrame({
        "views": counts["view"],
        "favourites": counts["favourite_add"],
        "cart_adds": counts["cart_add"],
        "cart_removes": counts["cart_remove"],
        "cart_units": (sign * shopping["quantity"]).groupby(shopping["session_id"]).sum(),
        "cart_value": (sign * shopping["quantity"] * shopping["price"].fillna(0.0)).groupby(
            shopping["session_id"]).sum(),
        "mean_view_price": views["price"].mean(),
    })
    last = grouped["at"].max()
    features["session_seconds"] = (last - sessions["started_at"].reindex(last.index)).dt.total_seconds()
    sessions = sessions.join(features, how="inner")
    sessions = sessions[sessions["cart_adds"] > 0].copy()
    sessions["hour_sin"] = np.sin(2 * np.pi * hour / 24.0)
    sessions["hour_cos"] = np.cos(2 * np.pi * hour / 24.0)
    sessions["weekend"] = (sessions["started_at"].dt.day_of_week >= 5).astype(float)
    sessions[list(SESSION_FEATURES)] = sessions[list(SESSION_FEATURES)].astype(float).fillna(0.0)
    sessions["purchased"] = sessions["purchased"].astype(bool)
    sessions.index.name = "session_id"
    return sessions[["user_id", "started_at", *SESSION_FEATURES, "purchased"]]


def time_split(sessions: pd.DataFrame, test_share: float = 0.25) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The oldest sessions to train on and the newest ``test_share`` to test on, as a shop would deploy a model.

    Parameters
    ----------
    sessions : pandas.DataFrame
        As :func:`purchase_sessions` returns them (``started_at``).
    test_share : float, default=0.25
        Share of the sessions, the newest, held out; in (0, 1).

    Returns
    -------
    train, test : pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> sessions = pd.DataFrame({"started_at": pd.date_range("2026-01-01", periods=8, freq="D", tz="UTC")})
    >>> train, test = time_split(sessions, 0.25)
    >>> len(train), len(test), bool(train["started_at"].max() < test["started_at"].min())
    (6, 2, True)
    """
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must lie strictly between 0 and 1; got {test_share!r}.")
    ordered = sessions.sort_values("started_at", kind="stable")
    cut = len(ordered) - max(1, int(round(test_share * len(ordered))))
    if cut < 1:
        raise ValueError(f"{len(ordered)} sessions are too few to split into a training and a test part.")
    return ordered.iloc[:cut], ordered.iloc[cut:]
