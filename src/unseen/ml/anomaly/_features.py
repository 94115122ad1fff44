"""Features of request windows: what one IP or one session did in the last minute, as one row of numbers.

A window is the half-open interval ``(end - window, end]``. In batch (:func:`window_features`) the window ends lie on
a grid of multiples of ``step`` counted from the Unix epoch, so every key shares the same clock, and only windows
that hold at least one request become rows. Online (:func:`features_for_window`) the detector passes the records it
keeps for one key and the window ends at the latest of them. Both compute the same numbers for the same requests;
the tests hold them to it.

Times are read in UTC, the shop's clock. Rule verdicts (the ``category`` a request got from the monitor's rules) are
left out unless asked for, so that a model is judged on what it sees by itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import pandas as pd

FEATURE_NAMES = (
    "n_requests",
    "requests_per_second",
    "n_paths",
    "n_path_templates",
    "share_4xx",
    "share_5xx",
    "share_401",
    "share_post",
    "login_attempts",
    "cart_adds",
    "interarrival_mean_s",
    "interarrival_max_s",
    "interarrival_cv",
    "latency_mean_ms",
    "response_bytes_mean",
    "share_tool_agent",
    "n_user_agents",
    "share_operator_routes",
    "query_length_mean",
    "hour_sin",
    "hour_cos",
)
"""The window features, in column order. ``requests_per_second`` is ``(n - 1) / max(span, 1 s)``, the rate of the
active part of the window (0 for a lone request), so a burst is seen as soon as it starts. With fewer than two
requests the inter-arrival mean and maximum are the window length and the coefficient of variation is 0."""
RULE_FEATURE_NAMES = ("share_rule_warning", "share_rule_anomaly")
"""Shares of the window's requests the monitor's rules called a warning or an anomaly (``include_rules=True``)."""
KEY_COLUMNS = {"ip": "ip", "session": "session_id"}
LOGIN_PATHS = frozenset({"/api/auth/login", "/login"})
CART_ADD_PATHS = frozenset({"/api/cart", "/cart/add"})
OPERATOR_PREFIX = "/operator"
"""Operator pages live under this prefix; changes to the catalogue through ``/api/products`` are operator routes too."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOOL_AGENT = re.compile(
    r"curl|wget|python|httpx|aiohttp|go-http|okhttp|java/|libwww|perl|ruby|php|scrapy|spider|crawl|bot\b|bot/"
    r"|sqlmap|nikto|nmap|masscan|zgrab|nuclei|headless|phantomjs|selenium|postman|insomnia|axios|node-fetch|httpie",
    re.IGNORECASE,
)
"""User agents of scripts, libraries, crawlers and scanners; a missing or empty agent counts as tool-like too."""
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:-?\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})"
    r"(?=/|$)"
)
_REQUIRED = ("at", "method", "path", "status")
_US = 1_000_000
_DAY_US = 86_400 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)


@lru_cache(maxsize=8192)
def path_template(path: str) -> str:
    """The route a path belongs to: ids (numbers, UUIDs, long hex tokens) replaced by ``{id}``.

    A query string and a trailing slash are dropped, so that ``/api/products/7/`` and ``/api/products/7?x=1`` are
    the same route.

    Parameters
    ----------
    path : str
        The request path, as the monitor records it.

    Returns
    -------
    str
        The path template.

    Examples
    --------
    >>> path_template("/api/products/123")
    '/api/products/{id}'
    >>> path_template("/cart/42/quantity")
    '/cart/{id}/quantity'
    >>> path_template("/api/products/categories")
    '/api/products/categories'
    >>> path_template("/orders/0f8fad5b-d9cb-469f-a165-70867728950e/")
    '/orders/{id}'
    """
    path = path.split("?", 1)[0]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return _ID_SEGMENT.sub("{id}", path)


def is_tool_agent(user_agent: object) -> bool:
    """Whether a user agent is missing or names a script, library, crawler or scanner.

    Examples
    --------
    >>> is_tool_agent("python-requests/2.32.3"), is_tool_agent(None), is_tool_agent("Mozilla/5.0 (X11; Linux)")
    (True, True, False)
    """
    if not isinstance(user_agent, str):
        return True
    return _is_tool_text(user_agent)


