"""What the feed shows a visitor: personal recommendations for a logged-in user with history, popular products
otherwise.

Popularity is a ranking by recent sales, cached per category for ``ttl_seconds``: it moves slowly, and
recomputing the sales aggregate on every request would make the busiest page the most expensive one.

Personal recommendations fold the user's own events into the promoted item-kNN model (no retraining). The result is
cached per user under a stamp, the id of the user's latest cart, favourite or purchase event: a change there makes
a new stamp, so the very next request recomputes, in every worker process, with no invalidation messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlmodel import Session

from unseen.ml.recommend import RecommendationCache
from unseen.ml.recommend._shop import user_weights
from unseen.shop import crud
from unseen.tables import Product, utcnow

CANDIDATES = 200
"""How many personal recommendations are computed at once (pages and category filters slice them)."""


class PopularityRanking:
    """Product ids by recent sales, per category, recomputed at most every ``ttl_seconds`` (0 disables the cache)."""

    def __init__(self, *, ttl_seconds: float = 30.0, days: int = 90):
        self.ttl_seconds = ttl_seconds
        self.days = days
        self._cache: dict[str | None, tuple[float, list[int], frozenset[int]]] = {}
        self._lock = threading.Lock()

    def ranked_ids(self, session: Session, category: str | None = None) -> list[int]:
        return self._entry(session, category)[1]

    def available(self, session: Session, category: str | None = None) -> frozenset[int]:
        """The same ids as a set: active and in stock (as of the ranking's last refresh)."""
        return self._entry(session, category)[2]

    def _entry(self, session: Session, category: str | None) -> tuple[float, list[int], frozenset[int]]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(category)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached
        ids = crud.popular_product_ids(session=session, category=category, days=self.days)
        entry = (now, ids, frozenset(ids))
        with self._lock:
            if len(self._cache) > 500:  # categories are few; anything else is someone probing with made-up names
                self._cache.clear()
            self._cache[category] = entry
        return entry

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def products(self, session: Session, *, category: str | None = None, offset: int = 0, limit: int = 24) -> list[Product]:
        ids = self.ranked_ids(session, category)[offset:offset + limit]
        return crud.products_by_ids(session=session, ids=ids)


@dataclass
class FeedPage:
    strategy: str  # "personal" or "popular"
    items: list[Product]
    model_version: str | None = None


class Feed:
    """The feed of one shop process.

    Parameters
    ----------
    popularity : PopularityRanking
    model : callable returning ``(ModelVersion, recommender)`` or None
        The promoted recommender (see :class:`unseen.ml.serving.PromotedModel`); None means popular items only.
    cache : RecommendationCache
    """

    def __init__(self, *, popularity: PopularityRanking, model: Callable[[], tuple | None] | None = None,
                 cache: RecommendationCache | None = None):
        self.popularity = popularity
        self.model = model or (lambda: None)
        self.cache = cache or RecommendationCache(max_users=10_000)

    def personal_ids(self, session: Session, user_id: int) -> tuple[list[int], str | None]:
        """The user's recommended product ids, best first (empty without a model or without history)."""
        served = self.model()
        if served is None:
            return [], None
        version, recommender = served
        stamp = (crud.interest_stamp(session=session, user_id=user_id), version.version)
        cached = self.cache.get(user_id)
        if cached is not None and cached[0] == stamp:
            return cached[1], version.version
        events = crud.recent_product_events(session=session, user_id=user_id)
        ids: list[int] = []
        if events:
            frame = pd.DataFrame(events, columns=["product_id", "kind", "at"])
            frame["at"] = pd.to_datetime(frame["at"], utc=True)
            weights = user_weights(frame, reference_time=utcnow())
            in_cart_or_bought = {p for p, k, _ in events if k == "purchase"} | {
                item.product_id for item, _ in crud.get_cart(session=session, user_id=user_id)}
            if np.isin(np.fromiter(weights, dtype=np.int64), recommender.item_ids_).any():  # else: popular
                ids = [int(i) for i, _ in recommender.recommend(weights, n=CANDIDATES, exclude=in_cart_or_bought,
                                                                exclude_seen=False)]
        self.cache.put(user_id, (stamp, ids))
        return ids, version.version

    def page(self, session: Session, *, user_id: int | None, category: str | None, offset: int, limit: int) -> FeedPage:
        personal, version = self.personal_ids(session, user_id) if user_id is not None else ([], None)
        if not personal:
            return FeedPage("popular", self.popularity.products(session, category=category, offset=offset, limit=limit))
        available = self.popularity.available(session, category)  # active, in stock, in the category
        ranked = [i for i in personal if i in available]
        chosen = set(ranked)
        ranked += [i for i in self.popularity.ranked_ids(session, category) if i not in chosen]
        return FeedPage("personal", crud.products_by_ids(session=session, ids=ranked[offset:offset + limit]), version)
