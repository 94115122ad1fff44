"""The anomaly model in the monitor: each IP's and each session's last window of requests, scored online by the
promoted :class:`~unseen.ml.anomaly.WindowModel` (``unseen train anomaly`` builds it from the request log).

The monitor's thread calls :class:`OnlineModel` once per tick with the records it has just judged by the rules.
Every key those records touched is scored at most every ``min_interval_s`` seconds, all keys of a kind in one call
to the detector. A window the model finds anomalous ``confirmations`` times in a row (so a lone odd window never
acts) adds ``severity`` points to the latest record of that key, with reason codes ``model:<feature>`` for the
features that were most unusual, and gets the anomaly kind those features point to (many requests fast: a flood;
failed logins: password guessing; ...), so the same automatic actions apply as for the rules.

Rules and model combine by points, as CRS adds up its rules: the model's points join those of the rules that fired
on the same request, and the sum decides the category (the record's ``score`` stays the rules' own points). With the
default ``severity`` of 5 (critical) a confirmed anomaly of an IP's window is an anomaly by itself; a session's
window adds ``session_severity`` points, 3 by default: a warning that needs one rule's warning beside it to act.
The two differ because what they catch differs. An IP's window is where the attacks the rules miss show (a bot
under every rate limit, a flood spread over many addresses); a session's window is one shopper's own visit, where
the harm the model can prevent (cart spam) already has its rule, and where a legitimate buyer who fills a basket
quickly is the unusual window. In the mixed simulation the session model alone terminated a wholesale buyer's
session in one run out of a few (its threshold is the highest held-out score of a short clean day, and the
overlapping windows of one burst confirm each other), while it never was the first to act on an attacker.
Every scored record keeps the model's score (``model_score``), anomalous or not, for the dashboard and the
evaluation.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from unseen.monitor.records import Category, RequestRecord

log = logging.getLogger(__name__)

Source = Callable[[], tuple[Any, Any] | None]
"""Gives ``(version, WindowModel)`` of the promoted anomaly model, or None (see :class:`unseen.ml.serving.PromotedModel`)."""


class ModelSettings(BaseModel):
    """How the monitor uses the anomaly model (``Settings.anomaly_model``; ``UNSEEN_ANOMALY_MODEL__ENABLED=false``)."""

    enabled: bool = True
    """Score windows with the promoted ``anomaly`` model when there is one."""
    min_interval_s: float = Field(default=1.0, ge=0)
    """A key is scored at most this often (its newest record is the one scored)."""
    confirmations: int = Field(default=2, ge=1)
    """Anomalous scores in a row before the model's verdict counts."""
    severity: int = Field(default=5, ge=1)
    """Points a confirmed anomaly of an IP's window adds to the record's rule score (5: critical, an anomaly by
    itself)."""
    session_severity: int = Field(default=3, ge=1)
    """Points a confirmed anomaly of a session's window adds (3: a warning, an anomaly beside a rule's warning)."""
    max_keys: int = Field(default=50_000, ge=1)
    """IPs and sessions followed at most; the least recently seen go first."""
    max_records: int = Field(default=300, ge=2)
    """Records kept per key: enough for any shopper's minute; a flood's window keeps its newest."""
    explain: int = Field(default=3, ge=1, le=10)
    """How many of the most unusual features name the anomaly."""


@dataclass(slots=True)
class Seen:
    """What the window features need of one request (a light copy: no payload, no reasons)."""

    at: datetime
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    user_agent: str | None
    response_bytes: int
    category: str

    @classmethod
    def of(cls, record: RequestRecord) -> Seen:
        return cls(record.at, record.method, record.path, record.query[:1000], record.status, record.latency_ms,
                   record.user_agent, record.response_bytes, record.category.value)


class _Key:
    __slots__ = ("seen", "streak", "scored_at", "last_at")

    def __init__(self, max_records: int) -> None:
        self.seen: deque[Seen] = deque(maxlen=max_records)
        self.streak = 0
        self.scored_at: float = float("-inf")
        self.last_at: float = float("-inf")


