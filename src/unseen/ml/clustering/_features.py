"""Behaviour features of each user from their clickstream: one row per user, ready to cluster.

A user's events are cut into sessions by ``session_id``; events without one (rare: an event recorded outside a login
session) start a new session after :data:`SESSION_GAP` of silence. Events without a user are left out: what is
clustered here is users. Hours and weekdays are read in UTC, the shop's clock.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from unseen.tables import EventKind

KINDS = tuple(kind.value for kind in EventKind)
SESSION_START, SESSION_END = "start", "end"
STATES = (SESSION_START, *KINDS, SESSION_END)
SESSION_GAP = pd.Timedelta(minutes=30)
"""Silence after which an event without a ``session_id`` starts a new session (the usual web-analytics cut)."""
TIME_OF_DAY = {"night": (0, 6), "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}
HEAVY_TAILED = (
    "recency_days",
    "sessions",
    "purchases",
    "monetary",
    "basket_value",
    "events",
    "views",
    "events_per_session",
    "session_length_mean",
    "session_length_median",
)
"""Counts, durations and amounts: a few users have many times the typical value, so they are log-scaled."""
CATEGORY_PREFIX = "cat_"
TRANSITION_PREFIX = "tr_"
_REQUIRED = ("at", "kind", "user_id")


def _check_events(events: pd.DataFrame) -> None:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame as load_events returns it; got {type(events).__name__}.")
    missing = [column for column in _REQUIRED if column not in events]
    if missing:
        raise ValueError(
            f"events is missing column(s) {missing}; pass the frame load_events returns "
            f"(got columns {list(events.columns)})."
        )
    unknown = sorted(set(events["kind"].dropna().astype(str)) - set(KINDS))
    if unknown:
        raise ValueError(f"events has unknown kind(s) {unknown}; expected some of {list(KINDS)}.")


def _sessionised(events: pd.DataFrame) -> pd.DataFrame:
    """Events of known users, sorted by user, session and time, with a ``session`` key and ``first``/``last`` flags."""
    _check_events(events)
    frame = events[events["user_id"].notna()].copy()
    frame["user_id"] = frame["user_id"].astype(np.int64)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["kind"] = frame["kind"].astype(str)
    tie_break = ["event_id"] if "event_id" in frame else []
    frame = frame.sort_values(["user_id", "at", *tie_break], kind="stable")
    session_id = frame["session_id"] if "session_id" in frame else pd.Series(pd.NA, index=frame.index)
    loose = session_id.isna().to_numpy()
    session = np.zeros(len(frame), dtype=np.int64)
    session[~loose] = session_id[~loose].astype(np.int64)
    if loose.any():
        # Negative keys for the cut sessions cannot collide with real session ids, which are positive.
        stray = frame.loc[loose, ["user_id", "at"]]
        new = (stray["user_id"].diff() != 0) | (stray["at"].diff() > SESSION_GAP)
        session[loose] = -new.cumsum().to_numpy()
    frame["session"] = session
    frame = frame.sort_values(["user_id", "session", "at", *tie_break], kind="stable")
    keys = frame[["user_id", "session"]]
    frame["first"] = (keys != keys.shift()).any(axis=1).to_numpy()
    frame["last"] = (keys != keys.shift(-1)).any(axis=1).to_numpy()
    return frame


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, and 0 where the denominator is 0 (no views: nothing converted)."""
    return (numerator / denominator.where(denominator > 0)).fillna(0.0)