@lru_cache(maxsize=4096)
def _is_tool_text(user_agent: str) -> bool:
    return not user_agent.strip() or TOOL_AGENT.search(user_agent) is not None


@lru_cache(maxsize=8192)
def _route_traits(method: str, path: str) -> tuple[str, str, bool, bool, bool, bool]:
    """Path without query, template, and whether the request is a POST, a login, a cart add, an operator route."""
    path = path.split("?", 1)[0]
    template = path_template(path)
    method = method.upper()
    post = method == "POST"
    operator_route = template.startswith(OPERATOR_PREFIX) or (
        method not in SAFE_METHODS and template.startswith("/api/products")
    )
    return path, template, post, post and template in LOGIN_PATHS, post and template in CART_ADD_PATHS, operator_route


def window_length_us(window: object, *, name: str = "window") -> int:
    """A window length (``"60s"``, a Timedelta or a number of seconds) in whole microseconds, or a clear error."""
    try:
        return _cached_length_us(window, name)
    except TypeError:  # unhashable: parse it without the cache
        return _length_us(window, name)


@lru_cache(maxsize=64)
def _cached_length_us(window: object, name: str) -> int:
    # Parsing "60s" costs more than the rest of an online window; the detector asks with the same few values.
    return _length_us(window, name)


def _length_us(window: object, name: str) -> int:
    try:
        if isinstance(window, (int, float)) and not isinstance(window, bool):
            delta = pd.Timedelta(seconds=window)
        else:
            delta = pd.Timedelta(window)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a duration such as '60s' or a number of seconds; got {window!r}.") from error
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration such as '60s'; got {window!r}.")
    return int(delta // pd.Timedelta(microseconds=1))


def _epoch_us(at: pd.Series) -> np.ndarray:
    """Aware (or naive, read as UTC) times as integer microseconds since the Unix epoch."""
    stamps = pd.to_datetime(at, utc=True)
    if stamps.isna().any():
        raise ValueError("requests has a missing or unreadable time in column 'at'; every request needs one.")
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)).to_numpy(dtype=np.int64)


def _check_requests(requests: object, key_column: str | None) -> None:
    if not isinstance(requests, pd.DataFrame):
        raise TypeError(
            f"requests must be a pandas DataFrame with the request log's columns; got {type(requests).__name__}."
        )
    needed = (*_REQUIRED, key_column) if key_column else _REQUIRED
    missing = [column for column in needed if column not in requests]
    if missing:
        raise ValueError(
            f"requests is missing column(s) {missing}; expected the request log's columns "
            f"(at, ip, method, path, query, status, ...), got {list(requests.columns)}."
        )


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[column].fillna("").astype("str")


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame))
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)


