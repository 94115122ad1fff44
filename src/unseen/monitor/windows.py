"""Sliding-window counts per client (IP, session, account), bounded in memory and safe to share between threads.

A :class:`SlidingWindowCounter` keeps, per key, counts in time buckets of ``resolution_seconds``; a count over a
window adds the buckets that overlap it, so it is exact up to one bucket at the window's old edge, where it may count
a little *more* than happened (the safe side for a security rule). Buckets older than the horizon are dropped as
keys are touched, keys that fall silent are swept out oldest first, and the number of keys is capped with
least-recently-used eviction, so memory stays bounded however many clients appear.

:class:`StatusShareTracker` remembers the last N answers per key and tells how many were client errors (4xx).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import datetime

__all__ = ["SlidingWindowCounter", "StatusShareTracker"]

Instant = datetime | float
"""A moment: an aware datetime or seconds since the epoch."""

_SWEEP_EVERY = 8
_SWEEP_PER_CALL = 32
"""Every ``_SWEEP_EVERY`` adds, up to ``_SWEEP_PER_CALL`` silent keys are removed, oldest first: more than keys
are created, so silent keys cannot pile up, and a constant amount of work per add."""


def _seconds(at: Instant) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


class _Buckets:
    __slots__ = ("indices", "counts", "total")

    def __init__(self) -> None:
        self.indices: deque[int] = deque()
        self.counts: deque[float] = deque()
        self.total: float = 0


class SlidingWindowCounter:
    """Counts of events per key over sliding windows up to ``horizon_seconds`` long.

    Parameters
    ----------
    horizon_seconds : float
        The longest window that will be asked for; older events are forgotten.
    resolution_seconds : float, optional
        Bucket width; defaults to a twentieth of the horizon.
    max_keys : int
        Keys kept at most; the least recently updated key goes first.

    Examples
    --------
    >>> counter = SlidingWindowCounter(horizon_seconds=60)
    >>> for t in (0.0, 10.0, 20.0):
    ...     counter.add("10.0.0.1", t)
    >>> counter.count("10.0.0.1", now=20.0, window_seconds=60)
    3
    >>> counter.count("10.0.0.1", now=200.0, window_seconds=60)
    0
    """

    def __init__(self, horizon_seconds: float, resolution_seconds: float | None = None, max_keys: int = 100_000):
        if horizon_seconds <= 0:
            raise ValueError(f"horizon_seconds must be positive, got {horizon_seconds!r}")
        resolution = resolution_seconds if resolution_seconds is not None else horizon_seconds / 20
        if not 0 < resolution <= horizon_seconds:
            raise ValueError(f"resolution_seconds must be in (0, horizon_seconds={horizon_seconds}], "
                             f"got {resolution!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys!r}")
        self.horizon_seconds = float(horizon_seconds)
        self.resolution_seconds = float(resolution)
        self.max_keys = max_keys
        self._span = math.ceil(self.horizon_seconds / self.resolution_seconds)  # buckets that can overlap the horizon
        self._keys: OrderedDict[object, _Buckets] = OrderedDict()
        self._adds = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: object, at: Instant, value: float = 1) -> None:
        """Record ``value`` events for ``key`` at ``at``."""
        seconds = _seconds(at)
        with self._lock:
            self._add(key, seconds, value)

    def count(self, key: object, now: Instant, window_seconds: float | None = None) -> float:
        """Events of ``key`` in the window ``(now - window_seconds, now]`` (the whole horizon by default)."""
        seconds = _seconds(now)
        window = self._window(window_seconds)
        with self._lock:
            return self._count(key, seconds, window)

    def observe(self, key: object, at: Instant, window_seconds: float | None = None, value: float = 1) -> float:
        """``add`` then ``count`` at the same moment, in one step (what a rule that counts its own event needs)."""
        seconds = _seconds(at)
        window = self._window(window_seconds)
        with self._lock:
            self._add(key, seconds, value)
            return self._count(key, seconds, window)

    def _window(self, window_seconds: float | None) -> float:
        window = self.horizon_seconds if window_seconds is None else window_seconds
        if not 0 < window <= self.horizon_seconds:
            raise ValueError(f"window_seconds must be in (0, {self.horizon_seconds}], got {window_seconds!r}")
        return window

    def _add(self, key: object, seconds: float, value: float) -> None:
        index = math.floor(seconds / self.resolution_seconds)
        buckets = self._keys.get(key)
        if buckets is None:
            buckets = self._keys[key] = _Buckets()
            if len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        indices = buckets.indices
        if indices and indices[-1] == index:
            buckets.counts[-1] += value
        elif not indices or indices[-1] < index:
            indices.append(index)
            buckets.counts.append(value)
        else:  # an event older than the newest one (records from several threads): find or make its bucket
            self._insert_late(buckets, index, value)
        buckets.total += value
        if indices[0] < indices[-1] - self._span:
            self._expire(buckets, indices[-1])
        self._adds += 1
        if not self._adds % _SWEEP_EVERY:
            self._sweep(index)

    def _count(self, key: object, seconds: float, window: float) -> float:
        buckets = self._keys.get(key)
        if buckets is None:
            return 0
        self._expire(buckets, math.floor(seconds / self.resolution_seconds))
        oldest = math.floor((seconds - window) / self.resolution_seconds)
        if not buckets.indices or buckets.indices[0] >= oldest:
            return buckets.total
        total = 0
        for index, value in zip(reversed(buckets.indices), reversed(buckets.counts)):
            if index < oldest:
                break
            total += value
        return total

    def forget(self, key: object) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def _expire(self, buckets: _Buckets, newest_index: int) -> None:
        cutoff = newest_index - self._span
        while buckets.indices and buckets.indices[0] < cutoff:
            buckets.indices.popleft()
            buckets.total -= buckets.counts.popleft()

    def _sweep(self, newest_index: int) -> None:
        cutoff = newest_index - self._span
        for _ in range(_SWEEP_PER_CALL):
            key, buckets = next(iter(self._keys.items()))
            if buckets.indices and buckets.indices[-1] >= cutoff:
                return
            del self._keys[key]

    @staticmethod
    def _insert_late(buckets: _Buckets, index: int, value: float) -> None:
        for position in range(len(buckets.indices) - 1, -1, -1):
            if buckets.indices[position] == index:
                buckets.counts[position] += value
                return
            if buckets.indices[position] < index:
                buckets.indices.insert(position + 1, index)
                buckets.counts.insert(position + 1, value)
                return
        buckets.indices.appendleft(index)
        buckets.counts.appendleft(value)


class _Answers:
    __slots__ = ("times", "errors", "error_count")

    def __init__(self, size: int) -> None:
        self.times: deque[float] = deque(maxlen=size)
        self.errors: deque[bool] = deque(maxlen=size)
        self.error_count = 0


class StatusShareTracker:
    """The share of client errors (4xx) among the last ``last_n`` answers to a key within ``horizon_seconds``.

    Examples
    --------
    >>> tracker = StatusShareTracker(last_n=10, horizon_seconds=60)
    >>> for t, status in enumerate([200, 404, 404, 200]):
    ...     tracker.add("10.0.0.1", float(t), status)
    >>> tracker.share("10.0.0.1", now=3.0)
    (4, 2)
    """

    def __init__(self, last_n: int, horizon_seconds: float, max_keys: int = 100_000):
        if last_n < 1:
            raise ValueError(f"last_n must be at least 1, got {last_n!r}")
        if horizon_seconds <= 0:
            raise ValueError(f"horizon_seconds must be positive, got {horizon_seconds!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys!r}")
        self.last_n = last_n
        self.horizon_seconds = float(horizon_seconds)
        self.max_keys = max_keys
        self._keys: OrderedDict[object, _Answers] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: object, at: Instant, status: int) -> None:
        """Remember one answer with HTTP ``status`` to ``key`` at ``at``."""
        seconds = _seconds(at)
        error = 400 <= status < 500
        with self._lock:
            answers = self._keys.get(key)
            if answers is None:
                answers = self._keys[key] = _Answers(self.last_n)
                if len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
            else:
                self._keys.move_to_end(key)
            if len(answers.errors) == self.last_n:
                answers.error_count -= answers.errors[0]  # about to fall out of the deque
            answers.times.append(seconds)
            answers.errors.append(error)
            answers.error_count += error
            self._expire(answers, seconds)
            for _ in range(_SWEEP_PER_CALL):
                oldest_key, oldest = next(iter(self._keys.items()))
                if oldest.times and oldest.times[-1] > seconds - self.horizon_seconds:
                    break
                del self._keys[oldest_key]

    def observe(self, key: object, at: Instant, status: int) -> tuple[int, int]:
        """``add`` then ``share`` at the same moment."""
        self.add(key, at, status)
        return self.share(key, at)

    def share(self, key: object, now: Instant) -> tuple[int, int]:
        """``(answers, client errors)`` among the last ``last_n`` answers to ``key`` within the horizon."""
        seconds = _seconds(now)
        with self._lock:
            answers = self._keys.get(key)
            if answers is None:
                return 0, 0
            self._expire(answers, seconds)
            return len(answers.times), answers.error_count

    def _expire(self, answers: _Answers, seconds: float) -> None:
        cutoff = seconds - self.horizon_seconds
        while answers.times and answers.times[0] <= cutoff:
            answers.times.popleft()
            answers.error_count -= answers.errors.popleft()
