"""The request log of the anomaly study (notebook 02): the synthetic log with a bot net added that the per-IP rules
cannot see by construction, and the monitor's rules replayed over it request by request.

Every attack of :func:`~unseen.ml.anomaly.synthetic_requests` trips some rule sooner or later. The attack that the
per-address rules cannot see is missing, so :func:`add_distributed_flood` adds it: a bot net whose every address
stays under the rate rules' limits (the simulator's ``flood_distributed`` at a lower rate per bot). That lets the
study ask what the models add to the rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from unseen.monitor.records import RequestRecord
from unseen.monitor.rules import RuleEngine, RuleThresholds

from ._features import window_features
from ._synthetic import BROWSER_AGENTS, N_PRODUCTS, NORMAL

__all__ = ["DISTRIBUTED_FLOOD", "add_distributed_flood", "flagged_by_rules", "judge_with_rules", "peak_requests"]

DISTRIBUTED_FLOOD = "flood_distributed"
"""The label of the bot net's requests, the name the simulator gives the same attack."""
_FLOOD_TARGETS = (("/", ""), ("/api/products", "page=1"), ("/api/products", "page=2"), ("/api/feed", ""))


def add_distributed_flood(log, *, bots=20, rate=(0.5, 1.5), duration_s=(120.0, 300.0), floods=1,
                          attack_after=0.5, period=None, random_state=0):
    """Return ``log`` with ``floods`` bot nets added, each of ``bots`` addresses that stay under the rate rules' limits.

    Each bot sends GET requests to the shop's busiest pages at its own rate, drawn uniformly from ``rate`` per
    second (exponential gaps), with a browser's user agent, for the bot net's length drawn from ``duration_s``. At
    the default rates a bot averages at most 90 requests a minute, and its busiest minute stays under the 120 of
    ``flood-long``; its busiest second is far under the 20 of ``flood-short``. The shop answers every request: the
    flood is meant to be bearable per address and heavy in sum.

    Parameters
    ----------
    log : pandas.DataFrame
        A log from :func:`~unseen.ml.anomaly.synthetic_requests` (its columns and an ``attack`` label).
    bots : int, default=20
        Addresses per bot net, none of them in ``log`` already.
    rate : (float, float), default=(0.5, 1.5)
        Range of each bot's requests per second.
    duration_s : (float, float), default=(120.0, 300.0)
        Range of each bot net's length in seconds.
    floods : int, default=1
        Bot nets, each at its own time.
    attack_after : float, default=0.5
        Share of the period before which no bot net starts (so the earlier part stays normal-only).
    period : (Timestamp, Timestamp) or None, default=None
        Start and end of the period; None means the log's first and last request. Pass the ``start`` and
        ``start + hours`` given to :func:`~unseen.ml.anomaly.synthetic_requests` so that ``attack_after`` means the
        same moment for both (the first and last request of a log lie inside its period, not on its edges).
    random_state : int, default=0
        Seed.

    Returns
    -------
    pandas.DataFrame
        ``log``'s rows and the bot nets' (``attack == "flood_distributed"``), in time order, with ``log``'s dtypes.

    Examples
    --------
    >>> from unseen.ml.anomaly import synthetic_requests
    >>> log = synthetic_requests(20, attacks=[], hours=2, random_state=0)
    >>> both = add_distributed_flood(log, bots=5, random_state=0)
    >>> bots = both[both["attack"] == "flood_distributed"]
    >>> bots["ip"].nunique(), bool(bots["at"].min() >= log["at"].min() + (log["at"].max() - log["at"].min()) / 2)
    (5, True)
    >>> bool(peak_requests(bots, 60.0).max() <= 120), len(both) == len(log) + len(bots)
    (True, True)
    """
    _check_flood_arguments(bots, rate, duration_s, floods, attack_after, period)
    rng = np.random.default_rng(random_state)
    first, last = (log["at"].min(), log["at"].max()) if period is None else (_utc(moment) for moment in period)
    seconds = (last - first).total_seconds()
    taken = set(log["ip"].unique())
    parts = []
    for _ in range(floods):
        length = float(rng.uniform(*duration_s))
        start = float(rng.uniform(attack_after * seconds, max(attack_after * seconds, seconds - length)))
        for _ in range(bots):
            ip = _bot_address(rng, taken)
            per_second = float(rng.uniform(*rate))
            offset = float(rng.uniform(0.0, 1.0 / per_second))
            gaps = rng.exponential(1.0 / per_second, int(per_second * length * 1.5) + 10)
            times = start + offset + np.cumsum(gaps)
            times = times[times < start + length]
            n = len(times)
            if n == 0:
                continue
            targets = rng.integers(len(_FLOOD_TARGETS), size=n)
            products = rng.random(n) < 0.2
            paths = np.array([_FLOOD_TARGETS[t][0] for t in targets], dtype=object)
            queries = np.array([_FLOOD_TARGETS[t][1] for t in targets], dtype=object)
            paths[products] = [f"/api/products/{int(p)}" for p in rng.integers(1, N_PRODUCTS + 1, products.sum())]
            queries[products] = ""
            parts.append(pd.DataFrame({
                "at": first + pd.to_timedelta(np.round(times * 1e6), unit="us"), "ip": ip, "method": "GET",
                "path": paths, "query": queries, "status": 200,
                "latency_ms": np.round(40.0 * rng.lognormal(0.0, 0.45, n), 2),
                "user_agent": str(rng.choice(BROWSER_AGENTS)), "referer": None, "user_id": pd.NA,
                "session_id": pd.NA, "role": None, "request_bytes": 0,
                "response_bytes": rng.integers(2_000, 30_000, n), "category": NORMAL, "score": 0, "reasons": "[]",
                "anomaly_kind": None, "model_score": np.nan, "blocked": False, "attack": DISTRIBUTED_FLOOD,
            }))
    if not parts:
        return log.copy()
    added = pd.concat(parts, ignore_index=True)[list(log.columns)].astype(log.dtypes.to_dict())
    both = pd.concat([log, added], ignore_index=True)
    return both.sort_values(["at", "ip"], kind="stable").reset_index(drop=True)