def _spend(frame: pd.DataFrame, orders: pd.DataFrame | None, users: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Orders placed and money spent (currency units) per user, from ``orders`` or else from purchase events."""
    if orders is not None:
        missing = [column for column in ("user_id", "value_cents") if column not in orders]
        if missing:
            raise ValueError(
                f"orders is missing column(s) {missing}; pass the frame load_orders returns "
                f"(got columns {list(orders.columns)})."
            )
        by_user = orders.groupby("user_id")
        placed = by_user["order_id"].nunique() if "order_id" in orders else by_user.size()
        spent = by_user["value_cents"].sum() / 100.0
    else:
        bought = frame[frame["kind"] == EventKind.purchase.value]
        # The lines of one order share a purchase time and session; the order id, when present, says it outright.
        order = bought["session"].astype(str) + "@" + bought["at"].astype(str)
        if "order_id" in bought:
            order = bought["order_id"].astype("string").fillna(order)
        placed = order.groupby(bought["user_id"]).nunique()
        missing = pd.Series(np.nan, index=bought.index)
        quantity = bought.get("quantity", missing).astype(float).fillna(1.0)
        price = bought.get("price_cents", missing).astype(float).fillna(0.0)
        spent = (quantity * price).groupby(bought["user_id"]).sum() / 100.0
    return (placed.reindex(users, fill_value=0).astype(float), spent.reindex(users, fill_value=0.0).astype(float))


def behaviour_features(
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    reference_time: object = None,
    *,
    transitions: bool = False,
) -> pd.DataFrame:
    """One row of behaviour features per user: recency, frequency, money, sessions, funnel, taste and rhythm.

    Parameters
    ----------
    events : pandas.DataFrame
        Events as :func:`load_events` returns them; needs ``at``, ``kind`` and ``user_id``, and uses
        ``session_id``, ``event_id``, ``category``, ``quantity``, ``price_cents`` and ``order_id`` when present.
    orders : pandas.DataFrame or None, default=None
        Orders as :func:`load_orders` returns them (``user_id``, ``order_id``, ``value_cents``). They give
        ``purchases`` and ``monetary``; without them, both come from purchase events (current product prices).
    reference_time : datetime, str or None, default=None
        The moment recency is measured from; None takes the last event in ``events``.
    transitions : bool, default=False
        Append each user's event-kind transition probabilities (:func:`transition_matrix` with ``by="user"``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``user_id``, sorted: every user with at least one event (a user who only appears in ``orders``
        has no clickstream to describe and is left out). Columns:

        - ``recency_days``: days from the user's last event to ``reference_time``;
        - ``sessions``, ``purchases`` (orders), ``monetary`` (total spent), ``basket_value`` (per order),
          ``events``, ``views``;
        - ``events_per_session``, ``session_length_mean``, ``session_length_median`` (seconds from the first to
          the last event of a session);
        - ``view_to_cart`` (cart adds / views), ``cart_to_purchase`` (purchased lines / cart adds),
          ``view_to_purchase`` (purchased lines / views), ``favourite_rate`` (favourite adds / views),
          ``cart_remove_rate`` (cart removes / cart adds); 0 when the denominator is 0;
        - ``share_night``, ``share_morning``, ``share_afternoon``, ``share_evening``: shares of events in the hours
          0-6, 6-12, 12-18, 18-24;
        - ``hour_sin``, ``hour_cos``: the circular mean hour of the user's events as a point on the unit circle;
        - ``weekday_share``: share of events from Monday to Friday;
        - ``cat_<category>``: share of the user's views in each category;
        - with ``transitions``, ``tr_<from>__<to>`` for every pair of states.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:02", "2026-03-02 09:05",
    ...                           "2026-03-09 21:00", "2026-03-09 21:01"], utc=True),
    ...     "kind": ["view", "cart_add", "purchase", "view", "view"],
    ...     "user_id": 1, "session_id": [10, 10, 10, 11, 11],
    ...     "category": ["Toys", "Toys", "Toys", "Toys", "Garden"],
    ...     "quantity": [None, 2, 2, None, None], "price_cents": 500,
    ... })
    >>> features = behaviour_features(events, reference_time="2026-03-19 21:01")
    >>> features.loc[1, ["recency_days", "sessions", "purchases", "monetary", "session_length_mean",
    ...                  "view_to_cart", "cat_Toys"]].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'recency_days': 10.0, 'sessions': 2.0, 'purchases': 1.0, 'monetary': 10.0, 'session_length_mean': 180.0,
     'view_to_cart': 0.3333333333333333, 'cat_Toys': 0.6666666666666666}
    """
    frame = _sessionised(events)
    users = pd.Index(np.unique(frame["user_id"]), name="user_id")
    reference = pd.Timestamp(frame["at"].max()) if reference_time is None else pd.Timestamp(reference_time)
    reference = reference.tz_localize("UTC") if reference.tzinfo is None else reference.tz_convert("UTC")
    by_user = frame.groupby("user_id")
    last_seen = by_user["at"].max()
    if len(frame) and last_seen.max() > reference:
        raise ValueError(
            f"reference_time ({reference.isoformat()}) is before the last event ({last_seen.max().isoformat()}); "
            "recency would be negative."
        )

    features = pd.DataFrame(index=users)
    features["recency_days"] = (reference - last_seen).dt.total_seconds() / 86400.0

    sessions = frame.groupby(["user_id", "session"])["at"].agg(["min", "max", "size"])
    length = (sessions["max"] - sessions["min"]).dt.total_seconds()
    per_user = length.groupby(level="user_id")
    features["sessions"] = per_user.size().astype(float)
    placed, spent = _spend(frame, orders, users)
    features["purchases"] = placed
    features["monetary"] = spent
    features["basket_value"] = _ratio(spent, placed)

    counts = pd.crosstab(frame["user_id"], frame["kind"]).reindex(index=users, columns=list(KINDS), fill_value=0)
    counts = counts.astype(float)
    features["events"] = counts.sum(axis=1)
    features["views"] = counts["view"]
    features["events_per_session"] = sessions["size"].groupby(level="user_id").mean()
    features["session_length_mean"] = per_user.mean()
    features["session_length_median"] = per_user.median()
    features["view_to_cart"] = _ratio(counts["cart_add"], counts["view"])
    features["cart_to_purchase"] = _ratio(counts["purchase"], counts["cart_add"])
    features["view_to_purchase"] = _ratio(counts["purchase"], counts["view"])
    features["favourite_rate"] = _ratio(counts["favourite_add"], counts["view"])
    features["cart_remove_rate"] = _ratio(counts["cart_remove"], counts["cart_add"])

    at = frame["at"].dt
    hour = at.hour + at.minute / 60.0 + at.second / 3600.0
    for name, (start, end) in TIME_OF_DAY.items():
        features[f"share_{name}"] = ((hour >= start) & (hour < end)).groupby(frame["user_id"]).mean()
    angle = 2.0 * np.pi * hour / 24.0
    mean_angle = np.arctan2(np.sin(angle).groupby(frame["user_id"]).mean(),
                            np.cos(angle).groupby(frame["user_id"]).mean())
    features["hour_sin"] = np.sin(mean_angle)
    features["hour_cos"] = np.cos(mean_angle)
    features["weekday_share"] = (at.day_of_week < 5).groupby(frame["user_id"]).mean()

    if "category" in frame:
        views = frame[(frame["kind"] == EventKind.view.value) & frame["category"].notna()]
        mix = pd.crosstab(views["user_id"], views["category"].astype(str), normalize="index")
        mix = mix.reindex(index=users, columns=sorted(mix.columns), fill_value=0.0)
        features = features.join(mix.add_prefix(CATEGORY_PREFIX).astype(float))
    if transitions:
        features = features.join(_flatten(_transition_counts(frame, by_user=True), normalize=True))
    return features.fillna(0.0).astype(float)


def _transition_counts(frame: pd.DataFrame, *, by_user: bool) -> pd.DataFrame:
    """Counts of (from, to) transitions, with a start and end state around every session."""
    kind = frame["kind"].to_numpy(dtype=object)
    previous = np.roll(kind, 1)
    previous[frame["first"].to_numpy()] = SESSION_START
    ends = frame[frame["last"]]
    pairs = pd.DataFrame({
        "user_id": np.concatenate([frame["user_id"].to_numpy(), ends["user_id"].to_numpy()]),
        "from": np.concatenate([previous, ends["kind"].to_numpy(dtype=object)]),
        "to": np.concatenate([kind, np.full(len(ends), SESSION_END, dtype=object)]),
    })
    keys = ["user_id", "from", "to"] if by_user else ["from", "to"]
    return pairs.groupby(keys).size().rename("count").reset_index()


def _flatten(counts: pd.DataFrame, *, normalize: bool) -> pd.DataFrame:
    """Per-user transitions as columns ``tr_<from>__<to>``: every from-state but the end, every to-state but the start."""
    sources, targets = STATES[:-1], STATES[1:]
    if normalize:
        counts = counts.assign(count=counts["count"] / counts.groupby(["user_id", "from"])["count"].transform("sum"))
    wide = counts.pivot_table(index="user_id", columns=["from", "to"], values="count", aggfunc="sum", fill_value=0)
    columns = pd.MultiIndex.from_product([sources, targets], names=["from", "to"])
    wide = wide.reindex(columns=columns, fill_value=0).astype(float)
    wide.columns = [f"{TRANSITION_PREFIX}{source}__{target}" for source, target in wide.columns]
    return wide


def transition_matrix(events: pd.DataFrame, by: str | None = None, normalize: bool = True) -> pd.DataFrame:
    """Event-kind transitions within sessions: a Markov chain over page kinds with a session start and end state.

    Every session is read as ``start -> kind_1 -> ... -> kind_n -> end`` in time order.

    Parameters
    ----------
    events : pandas.DataFrame
        Events as :func:`load_events` returns them (``at``, ``kind``, ``user_id``, ``session_id``).
    by : {None, "user"}, default=None
        None: one matrix over every user. ``"user"``: one row per user with the matrix flattened into columns
        ``tr_<from>__<to>`` (from-states without ``end``, to-states without ``start``), to use as features.
    normalize : bool, default=True
        Divide every row by its total, so that it holds transition probabilities; False keeps the counts.

    Returns
    -------
    pandas.DataFrame
        With ``by=None``, a square frame over :data:`STATES` (``start``, the event kinds, ``end``): rows are the
        state left, columns the state entered. Normalised, every row of a state that was left sums to 1, ``end`` is
        absorbing (``end -> end`` is 1) and rows of states never seen are 0. With ``by="user"``, one row per user.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:01", "2026-03-02 09:02",
    ...                           "2026-03-03 10:00"], utc=True),
    ...     "kind": ["view", "view", "cart_add", "view"], "user_id": 1, "session_id": [1, 1, 1, 2],
    ... })
    >>> matrix = transition_matrix(events)
    >>> matrix.loc["view", ["view", "cart_add", "end"]].tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    >>> int(transition_matrix(events, normalize=False).loc["start", "view"])
    2
    """
    if by not in (None, "user"):
        raise ValueError(f"by must be None or 'user'; got {by!r}.")
    frame = _sessionised(events)
    if by == "user":
        wide = _flatten(_transition_counts(frame, by_user=True), normalize=normalize)
        users = pd.Index(np.unique(frame["user_id"]), name="user_id")
        return wide.reindex(users, fill_value=0.0)
    counts = _transition_counts(frame, by_user=False)
    matrix = counts.pivot_table(index="from", columns="to", values="count", aggfunc="sum", fill_value=0)
    matrix = matrix.reindex(index=list(STATES), columns=list(STATES), fill_value=0).astype(float)
    matrix.index.name, matrix.columns.name = "from", "to"
    if normalize:
        matrix.loc[SESSION_END, SESSION_END] = 1.0
        totals = matrix.sum(axis=1)
        matrix = matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)
    return matrix


class BehaviourFeatures(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Log-scale the heavy-tailed counts of :func:`behaviour_features`, then standardise every column.

    Distances in k-means and DBSCAN treat every unit alike; without the log a user with 300 sessions would sit
    far from everyone on that axis alone, and without standardising money would outweigh every share.

    Parameters
    ----------
    log_columns : "auto", list of str or int, or None, default="auto"
        Columns replaced by ``log1p`` before scaling. ``"auto"`` takes the columns of :data:`HEAVY_TAILED` that X
        has (by name; none when X has no column names). A list names columns, or gives their positions. Their
        values must be non-negative.
    scale : bool, default=True
        Centre every column and divide it by its standard deviation (columns that do not vary are only centred).

    Attributes
    ----------
    log_mask_ : ndarray of shape (n_features,)
        True for the columns that are log-scaled.
    mean_ : ndarray of shape (n_features,)
        Mean of every column after the log, subtracted when ``scale``; zeros otherwise.
    scale_ : ndarray of shape (n_features,)
        Standard deviation of every column after the log (1 where it is 0), divided by when ``scale``; ones
        otherwise.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when it has string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"sessions": [1.0, 10.0, 100.0], "view_to_cart": [0.1, 0.2, 0.3]})
    >>> scaler = BehaviourFeatures().fit(X)
    >>> scaler.log_mask_.tolist()
    [True, False]
    >>> Z = scaler.transform(X)
    >>> Z[:, 0].round(3).tolist()  # log1p(sessions), standardised: the gaps 1 -> 10 -> 100 become alike
    [-1.168, -0.106, 1.274]
    >>> Z.std(axis=0).round(6).tolist()
    [1.0, 1.0]
    """

    _parameter_constraints: dict = {
        "log_columns": [StrOptions({"auto"}), "array-like", None],
        "scale": ["boolean"],
    }

    def __init__(self, *, log_columns="auto", scale=True):
        self.log_columns = log_columns
        self.scale = scale

    def _resolve_log_mask(self) -> np.ndarray:
        names = getattr(self, "feature_names_in_", None)
        mask = np.zeros(self.n_features_in_, dtype=bool)
        if self.log_columns is None:
            return mask
        if isinstance(self.log_columns, str):  # "auto"
            if names is not None:
                mask[:] = np.isin(names, HEAVY_TAILED)
            return mask
        for column in self.log_columns:
            if isinstance(column, Integral) and not isinstance(column, bool):
                if not 0 <= column < self.n_features_in_:
                    raise ValueError(f"log_columns position {column} is out of range for {self.n_features_in_} "
                                     "features.")
                mask[column] = True
            elif names is not None and column in set(names):
                mask[np.flatnonzero(names == column)] = True
            else:
                known = "X has no column names" if names is None else f"X has {list(names)}"
                raise ValueError(f"log_columns names {column!r}, which is not a column of X ({known}).")
        return mask

    def _log(self, X: np.ndarray) -> np.ndarray:
        if not self.log_mask_.any():
            return X
        logged = X[:, self.log_mask_]
        if (logged < 0).any():
            bad = np.flatnonzero(self.log_mask_)[np.flatnonzero((logged < 0).any(axis=0))[0]]
            name = self.feature_names_in_[bad] if hasattr(self, "feature_names_in_") else f"column {bad}"
            raise ValueError(f"{name} is log-scaled and must be non-negative; got {X[:, bad].min()!r}.")
        X = X.copy()
        X[:, self.log_mask_] = np.log1p(logged)
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn which columns to log-scale, and the mean and spread of every column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Behaviour features, for instance from :func:`behaviour_features`.
        y : None
            Ignored.

        Returns
        -------
        self : BehaviourFeatures
            The fitted transformer.
        """
        X = validate_data(self, X, dtype=np.float64)
        self.log_mask_ = self._resolve_log_mask()
        X = self._log(X)
        n_features = X.shape[1]
        if self.scale:
            self.mean_ = X.mean(axis=0)
            spread = X.std(axis=0)
            self.scale_ = np.where(spread > 0, spread, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(n_features), np.ones(n_features)
        return self

    def transform(self, X):
        """Log-scale and standardise X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Behaviour features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The transformed features.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (self._log(X) - self.mean_) / self.scale_