class OnlineModel:
    """Windows per key, scored in batches by the promoted model; callable with one tick's judged records."""

    def __init__(self, source: Source, settings: ModelSettings | None = None, *, warning_score: int = 3,
                 anomaly_score: int = 5):
        self.source = source
        self.settings = settings or ModelSettings()
        self.warning_score, self.anomaly_score = warning_score, anomaly_score
        self._keys: OrderedDict[tuple[str, object], _Key] = OrderedDict()
        self._version: str | None = None
        self.scored = self.flagged = 0

    def __call__(self, records: list[RequestRecord]) -> None:
        if not self.settings.enabled or not records:
            return
        served = self.source()
        if served is None:
            return
        version, model = served
        if version.version != self._version:  # another model: its verdicts start afresh
            self._version = version.version
            for key in self._keys.values():
                key.streak = 0
        window = timedelta(seconds=_seconds(model.window))
        latest: dict[tuple[str, object], RequestRecord] = {}
        for record in records:
            if record.blocked:
                continue  # refused: says nothing about what the client gets to do
            seen = Seen.of(record)
            for kind, value in (("ip", record.ip), ("session", record.session_id)):
                if value is None or kind not in model.detectors:
                    continue
                key = (kind, value)
                state = self._keys.get(key)
                if state is None:
                    state = self._keys[key] = _Key(self.settings.max_records)
                else:
                    self._keys.move_to_end(key)
                state.seen.append(seen)
                state.last_at = record.at.timestamp()
                latest[key] = record
        if not latest:
            return
        newest = max(record.at for record in latest.values())
        self._forget(newest - window)
        self._score(model, latest, window, newest.timestamp())

    def _forget(self, before: datetime) -> None:
        cutoff = before.timestamp()
        while self._keys:
            key, state = next(iter(self._keys.items()))
            if state.last_at > cutoff and len(self._keys) <= self.settings.max_keys:
                break
            del self._keys[key]

    def _score(self, model, latest: dict[tuple[str, object], RequestRecord], window: timedelta, now: float) -> None:
        from unseen.ml.anomaly import features_for_window

        due: dict[str, list[tuple[tuple[str, object], RequestRecord]]] = {}
        for key, record in latest.items():
            state = self._keys.get(key)
            if state is None or now - state.scored_at < self.settings.min_interval_s:
                continue
            if len(state.seen) < model.min_requests:
                continue  # too few to call anomalous: not worth a score
            due.setdefault(key[0], []).append((key, record))
        for kind, items in due.items():
            rows = []
            for key, record in items:
                state = self._keys[key]
                start = record.at - window
                while state.seen and state.seen[0].at <= start:
                    state.seen.popleft()
                rows.append(features_for_window(list(state.seen), window=window.total_seconds(), end=record.at))
            verdicts = model.judge(kind, rows, explain=self.settings.explain)
            self.scored += len(verdicts)
            for (key, record), verdict in zip(items, verdicts, strict=True):
                state = self._keys[key]
                state.scored_at = now
                record.model_score = max(record.model_score or verdict.score, verdict.score)
                state.streak = state.streak + 1 if verdict.anomalous else 0
                if state.streak >= self.settings.confirmations:
                    self.flagged += 1
                    self._apply(record, verdict, kind)

    def _apply(self, record: RequestRecord, verdict, kind: str) -> None:
        reasons = [f"model:{e.feature}" for e in verdict.explanations]
        record.explanation = [{"feature": e.feature, "value": round(e.value, 4), "typical": round(e.typical, 4),
                               "z": round(e.z, 2), "key": kind} for e in verdict.explanations]
        record.reasons = list(record.reasons) + [r for r in reasons if r not in record.reasons]
        severity = self.settings.severity if kind == "ip" else self.settings.session_severity
        points = record.score + severity  # ``score`` itself stays the rules' points
        was_anomaly = record.category is Category.anomaly
        category = (Category.anomaly if points >= self.anomaly_score else
                    Category.warning if points >= self.warning_score else Category.normal)
        if _RANK[category] > _RANK[record.category]:  # the IP's verdict and the session's: the graver one stands
            record.category = category
        if record.category is Category.anomaly and not (was_anomaly and record.anomaly_kind):
            record.anomaly_kind = verdict.kind
        log.debug("model anomaly %s %s: %.3f > %.3f (%s)", kind, record.ip, verdict.score, verdict.threshold,
                  ", ".join(reasons))


_RANK = {Category.normal: 0, Category.warning: 1, Category.anomaly: 2}


def _seconds(window: object) -> float:
    import pandas as pd

    return pd.Timedelta(window).total_seconds() if not isinstance(window, (int, float)) else float(window)