def _record_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-request values the window features add up, computed once for the whole frame."""
    method = _text(frame, "method").str.upper()
    path = _text(frame, "path").str.split("?", n=1).str[0]
    templates = path.map(path_template)
    status = _number(frame, "status")
    agent = frame["user_agent"] if "user_agent" in frame else pd.Series(None, index=frame.index, dtype=object)
    # Category is a str Enum, whose str() is its qualified name, not its value.
    category = (frame["category"].map(lambda value: getattr(value, "value", value)) if "category" in frame
                else pd.Series("", index=frame.index))
    is_post = (method == "POST").to_numpy()
    operator_route = templates.str.startswith(OPERATOR_PREFIX) | (
        ~method.isin(SAFE_METHODS) & templates.str.startswith("/api/products")
    )
    return {
        "path": path.to_numpy(dtype=object),
        "template": templates.to_numpy(dtype=object),
        "agent": agent.fillna("").astype("str").to_numpy(dtype=object),
        "is_4xx": (status >= 400) & (status < 500),
        "is_5xx": (status >= 500) & (status < 600),
        "is_401": status == 401,
        "is_post": is_post,
        "is_login": is_post & templates.isin(LOGIN_PATHS).to_numpy(),
        "is_cart_add": is_post & templates.isin(CART_ADD_PATHS).to_numpy(),
        "latency": _number(frame, "latency_ms"),
        "response_bytes": _number(frame, "response_bytes"),
        "is_tool": agent.map(is_tool_agent).to_numpy(dtype=bool),
        "is_operator": operator_route.to_numpy(dtype=bool),
        "query_length": _text(frame, "query").str.len().to_numpy(dtype=np.float64),
        "is_warning": (category == "warning").to_numpy(),
        "is_anomaly": (category == "anomaly").to_numpy(),
    }


def _window_slices(requests: pd.DataFrame, by: str, window: object, step: object):
    """The windows of every key: the sorted requests and, per window, its key, end and ``[lo, hi)`` rows.

    Returns
    -------
    sorted_requests : DataFrame
        The requests with a key, sorted by key and time.
    t_us : ndarray of int64
        Their times in microseconds since the epoch.
    key_codes : ndarray of int64
        Their key as a code into ``keys``.
    keys : Index
        The distinct keys.
    window_key, window_end_us, lo, hi : ndarray of int64
        Per window: the key code, the end and the rows of ``sorted_requests`` in ``(end - window, end]``.
    """
    if by not in KEY_COLUMNS:
        raise ValueError(f"by must be one of {sorted(KEY_COLUMNS)}; got {by!r}.")
    key_column = KEY_COLUMNS[by]
    _check_requests(requests, key_column)
    window_us = window_length_us(window)
    step_us = window_us if step is None else window_length_us(step, name="step")
    if step_us > window_us:
        raise ValueError(f"step must not be longer than window (windows would skip requests); got {step!r}.")
    frame = requests[requests[key_column].notna()]
    codes, keys = pd.factorize(frame[key_column], sort=True)
    t_all = _epoch_us(frame["at"]) if len(frame) else np.zeros(0, dtype=np.int64)
    order = np.lexsort((t_all, codes))
    frame = frame.iloc[order]
    t_us, key_codes = t_all[order], codes[order].astype(np.int64)
    # A request at t lies in the windows whose end k * step satisfies t <= k * step < t + window.
    k_first = -((-t_us) // step_us)
    k_last = -((-(t_us + window_us)) // step_us) - 1
    n = len(t_us)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return frame, t_us, key_codes, keys, empty, empty, empty, empty
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (key_codes[1:] != key_codes[:-1]) | (k_first[1:] > k_last[:-1])
    run_of = np.cumsum(new_run) - 1
    run_starts = np.flatnonzero(new_run)
    run_ends = np.r_[run_starts[1:], n] - 1
    run_a, run_b = k_first[run_starts], k_last[run_ends]
    lengths = run_b - run_a + 1
    window_run = np.repeat(np.arange(len(run_starts)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    window_k = run_a[window_run] + offsets
    # Runs are numbered in row order and each spans fewer than `span` grid steps, so (run, k) sorts as one integer.
    span = int(lengths.max()) + 2
    first_key = run_of * span + (k_first - run_a[run_of])
    last_key = run_of * span + (k_last - run_a[run_of])
    window_code = window_run * span + offsets
    hi = np.searchsorted(first_key, window_code, side="right")
    lo = np.searchsorted(last_key, window_code - 1, side="right")
    window_key = key_codes[run_starts][window_run]
    return frame, t_us, key_codes, keys, window_key, window_k * step_us, lo, hi


def _range_sum(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    prefix = np.concatenate([[0], np.cumsum(values, dtype=np.float64)])
    return prefix[hi] - prefix[lo]


def _distinct_counts(values: np.ndarray, key_codes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distinct ``values`` among rows ``[lo, hi)`` of each window: rows whose previous equal value is before ``lo``."""
    codes = pd.factorize(values)[0]
    rows = pd.Series(np.arange(len(codes)))
    previous = rows.groupby([key_codes, codes]).shift(1).fillna(-1).to_numpy(dtype=np.int64)
    if len(lo) == 0:
        return np.zeros(0)
    # Windows one step apart tile the rows, each row in exactly one window: a weighted count does it at once.
    if lo[0] == 0 and hi[-1] == len(codes) and np.array_equal(lo[1:], hi[:-1]):
        owner = np.repeat(np.arange(len(lo)), hi - lo)
        first_seen = previous < lo[owner]
        return np.bincount(owner, weights=first_seen, minlength=len(lo))
    return np.array([np.count_nonzero(previous[a:b] < a) for a, b in zip(lo, hi)], dtype=np.float64)


