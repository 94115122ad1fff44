"""Turn shop events into implicit-feedback weights per (user, item)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

# How much one event says about a user's interest in a product. Removals take back part of what
# the matching addition gave, so an item added and removed again keeps a trace of interest.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "favourite_add": 3.0,
    "cart_add": 4.0,
    "purchase": 6.0,
    "cart_remove": -2.0,
    "favourite_remove": -3.0,
}

# Shop events that carry no product and therefore say nothing about items.
EVENTS_WITHOUT_ITEM = frozenset({"login_ok", "login_fail", "logout"})


def interaction_weights(
    events: pd.DataFrame,
    *,
    event_weights: Mapping[str, float] | None = None,
    half_life_days: float | None = 30.0,
    reference_time: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Combine a user's events on an item into one non-negative weight.

    Each event contributes its kind's weight, halved for every ``half_life_days`` it lies before
    ``reference_time``; contributions are summed per (user, item) and the sum is clipped at zero.
    Pairs whose weight ends at zero are dropped: they say nothing a recommender can use.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns ``user_id``, ``product_id`` (or ``item_id``), ``kind`` and ``at`` (datetime).
        Rows of kinds without a product (login_ok, login_fail, logout) or without an item id
        are ignored.
    event_weights : mapping of str to float, optional
        Weight per event kind, replacing :data:`DEFAULT_EVENT_WEIGHTS` entirely when given.
    half_life_days : float or None, default=30.0
        Age at which an event counts half; None disables decay.
    reference_time : datetime-like, optional
        "Now" for the decay; by default the latest event, so the result depends on the events
        only. Events after it count in full.

    Returns
    -------
    pandas.DataFrame
        Columns ``user_id``, ``item_id``, ``weight`` (float, > 0) and ``timestamp`` (the latest
        event on the pair), sorted by user and item.

    Raises
    ------
    ValueError
        If a column is missing, an event kind has no weight, a time cannot be parsed, or
        ``half_life_days`` is not positive.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 1, 2],
    ...     "product_id": [10, 10, 10, 11, None],
    ...     "kind": ["view", "cart_add", "cart_remove", "view", "login_ok"],
    ...     "at": pd.to_datetime(["2024-01-01", "2024-01-31", "2024-01-31", "2024-01-31", "2024-01-31"]),
    ... })
    >>> interaction_weights(events, half_life_days=30.0)[["user_id", "item_id", "weight"]]
       user_id  item_id  weight
    0        1       10     2.5
    1        1       11     1.0
    """
    weights = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
    if half_life_days is not None and not half_life_days > 0:
        raise ValueError(f"half_life_days must be a positive number of days or None; got {half_life_days!r}.")
    item_column = "product_id" if "product_id" in events.columns else "item_id"
    missing = [column for column in ("user_id", item_column, "kind", "at") if column not in events.columns]
    if missing:
        raise ValueError(
            f"events is missing column(s) {missing}; expected user_id, product_id (or item_id), kind, at "
            f"(got {list(events.columns)})."
        )

    rows = events[~events["kind"].isin(EVENTS_WITHOUT_ITEM) & events[item_column].notna()]
    unknown = sorted(set(rows["kind"].unique()) - set(weights))
    if unknown:
        raise ValueError(
            f"no weight for event kind(s) {unknown}; give one in event_weights "
            f"(known kinds: {sorted(weights)})."
        )
    if rows.empty:
        return pd.DataFrame(
            {"user_id": [], "item_id": [], "weight": np.array([], dtype=float), "timestamp": pd.to_datetime([])}
        )

    try:
        at = pd.to_datetime(rows["at"])
    except (ValueError, TypeError) as error:
        raise ValueError(f"events['at'] must hold datetimes; could not parse them ({error}).") from None
    items = rows[item_column]
    if items.dtype.kind == "f" and (items % 1 == 0).all():
        # A product column with missing values (the login events) is read as float; the ids are ints.
        items = items.astype(np.int64)
    contribution = np.array(rows["kind"].map(weights), dtype=np.float64)
    if half_life_days is not None:
        now = at.max() if reference_time is None else pd.Timestamp(reference_time)
        if (now.tzinfo is None) != (at.dt.tz is None):
            raise ValueError(
                f"reference_time {now} and events['at'] must both carry a time zone or both not."
            )
        age_days = ((now - at) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
        contribution *= 0.5 ** (np.clip(age_days, 0.0, None) / half_life_days)

    combined = (
        pd.DataFrame(
            {
                "user_id": rows["user_id"].to_numpy(),
                "item_id": items.to_numpy(),
                "weight": contribution,
                "timestamp": at.to_numpy(),
            }
        )
        .groupby(["user_id", "item_id"], as_index=False, sort=True)
        .agg(weight=("weight", "sum"), timestamp=("timestamp", "max"))
    )
    combined["weight"] = combined["weight"].clip(lower=0.0)
    # Float sums of an addition and its removal can leave dust like 1e-17 instead of 0.
    return combined[combined["weight"] > 1e-12].reset_index(drop=True)
