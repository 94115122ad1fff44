"""Benchmark the recommenders: MovieLens 100k quality against the SAR reference, and request latency at shop scale.

Run from the repository root:

    .venv/bin/python bench/bench_recommend.py            # full run (about a minute)
    .venv/bin/python bench/bench_recommend.py --quick    # small synthetic shop, for a smoke test
    .venv/bin/python bench/bench_recommend.py --tune     # redo the parameter search on a validation split

Part 1 follows Microsoft Recommenders' MovieLens protocol (75/25 split per user, seed 42, top 10,
every test item relevant, seen items removed). The item-kNN parameters are the ones a search on a
validation split carved out of the training part picked (``--tune`` repeats it), not the ones
that look best on the test part.

Part 2 fits on a synthetic shop (power-law item popularity, users with a favourite category) and
times ``recommend()`` for users with about 20 items, the path a cache miss takes, against a read
of :class:`RecommendationCache`, the path a cache hit takes.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

from unseen.ml.recommend import (
    SAR_REFERENCE,
    ItemKNNRecommender,
    PopularityRecommender,
    RecommendationCache,
    evaluate_top_k,
    load_movielens_100k,
    stratified_split,
)
from unseen.ml.recommend import MOVIELENS_PARAMETERS

# Chosen by --tune: best validation nDCG@10 (train split 75/25 again with seed 7).
CHOSEN_PARAMETERS = MOVIELENS_PARAMETERS
TUNING_GRID = {
    "similarity": ["cosine", "jaccard"],
    "n_neighbors": [5, 10, 20, 40, 200],
    "shrinkage": [0.0, 10.0, 50.0, 100.0],
    "similarity_power": [0.5, 1.0],
}
VALIDATION_SEED = 7

console = Console(width=110)


def tune(train: pd.DataFrame) -> dict:
    """Pick item-kNN parameters by nDCG@10 on a validation split of ``train``."""
    fit_part, validation = stratified_split(train, seed=VALIDATION_SEED)
    grid = [dict(zip(TUNING_GRID, values)) for values in itertools.product(*TUNING_GRID.values())]
    scored = []
    for parameters in track(grid, description="tuning on validation", console=console):
        report = evaluate_top_k(ItemKNNRecommender(**parameters), fit_part, validation, weight=None)
        scored.append((report["ndcg"], parameters))
    scored.sort(key=lambda pair: -pair[0])
    table = Table(title="Validation nDCG@10, best five")
    table.add_column("parameters")
    table.add_column("nDCG@10", justify="right")
    for ndcg, parameters in scored[:5]:
        table.add_row(str(parameters), f"{ndcg:.4f}")
    console.print(table)
    return scored[0][1]


def movielens(tune_first: bool) -> None:
    ratings = load_movielens_100k()
    train, test = stratified_split(ratings, ratio=0.75, seed=42)
    parameters = tune(train) if tune_first else CHOSEN_PARAMETERS
    console.print(f"item-kNN parameters: {parameters}")
    models = {
        "ItemKNN, every rating weighs 1": (ItemKNNRecommender(**parameters), None),
        "ItemKNN, rating as weight": (ItemKNNRecommender(**parameters), "rating"),
        "Popularity": (PopularityRecommender(), None),
    }
    table = Table(title=f"MovieLens 100k, top 10 ({len(train)} train / {len(test)} test ratings)")
    for column in ("model", "P@10", "R@10", "nDCG@10", "MAP", "coverage", "fit s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, (model, weight) in models.items():
        report = evaluate_top_k(model, train, test, k=10, weight=weight)
        table.add_row(
            name,
            *(f"{report[key]:.4f}" for key in ("precision", "recall", "ndcg", "map")),
            f"{report['coverage']:.3f}",
            f"{report['fit_seconds']:.2f}",
        )
    table.add_row(
        "SAR (Recommenders' table)",
        *(f"{SAR_REFERENCE[key]:.4f}" for key in ("precision", "recall", "ndcg", "map")),
        "",
        "",
    )
    console.print(table)


def synthetic_shop(
    n_users: int, n_items: int, n_interactions: int, n_categories: int = 50, seed: int = 0
) -> pd.DataFrame:
    """Distinct (user, item) pairs with power-law item popularity and user activity.

    Item ``i`` has popularity rank ``i`` (weight ``1 / (i + 1)**0.9``) and category
    ``i % n_categories``; a user draws 70% of their items from a favourite category. Weights are
    1 (view) to 6 (purchase).
    """
    rng = np.random.default_rng(seed)
    activity = rng.pareto(2.0, n_users) + 1.0
    activity /= activity.sum()
    favourite = rng.integers(0, n_categories, n_users)
    per_category = -(-n_items // n_categories)
    global_weights = 1.0 / np.arange(1, n_items + 1) ** 0.9
    global_weights /= global_weights.sum()
    within_weights = 1.0 / np.arange(1, per_category + 1) ** 0.9
    within_weights /= within_weights.sum()

    pairs = np.empty(0, dtype=np.int64)
    while len(pairs) < n_interactions:
        size = int((n_interactions - len(pairs)) * 1.2) + 1000
        users = rng.choice(n_users, size, p=activity)
        items = rng.choice(n_items, size, p=global_weights)
        in_category = rng.random(size) < 0.7
        ranks = rng.choice(per_category, size, p=within_weights)
        items = np.where(in_category, ranks * n_categories + favourite[users], items)
        valid = items < n_items
        pairs = np.unique(np.concatenate([pairs, users[valid] * n_items + items[valid]]))
    pairs = rng.permutation(pairs)[:n_interactions]
    return pd.DataFrame(
        {
            "user_id": pairs // n_items,
            "item_id": pairs % n_items,
            "weight": rng.choice([1.0, 3.0, 4.0, 6.0], len(pairs), p=[0.7, 0.1, 0.12, 0.08]),
        }
    )


def percentiles_us(seconds: list[float]) -> tuple[str, str]:
    p50, p99 = np.percentile(np.asarray(seconds) * 1e6, [50, 99])
    return f"{p50:,.1f}", f"{p99:,.1f}"


def latency(n_users: int, n_items: int, n_interactions: int, n_requests: int, n_neighbors: int) -> None:
    started = time.perf_counter()
    interactions = synthetic_shop(n_users, n_items, n_interactions)
    generated = time.perf_counter() - started
    console.print(
        f"synthetic shop: {interactions.user_id.nunique():,} users, {interactions.item_id.nunique():,} items, "
        f"{len(interactions):,} interactions (generated in {generated:.1f} s)"
    )
    model = ItemKNNRecommender(n_neighbors=n_neighbors, similarity="cosine", shrinkage=10.0)
    console.print(f"fitting {model!r}")
    started = time.perf_counter()
    model.fit(interactions)
    fit_seconds = time.perf_counter() - started
    # A second fit under tracemalloc, which sees numpy's and scipy's array buffers, for the peak
    # memory fitting itself needs (the timed fit above runs without its overhead).
    tracemalloc.start()
    ItemKNNRecommender(n_neighbors=n_neighbors, similarity="cosine", shrinkage=10.0).fit(interactions)
    fit_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    similarity = model.similarity_
    similarity_mb = (similarity.data.nbytes + similarity.indices.nbytes + similarity.indptr.nbytes) / 2**20

    # Requests come from users holding about 20 items, taken from the data so they are realistic.
    histories = interactions.groupby("user_id")
    sizes = histories.size()
    candidates = sizes[(sizes >= 18) & (sizes <= 22)].index.to_numpy()
    rng = np.random.default_rng(1)
    chosen = rng.choice(candidates, min(n_requests, len(candidates)), replace=False)
    requests = {
        user: dict(zip(rows["item_id"].tolist(), rows["weight"].tolist(), strict=True))
        for user, rows in interactions[interactions["user_id"].isin(chosen)].groupby("user_id")
    }

    cache = RecommendationCache(max_users=len(requests))
    miss_times, miss_cpu_times, hit_times = [], [], []
    model.recommend(next(iter(requests.values())), n=10)  # warm-up of this code path
    for user, items in track(requests.items(), description="cache-miss requests", console=console):
        started, started_cpu = time.perf_counter(), time.thread_time()
        recommendations = model.recommend(items, n=10)
        miss_times.append(time.perf_counter() - started)
        miss_cpu_times.append(time.thread_time() - started_cpu)
        cache.put(user, recommendations)
    for user in requests:
        started = time.perf_counter()
        cache.get(user)
        hit_times.append(time.perf_counter() - started)

    started = time.perf_counter()
    everyone = model.recommend_many(interactions, n=10)
    batch_seconds = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    table = Table(title=f"Item-kNN at shop scale ({n_items:,} items, {n_users:,} users, {len(interactions):,} interactions)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("fit time", f"{fit_seconds:.2f} s")
    table.add_row("peak memory allocated by fit (tracemalloc)", f"{fit_peak_mb:,.0f} MB")
    table.add_row("peak process memory incl. data generation (RSS)", f"{peak_rss_mb:,.0f} MB")
    table.add_row("similarity_ nonzeros / size", f"{similarity.nnz:,} / {similarity_mb:.1f} MB")
    table.add_row("requests timed", f"{len(requests):,} users with 18-22 items")
    p50, p99 = percentiles_us(miss_times)
    table.add_row("recommend() p50 / p99 wall time (cache miss)", f"{p50} / {p99} µs")
    # CPU time of the calling thread leaves out time the process waited for a core, which on a
    # busy machine is what the wall-clock p99 mostly measures.
    p50, p99 = percentiles_us(miss_cpu_times)
    table.add_row("recommend() p50 / p99 CPU time (cache miss)", f"{p50} / {p99} µs")
    p50, p99 = percentiles_us(hit_times)
    table.add_row("RecommendationCache.get p50 / p99 wall time (cache hit)", f"{p50} / {p99} µs")
    table.add_row(
        f"recommend_many, all {len(everyone):,} users",
        f"{batch_seconds:.1f} s ({batch_seconds / len(everyone) * 1e6:,.0f} µs per user)",
    )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="synthetic shop users (default 100000)")
    parser.add_argument("--items", type=int, default=10_000, help="synthetic shop items (default 10000)")
    parser.add_argument("--interactions", type=int, default=2_000_000, help="synthetic interactions (default 2000000)")
    parser.add_argument("--requests", type=int, default=2_000, help="timed recommend() calls (default 2000)")
    parser.add_argument("--neighbors", type=int, default=100, help="n_neighbors at shop scale (default 100)")
    parser.add_argument("--quick", action="store_true", help="shrink the synthetic shop to 10k users, 2k items, 200k interactions")
    parser.add_argument("--tune", action="store_true", help="search the MovieLens parameters on a validation split first")
    parser.add_argument("--skip-movielens", action="store_true", help="run only the latency part")
    parser.add_argument("--skip-latency", action="store_true", help="run only the MovieLens part")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.users, arguments.items, arguments.interactions = 10_000, 2_000, 200_000
        arguments.requests = min(arguments.requests, 500)

    if not arguments.skip_movielens:
        movielens(arguments.tune)
    if not arguments.skip_latency:
        latency(arguments.users, arguments.items, arguments.interactions, arguments.requests, arguments.neighbors)


if __name__ == "__main__":
    main()