def _hour_angle(end_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    angle = 2.0 * np.pi * (np.mod(end_us, _DAY_US) / _DAY_US)
    return np.sin(angle), np.cos(angle)


def window_features(requests, by="ip", window="60s", step=None, *, include_rules=False):
    """One row of features per key (IP or session) and window end, from a request log.

    Parameters
    ----------
    requests : pandas.DataFrame
        The request log: the columns of :class:`~unseen.monitor.records.RequestRecord` without ``payload``. ``at``,
        ``method``, ``path``, ``status`` and the key column are required; missing optional columns count as empty.
        Rows need not be in time order.
    by : {"ip", "session"}, default="ip"
        Whose windows: per ``ip`` or per ``session_id`` (requests without a session are left out).
    window : str, Timedelta or float, default="60s"
        Window length; a number is seconds.
    step : str, Timedelta, float or None, default=None
        Distance between window ends; ``None`` means ``window`` (windows that do not overlap). Must not exceed
        ``window``.
    include_rules : bool, default=False
        Add :data:`RULE_FEATURE_NAMES`, the shares of rule warnings and anomalies.

    Returns
    -------
    pandas.DataFrame
        The key column (``ip`` or ``session_id``), ``window_start`` and ``window_end`` (UTC), then
        :data:`FEATURE_NAMES` (and the rule features) as floats; sorted by key and window end.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "at": pd.to_datetime(["2026-11-20 10:00:05", "2026-11-20 10:00:15", "2026-11-20 10:00:45",
    ...                           "2026-11-20 10:01:10"], utc=True),
    ...     "ip": ["10.0.0.1"] * 4, "method": ["GET", "POST", "POST", "GET"],
    ...     "path": ["/products/3", "/api/auth/login", "/api/auth/login", "/products/4"],
    ...     "status": [200, 401, 200, 200]})
    >>> windows = window_features(log, window="60s")
    >>> windows["window_end"].dt.strftime("%H:%M").tolist()
    ['10:01', '10:02']
    >>> windows[["n_requests", "n_path_templates", "share_401", "login_attempts"]].round(3).to_dict("list")
    {'n_requests': [3.0, 1.0], 'n_path_templates': [2.0, 1.0], 'share_401': [0.333, 0.0], 'login_attempts': [2.0, 0.0]}
    >>> windows[["interarrival_mean_s", "interarrival_max_s", "requests_per_second"]].round(3).to_dict("list")
    {'interarrival_mean_s': [20.0, 60.0], 'interarrival_max_s': [30.0, 60.0], 'requests_per_second': [0.05, 0.0]}
    """
    frame, t_us, key_codes, keys, window_key, end_us, lo, hi = _window_slices(requests, by, window, step)
    window_us = window_length_us(window)
    names = FEATURE_NAMES + (RULE_FEATURE_NAMES if include_rules else ())
    key_column = KEY_COLUMNS[by]
    ends = pd.to_datetime(end_us, unit="us", utc=True)
    out = pd.DataFrame({
        key_column: keys.take(window_key) if len(keys) else pd.Index([], dtype=requests[key_column].dtype),
        "window_start": ends - pd.Timedelta(microseconds=window_us),
        "window_end": ends,
    })
    if len(end_us) == 0:
        for name in names:
            out[name] = np.zeros(0)
        return out
    features = _slice_features(frame, t_us, key_codes, lo, hi, end_us, window_us, include_rules)
    for name in names:
        out[name] = features[name]
    return out


def _slice_features(frame, t_us, key_codes, lo, hi, end_us, window_us, include_rules) -> dict[str, np.ndarray]:
    """The features of the windows ``[lo, hi)`` of ``frame`` (sorted by key and time), ending at ``end_us``."""
    columns = _record_columns(frame)
    n = (hi - lo).astype(np.float64)
    window_s = window_us / _US
    # Gaps between a request and the one before it from the same key; a window's gaps are rows lo + 1 .. hi - 1.
    gaps = np.zeros(len(t_us))
    gaps[1:] = np.diff(t_us) / _US
    gaps[1:][key_codes[1:] != key_codes[:-1]] = 0.0
    span = (t_us[hi - 1] - t_us[lo]) / _US
    several = n >= 2
    bounds = np.empty(2 * len(lo), dtype=np.int64)
    bounds[0::2], bounds[1::2] = np.minimum(lo + 1, len(t_us)), hi
    padded = np.r_[gaps, 0.0]
    gap_max = np.maximum.reduceat(padded, bounds)[0::2]
    gap_square_sum = np.add.reduceat(padded**2, bounds)[0::2]
    intervals = np.maximum(n - 1, 1)
    gap_mean = span / intervals
    gap_sd = np.sqrt(np.maximum(gap_square_sum / intervals - gap_mean**2, 0.0))
    features = {
        "n_requests": n,
        "requests_per_second": (n - 1) / np.maximum(span, 1.0),
        "n_paths": _distinct_counts(columns["path"], key_codes, lo, hi),
        "n_path_templates": _distinct_counts(columns["template"], key_codes, lo, hi),
        "share_4xx": _range_sum(columns["is_4xx"], lo, hi) / n,
        "share_5xx": _range_sum(columns["is_5xx"], lo, hi) / n,
        "share_401": _range_sum(columns["is_401"], lo, hi) / n,
        "share_post": _range_sum(columns["is_post"], lo, hi) / n,
        "login_attempts": _range_sum(columns["is_login"], lo, hi),
        "cart_adds": _range_sum(columns["is_cart_add"], lo, hi),
        "interarrival_mean_s": np.where(several, gap_mean, window_s),
        "interarrival_max_s": np.where(several, gap_max, window_s),
        "interarrival_cv": np.where(several & (gap_mean > 0), gap_sd / np.where(gap_mean > 0, gap_mean, 1.0), 0.0),
        "latency_mean_ms": _range_sum(columns["latency"], lo, hi) / n,
        "response_bytes_mean": _range_sum(columns["response_bytes"], lo, hi) / n,
        "share_tool_agent": _range_sum(columns["is_tool"], lo, hi) / n,
        "n_user_agents": _distinct_counts(columns["agent"], key_codes, lo, hi),
        "share_operator_routes": _range_sum(columns["is_operator"], lo, hi) / n,
        "query_length_mean": _range_sum(columns["query_length"], lo, hi) / n,
    }
    features["hour_sin"], features["hour_cos"] = _hour_angle(end_us)
    if include_rules:
        features["share_rule_warning"] = _range_sum(columns["is_warning"], lo, hi) / n
        features["share_rule_anomaly"] = _range_sum(columns["is_anomaly"], lo, hi) / n
    return {name: np.asarray(values, dtype=np.float64) for name, values in features.items()}


def _record_time_us(at: datetime) -> int:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return (at - _EPOCH) // _ONE_US


def _end_us(end: object) -> int:
    if isinstance(end, datetime):
        return _record_time_us(end)
    stamp = pd.Timestamp(end)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return int((stamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))


def features_for_window(records, *, window="60s", end=None, include_rules=False):
    """The features of ONE key's current window, for the online detector.

    Parameters
    ----------
    records : list of RequestRecord or pandas.DataFrame
        The requests of one IP or session that the caller keeps for this window, in any order. Those outside
        ``(end - window, end]`` are ignored.
    window : str, Timedelta or float, default="60s"
        Window length, as in :func:`window_features`.
    end : datetime, Timestamp or None, default=None
        Where the window ends; ``None`` means at the latest record (the request being judged).
    include_rules : bool, default=False
        Append the rule features.

    Returns
    -------
    ndarray of shape (n_features,)
        In the order of :data:`FEATURE_NAMES` (then :data:`RULE_FEATURE_NAMES`); the same numbers
        :func:`window_features` gives for the same window.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from unseen.monitor.records import RequestRecord
    >>> at = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
    >>> records = [RequestRecord(at=at.replace(second=s), ip="10.0.0.9", method="POST", path="/api/auth/login",
    ...                          status=401, user_agent="python-requests/2.32") for s in range(0, 50, 5)]
    >>> x = features_for_window(records)
    >>> dict(zip(FEATURE_NAMES[:9], x[:9].round(3).tolist()))  # doctest: +NORMALIZE_WHITESPACE
    {'n_requests': 10.0, 'requests_per_second': 0.2, 'n_paths': 1.0, 'n_path_templates': 1.0, 'share_4xx': 1.0,
     'share_5xx': 0.0, 'share_401': 1.0, 'share_post': 1.0, 'login_attempts': 10.0}
    """
    window_us = window_length_us(window)
    if isinstance(records, pd.DataFrame):
        return _frame_window(records, window_us, end, include_rules)
    if not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of RequestRecord or a DataFrame; got {type(records).__name__}.")
    try:
        times = [(record.at - _EPOCH) // _ONE_US for record in records]
    except TypeError:  # a naive time among them: read as UTC, one at a time
        times = [_record_time_us(record.at) for record in records]
    if not times:
        raise ValueError("records is empty; a window needs at least the request being judged.")
    end_us = max(times) if end is None else _end_us(end)
    start_us = end_us - window_us
    inside = sorted((i for i, t in enumerate(times) if start_us < t <= end_us), key=times.__getitem__)
    if not inside:
        raise ValueError("no record falls inside the window (end - window, end]; check end and window.")
    n = len(inside)
    paths, templates, agents = set(), set(), set()
    n_4xx = n_5xx = n_401 = n_post = logins = cart_adds = tools = operator = warnings = anomalies = 0
    latency = response_bytes = query_length = 0.0
    for i in inside:
        record = records[i]
        path, template, post, login, cart_add, operator_route = _route_traits(record.method, record.path)
        status = record.status
        agent = record.user_agent
        paths.add(path)
        templates.add(template)
        agents.add(agent or "")
        if 400 <= status < 500:
            n_4xx += 1
            n_401 += status == 401
        elif 500 <= status < 600:
            n_5xx += 1
        n_post += post
        logins += login
        cart_adds += cart_add
        operator += operator_route
        tools += _is_tool_text(agent) if isinstance(agent, str) else True
        latency += record.latency_ms or 0.0
        response_bytes += record.response_bytes or 0
        query_length += len(record.query or "")
        category = record.category
        if category == "warning":
            warnings += 1
        elif category == "anomaly":
            anomalies += 1
    row = [float(n), 0.0, float(len(paths)), float(len(templates)), n_4xx / n, n_5xx / n, n_401 / n, n_post / n,
           float(logins), float(cart_adds), 0.0, 0.0, 0.0, latency / n, response_bytes / n, tools / n,
           float(len(agents)), operator / n, query_length / n]
    _fill_timing(row, [times[i] for i in inside], window_us)
    angle = 2.0 * math.pi * ((end_us % _DAY_US) / _DAY_US)
    row += [math.sin(angle), math.cos(angle)]
    if include_rules:
        row += [warnings / n, anomalies / n]
    return np.array(row, dtype=np.float64)


def _fill_timing(row: list[float], times_us: list[int], window_us: int) -> None:
    """Rate and inter-arrival features from sorted times, the same arithmetic as the batch path."""
    n = len(times_us)
    span = (times_us[-1] - times_us[0]) / _US
    row[1] = (n - 1) / max(span, 1.0)
    if n < 2:
        row[10] = row[11] = window_us / _US
        return
    gaps = [(b - a) / _US for a, b in zip(times_us, times_us[1:])]
    mean = span / (n - 1)
    square_sum = 0.0
    for gap in gaps:
        square_sum += gap * gap
    sd = math.sqrt(max(square_sum / (n - 1) - mean * mean, 0.0))
    row[10], row[11] = mean, max(gaps)
    row[12] = sd / mean if mean > 0 else 0.0


def _frame_window(frame: pd.DataFrame, window_us: int, end: object, include_rules: bool) -> np.ndarray:
    """One key's window from a frame, through the batch code with a single window."""
    _check_requests(frame, None)
    if len(frame) == 0:
        raise ValueError("records is empty; a window needs at least the request being judged.")
    t_us = _epoch_us(frame["at"])
    end_us = int(t_us.max()) if end is None else _end_us(end)
    inside = (t_us > end_us - window_us) & (t_us <= end_us)
    if not inside.any():
        raise ValueError("no record falls inside the window (end - window, end]; check end and window.")
    order = np.argsort(t_us[inside], kind="stable")
    n = int(inside.sum())
    features = _slice_features(frame[inside].iloc[order], t_us[inside][order], np.zeros(n, dtype=np.int64),
                               np.array([0]), np.array([n]), np.array([end_us]), window_us, include_rules)
    names = FEATURE_NAMES + (RULE_FEATURE_NAMES if include_rules else ())
    return np.array([features[name][0] for name in names])
