"""A small per-user cache of recommendation lists, for the shop's request path."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class RecommendationCache:
    """Bounded, thread-safe, least-recently-used cache of recommendations per user.

    The shop stores a user's list after computing it and invalidates it when that user's cart or
    favourites change, so the next request folds the new items in. When full, the least recently
    read or written user is evicted. Call :meth:`clear` after refitting the model.

    Parameters
    ----------
    max_users : int, default=10_000
        Most users kept at once.

    Attributes
    ----------
    hits, misses : int
        How many :meth:`get` calls found, or did not find, a list.

    Examples
    --------
    >>> cache = RecommendationCache(max_users=2)
    >>> cache.put("ann", [("p1", 0.9)])
    >>> cache.put("bob", [("p2", 0.8)])
    >>> cache.get("ann")
    [('p1', 0.9)]
    >>> cache.put("cid", [("p3", 0.7)])  # evicts bob, read least recently
    >>> cache.get("bob") is None, len(cache)
    (True, 2)
    >>> cache.invalidate("ann")
    >>> cache.get("ann") is None
    True
    """

    def __init__(self, max_users: int = 10_000):
        if isinstance(max_users, bool) or not isinstance(max_users, int) or max_users < 1:
            raise ValueError(f"max_users must be a positive integer; got {max_users!r}.")
        self.max_users = max_users
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: Hashable) -> Any | None:
        """The cached list of ``user_id``, or None when there is none."""
        with self._lock:
            try:
                recommendations = self._entries[user_id]
            except KeyError:
                self.misses += 1
                return None
            self._entries.move_to_end(user_id)
            self.hits += 1
            return recommendations

    def put(self, user_id: Hashable, recommendations: Any) -> None:
        """Store ``recommendations`` for ``user_id``, evicting the least recently used user if full."""
        with self._lock:
            self._entries[user_id] = recommendations
            self._entries.move_to_end(user_id)
            while len(self._entries) > self.max_users:
                self._entries.popitem(last=False)

    def invalidate(self, user_id: Hashable) -> None:
        """Forget ``user_id``'s list; a user with none is not an error."""
        with self._lock:
            self._entries.pop(user_id, None)

    def clear(self) -> None:
        """Forget every list, for example after the model was refitted."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, user_id: Hashable) -> bool:
        with self._lock:
            return user_id in self._entries
