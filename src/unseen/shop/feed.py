"""What the feed shows a visitor. For now: popular products, ranked by recent sales.

The ranking is cached per category for ``ttl_seconds``: popularity moves slowly, and recomputing the sales
aggregate on every feed request would make the busiest page the most expensive one.
"""

from __future__ import annotations

import threading
import time

from sqlmodel import Session

from unseen.shop import crud
from unseen.tables import Product


class PopularityRanking:
    """Product ids by recent sales, per category, recomputed at most every ``ttl_seconds`` (0 disables the cache)."""

    def __init__(self, *, ttl_seconds: float = 30.0, days: int = 90):
        self.ttl_seconds = ttl_seconds
        self.days = days
        self._cache: dict[str | None, tuple[float, list[int]]] = {}
        self._lock = threading.Lock()

    def ranked_ids(self, session: Session, category: str | None = None) -> list[int]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(category)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        ids = crud.popular_product_ids(session=session, category=category, days=self.days)
        with self._lock:
            if len(self._cache) > 500:  # categories are few; anything else is someone probing with made-up names
                self._cache.clear()
            self._cache[category] = (now, ids)
        return ids

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def products(self, session: Session, *, category: str | None = None, offset: int = 0, limit: int = 24) -> list[Product]:
        ids = self.ranked_ids(session, category)[offset:offset + limit]
        return crud.products_by_ids(session=session, ids=ids)
