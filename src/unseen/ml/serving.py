"""The promoted model of a task, as a serving process sees it: loaded once, swapped when a new one is promoted.

The API holds one :class:`PromotedModel` per task. Each request asks it for the current model; at most every
``poll_seconds`` that looks at the registry's fingerprint (one small file) and, when another version was promoted,
loads it and swaps the reference. Requests in flight keep the model object they already got, so nothing fails
during a swap, and training never runs in the request path.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from unseen.ml.registry import ModelRegistry, ModelVersion, RegistryError

log = logging.getLogger(__name__)


class PromotedModel:
    """Thread-safe holder of a task's promoted model, reloaded when the registry's pointer changes.

    Parameters
    ----------
    registry : ModelRegistry
    task : str
    poll_seconds : float
        Least time between two looks at the registry; 0 looks on every call.
    """

    def __init__(self, registry: ModelRegistry, task: str, *, poll_seconds: float = 5.0):
        self.registry = registry
        self.task = task
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._checked_at = float("-inf")
        self._looked = False
        # One reference to a (version, model) pair, replaced whole: a reader never sees half of a swap.
        self._served: tuple[ModelVersion, Any] | None = None
        self.swaps = 0

    def get(self) -> tuple[ModelVersion, Any] | None:
        """The promoted version and its model, or None when nothing is promoted (or it cannot be loaded)."""
        now = time.monotonic()
        if now - self._checked_at >= self.poll_seconds:
            self._refresh(now)
        return self._served

    def _refresh(self, now: float) -> None:
        # Until the first look is done every caller waits for it; afterwards a caller that finds another thread
        # looking serves what is there instead of queueing behind a model load.
        if not self._lock.acquire(blocking=not self._looked):
            return
        try:
            if self._looked and now - self._checked_at < self.poll_seconds:
                return
            self._checked_at = now
            try:
                fingerprint = self.registry.fingerprint(self.task)
            except (RegistryError, OSError) as exc:
                log.warning("cannot read the registry pointer of %s: %s", self.task, exc)
                return
            if fingerprint == self._fingerprint:
                return
            if fingerprint is None:
                self._fingerprint, self._served = None, None
                return
            try:
                version, model = self.registry.load_promoted(self.task)
            except (RegistryError, OSError) as exc:
                # Keep serving the model we have: a broken new version must not take the feed down.
                log.error("cannot load the promoted %s model (%s); keeping version %s", self.task, exc,
                          self._served[0].version if self._served else None)
                self._fingerprint = fingerprint
                return
            self._served, self._fingerprint = (version, model), fingerprint
            self.swaps += 1
            log.info("serving %s model version %s", self.task, version.version)
        finally:
            self._looked = True
            self._lock.release()