def _check_flood_arguments(bots, rate, duration_s, floods, attack_after, period) -> None:
    for name, value in (("bots", bots), ("floods", floods)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}.")
    for name, pair in (("rate", rate), ("duration_s", duration_s)):
        if (not isinstance(pair, Sequence) or len(pair) != 2 or not all(isinstance(v, Real) for v in pair)
                or not 0 < pair[0] <= pair[1]):
            raise ValueError(f"{name} must be a pair (low, high) with 0 < low <= high; got {pair!r}.")
    if not isinstance(attack_after, Real) or not 0 <= attack_after < 1:
        raise ValueError(f"attack_after must be a share of the period in [0, 1); got {attack_after!r}.")
    if period is not None and (len(period) != 2 or not _utc(period[0]) < _utc(period[1])):
        raise ValueError(f"period must be a pair (start, end) with start before end; got {period!r}.")


def _utc(moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _bot_address(rng: np.random.Generator, taken: set[str]) -> str:
    while True:
        ip = f"{rng.integers(11, 223)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
        if ip not in taken:
            taken.add(ip)
            return ip


def peak_requests(log, seconds):
    """The most requests each IP made within any ``seconds`` (the count the rate rules compare with their limits).

    Examples
    --------
    >>> start = pd.Timestamp("2026-11-20 10:00", tz="UTC")
    >>> log = pd.DataFrame({"ip": ["a", "a", "a", "b"], "at": start + pd.to_timedelta([0.0, 0.5, 2.0, 0.0], unit="s")})
    >>> peak_requests(log, 1.0).to_dict()
    {'a': 2, 'b': 1}
    """
    frame = log[["ip", "at"]].sort_values(["ip", "at"], kind="stable")
    peaks = {}
    for ip, times in frame.groupby("ip", sort=True)["at"]:
        t = (times - times.iloc[0]).dt.total_seconds().to_numpy()
        # Requests in (t - seconds, t] for every request t: the window that ends at it.
        peaks[ip] = int((np.arange(len(t)) + 1 - np.searchsorted(t, t - seconds, side="right")).max())
    return pd.Series(peaks, name=f"peak_requests_{seconds:g}s", dtype=np.int64)


def _text(value) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else str(value)


def judge_with_rules(log, thresholds=None):
    """Replay the log through the monitor's rule engine, request by request in time order.

    Parameters
    ----------
    log : pandas.DataFrame
        A request log with the columns of :data:`~unseen.ml.anomaly.LOG_COLUMNS`. The columns ``at``, ``ip``,
        ``method``, ``path``, ``query``, ``status``, ``user_agent``, ``session_id`` and ``role`` are read. Bodies and
        the account a login named are not in it, so the rules on payloads and on failures per account stay silent.
    thresholds : RuleThresholds or None, default=None
        The rules' thresholds; None means the shop's defaults.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``log``: ``category`` (normal, warning, anomaly), ``score``, ``reasons`` (a JSON list) and
        ``anomaly_kind`` as the rules decided them.

    Examples
    --------
    Thirty requests in 0.6 s from one address: the 21st within a second breaks ``flood-short`` (20 a second).

    >>> log = pd.DataFrame({
    ...     "at": pd.date_range("2026-11-20 10:00", periods=30, freq="20ms", tz="UTC"), "ip": "10.0.0.7",
    ...     "method": "GET", "path": "/", "query": "", "status": 200, "user_agent": "Mozilla/5.0",
    ...     "session_id": pd.NA, "role": None})
    >>> verdicts = judge_with_rules(log)
    >>> verdicts["category"].value_counts().to_dict(), verdicts["anomaly_kind"].iloc[-1]
    ({'normal': 20, 'anomaly': 10}, 'flood')
    """
    engine = RuleEngine(thresholds or RuleThresholds())
    order = np.argsort(log["at"].to_numpy(), kind="stable")
    rows = log.iloc[order]
    categories, scores, reasons, kinds = [], [], [], []
    columns = ["at", "ip", "method", "path", "query", "status", "user_agent", "session_id", "role"]
    for at, ip, method, path, query, status, agent, session, role in rows[columns].itertuples(index=False):
        record = RequestRecord(at=at.to_pydatetime(), ip=str(ip), method=str(method), path=str(path),
                               query=_text(query) or "", status=int(status), user_agent=_text(agent),
                               session_id=None if pd.isna(session) else int(session), role=_text(role))
        engine.observe_and_judge(record)
        categories.append(record.category.value)
        scores.append(record.score)
        reasons.append(json.dumps(record.reasons))
        kinds.append(record.anomaly_kind)
    verdicts = pd.DataFrame({"category": pd.Series(categories, dtype="str"), "score": pd.Series(scores, dtype=np.int64),
                             "reasons": pd.Series(reasons, dtype="str"), "anomaly_kind": pd.Series(kinds, dtype="str")})
    return verdicts.set_axis(rows.index).reindex(log.index)


def flagged_by_rules(log, categories, *, by="ip", window="60s", step=None, flagged=("anomaly",)):
    """Which windows of :func:`~unseen.ml.anomaly.window_features` hold a request the rules put in ``flagged``.

    Parameters
    ----------
    log : pandas.DataFrame
        The request log the windows are made from.
    categories : array-like of str
        The rules' category of every request of ``log`` (``judge_with_rules(log)["category"]``).
    by, window, step
        As passed to :func:`~unseen.ml.anomaly.window_features`.
    flagged : sequence of {"warning", "anomaly"}, default=("anomaly",)
        The categories that count.

    Returns
    -------
    ndarray of bool
        One entry per window, in the row order of ``window_features(log, by, window, step)``.
    """
    unknown = set(flagged) - {"warning", "anomaly"}
    if unknown or not flagged:
        raise ValueError(f"flagged must name 'warning' and/or 'anomaly'; got {list(flagged)!r}.")
    windows = window_features(log.assign(category=np.asarray(categories)), by=by, window=window, step=step,
                              include_rules=True)
    share = sum(windows[f"share_rule_{category}"].to_numpy() for category in flagged)
    return share > 0
