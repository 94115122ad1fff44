"""Latency of one personal feed request at shop scale: 10k products, 100k users, 2M interactions (synthetic).

    python bench/bench_feed.py [--items 10000 --users 100000 --interactions 2000000 --requests 300]

Fits item-kNN on the synthetic interactions, registers and promotes it, and puts 10k products and one shopper with
20 recent events in a temporary SQLite shop. Then it times ``Feed.page`` exactly as ``GET /api/feed`` calls it:
a cache miss (the shopper's stamp is read, their events loaded and folded into the model, the list ranked and the
page's products loaded) and a cache hit (the stamp is read and the cached list's page loaded). The popularity page
of an anonymous visitor is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_recommend import synthetic_shop  # noqa: E402
from unseen.db import create_schema, make_engine  # noqa: E402
from unseen.ml.recommend import ItemKNNRecommender  # noqa: E402
from unseen.ml.registry import ModelRegistry  # noqa: E402
from unseen.ml.serving import PromotedModel  # noqa: E402
from unseen.shop.feed import Feed, PopularityRanking  # noqa: E402
from unseen.tables import Event, EventKind, Product, User, utcnow  # noqa: E402


def percentiles(ms: list[float]) -> tuple[float, float, float]:
    return tuple(float(np.percentile(ms, q)) for q in (50, 90, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--neighbors", type=int, default=30)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    console = Console()

    with console.status("generating interactions"):
        interactions = synthetic_shop(args.users, args.items, args.interactions)
        interactions["item_id"] += 1  # product ids start at 1
    started = time.perf_counter()
    model = ItemKNNRecommender(n_neighbors=args.neighbors, similarity="cosine", shrinkage=10.0).fit(interactions)
    fit_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="unseen-feed-") as tmp:
        registry = ModelRegistry(Path(tmp) / "models")
        version = registry.register("recommend", model, params={"n_neighbors": args.neighbors}, metrics={},
                                    data_range=("synthetic", "synthetic"), n_samples=len(interactions))
        registry.promote("recommend", version.version)
        engine = make_engine(f"sqlite:///{tmp}/shop.db")
        create_schema(engine)
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(insert(Product.__table__), [
                dict(sku=f"B{i:06d}", name=f"Product {i}", category=f"Category {i % 50}", price_cents=100 + i % 5000,
                     stock=10, description="", created_at=now, updated_at=now) for i in range(1, args.items + 1)])
        with Session(engine) as session:
            shopper = User(email="bench@example.com", full_name="Bench", password_hash="-")
            session.add(shopper)
            session.commit()
            rng = np.random.default_rng(1)
            kinds = [EventKind.view] * 12 + [EventKind.cart_add] * 4 + [EventKind.favourite_add] * 4
            for i, kind in enumerate(kinds):  # 20 recent events, mostly in two categories
                product = int(rng.choice([7, 57, 107, 157, 207, 12, 62, 112, 162, 1234, 4321]))
                session.add(Event(kind=kind, user_id=shopper.id, product_id=product, at=now - timedelta(hours=i)))
            session.commit()
            user_id = shopper.id

        serving = PromotedModel(registry, "recommend", poll_seconds=5.0)
        feed = Feed(popularity=PopularityRanking(ttl_seconds=30.0), model=serving.get)
        timings: dict[str, list[float]] = {"popular (anonymous, baseline)": [], "personal, cache miss": [],
                                           "personal, cache hit": []}
        with Session(engine) as session:
            feed.page(session, user_id=user_id, category=None, offset=0, limit=24)  # warm: model load, ranking
            for _ in range(args.requests):
                for name, user, clear in (("popular (anonymous, baseline)", None, False),
                                          ("personal, cache miss", user_id, True),
                                          ("personal, cache hit", user_id, False)):
                    if clear:
                        feed.cache.clear()
                    started = time.perf_counter()
                    page = feed.page(session, user_id=user, category=None, offset=0, limit=24)
                    timings[name].append((time.perf_counter() - started) * 1000)
                    assert len(page.items) == 24 and page.strategy == ("personal" if user else "popular")
        engine.dispose()

    table = Table(title=f"Feed.page at {args.items:,} products, {args.users:,} users, {len(interactions):,} "
                        f"interactions; item-kNN with {args.neighbors} neighbours fitted in {fit_s:.1f} s")
    for column in ("request", "p50 ms", "p90 ms", "p99 ms", "vs baseline p50"):
        table.add_column(column, justify="left" if column == "request" else "right")
    base = percentiles(timings["popular (anonymous, baseline)"])[0]
    for name, ms in timings.items():
        p50, p90, p99 = percentiles(ms)
        table.add_row(name, f"{p50:.2f}", f"{p90:.2f}", f"{p99:.2f}", f"{p50 / base:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
