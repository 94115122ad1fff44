"""Benchmark user behaviour clustering on the seeded shop: k-means (k by silhouette) against DBSCAN (eps at the knee
of the k-distance curve), then the named profiles of the clusters each one finds.

Run from the repository root:

    .venv/bin/python bench/bench_clustering.py                  # seeds a temporary shop of 400 customers first
    .venv/bin/python bench/bench_clustering.py --database-url sqlite:////tmp/cluster.db
    .venv/bin/python bench/bench_clustering.py --quick          # 60 customers, for a smoke test

Without ``--database-url`` the shop is seeded into a temporary SQLite file with ``unseen seed``'s defaults (seed 7,
400 customers, 26 months, 600 products) ending on ``--until`` (2026-11-21), so two runs print the same tables and
``unseen seed --until 2026-11-21`` builds the same shop. Features are built from every event and order, log-scaled
and standardised; both models see the same matrix. Stability is the mean adjusted Rand index between every pair of
five runs: on all users with five seeds (DBSCAN is deterministic, so 1 by construction), and on five random 90 %
subsets of the users, compared on the users two subsets share.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from unseen.config import Settings
from unseen.db import make_engine
from unseen.ml.clustering import (
    BehaviourDBSCAN,
    BehaviourFeatures,
    BehaviourKMeans,
    behaviour_features,
    cluster_profiles,
    compare_clusterings,
    k_distance_curve,
    knee_index,
    load_events,
    load_orders,
    name_clusters,
)
from unseen.simulate.seed import SeedParameters, seed

DEFAULT_UNTIL = date(2026, 11, 21)
MIN_SAMPLES = 5
PROFILE_COLUMNS = {  # column: (header, format)
    "size": ("users", "{:,.0f}"),
    "share": ("share", "{:.0%}"),
    "recency_days": ("recency d", "{:,.0f}"),
    "sessions": ("sessions", "{:,.1f}"),
    "purchases": ("orders", "{:,.1f}"),
    "monetary": ("spent", "{:,.0f}"),
    "basket_value": ("basket", "{:,.0f}"),
    "view_to_purchase": ("view>buy", "{:.3f}"),
    "mean_hour": ("hour", "{:.1f}"),
    "share_evening": ("evening", "{:.0%}"),
}

console = Console(width=180)


def seed_temporary_shop(folder: Path, customers: int, until: date, random_seed: int) -> str:
    """Seed a SQLite file in ``folder`` with ``unseen seed``'s defaults and return its URL."""
    url = f"sqlite:///{folder / 'shop.db'}"
    params = SeedParameters(seed=random_seed, customers=customers, until=until)
    if customers < 100:
        params = SeedParameters(seed=random_seed, customers=customers, months=24, products=60, until=until)
    engine = make_engine(url)
    with Progress(TextColumn("seeding: {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = seed(engine, Settings(), params, progress=progress)
    engine.dispose()
    console.print(f"seeded a temporary shop: {summary.customers:,} customers, {summary.sessions:,} sessions, "
                  f"{summary.orders:,} orders, {summary.events:,} events, {summary.first_day} to {summary.last_day}")
    return url


def selection_table(selection: pd.DataFrame, chosen: int) -> Table:
    table = Table(title="k-means: choosing k (silhouette, higher is better)")
    for column in ("k", "silhouette", "Davies-Bouldin", "inertia"):
        table.add_column(column, justify="right")
    for k, row in selection.iterrows():
        style = "bold" if k == chosen else None
        table.add_row(str(k), f"{row['silhouette']:.3f}", f"{row['davies_bouldin']:.3f}", f"{row['inertia']:,.0f}",
                      style=style)
    return table


def comparison_table(comparison: pd.DataFrame, n_seeds: int) -> Table:
    table = Table(title=f"k-means against DBSCAN on {n_seeds} seeds")
    headers = ["model", "clusters", "silhouette", "Davies-Bouldin", "noise share", f"ARI, {n_seeds} seeds",
               f"ARI, {n_seeds} x 90 % subsets", "fit time"]
    for header in headers:
        table.add_column(header, justify="left" if header == "model" else "right")
    for model, row in comparison.iterrows():
        table.add_row(str(model), f"{row['n_clusters']:.0f}", f"{row['silhouette']:.3f}",
                      f"{row['davies_bouldin']:.3f}", f"{row['noise_share']:.1%}", f"{row['stability_ari']:.3f}",
                      f"{row['stability_subsample_ari']:.3f}", f"{row['fit_seconds'] * 1000:,.0f} ms")
    return table


def profiles_table(title: str, profiles: pd.DataFrame, names: pd.Series) -> Table:
    table = Table(title=title)
    table.add_column("cluster", justify="right")
    table.add_column("name", no_wrap=True)
    for header, _ in PROFILE_COLUMNS.values():
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("top categories (share of views)", no_wrap=True)
    for label, row in profiles.iterrows():
        cells = [fmt.format(row[column]) if column in row else "" for column, (_, fmt) in PROFILE_COLUMNS.items()]
        table.add_row(str(label), names[label], *cells, row["top_categories"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="cluster this shop instead of seeding a temporary one")
    parser.add_argument("--customers", type=int, default=400, help="customers in the temporary shop (default 400)")
    parser.add_argument("--until", type=date.fromisoformat, default=DEFAULT_UNTIL,
                        help=f"last day of the temporary shop's history (default {DEFAULT_UNTIL})")
    parser.add_argument("--seed", type=int, default=7, help="seed of the temporary shop (default 7)")
    parser.add_argument("--seeds", type=int, default=5, help="runs for the stability columns (default 5)")
    parser.add_argument("--quick", action="store_true", help="a temporary shop of 60 customers and 60 products")
    args = parser.parse_args()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="unseen-clustering-") as folder:
        url = args.database_url
        if url is None:
            url = seed_temporary_shop(Path(folder), 60 if args.quick else args.customers, args.until, args.seed)
        engine = make_engine(url)
        with console.status("loading events and orders"):
            loading = time.perf_counter()
            events, orders = load_events(engine), load_orders(engine)
            loading = time.perf_counter() - loading
        engine.dispose()

    with console.status("building behaviour features"):
        building = time.perf_counter()
        features = behaviour_features(events, orders)
        X = BehaviourFeatures().fit_transform(features)
        building = time.perf_counter() - building
    console.print(f"{len(events):,} events and {len(orders):,} orders read in {loading:.1f} s; "
                  f"{features.shape[0]:,} users x {features.shape[1]} features built in {building:.1f} s")

    seeds = list(range(args.seeds))
    with console.status("fitting k-means and DBSCAN, five runs each"):
        comparison = compare_clusterings(X, seeds=seeds)
        kmeans = BehaviourKMeans(random_state=seeds[0]).fit(X)
        dbscan = BehaviourDBSCAN(min_samples=MIN_SAMPLES).fit(X)
    console.print(selection_table(kmeans.selection_, kmeans.k_))
    curve = k_distance_curve(X, MIN_SAMPLES)
    knee = knee_index(curve)
    console.print(f"DBSCAN: eps = {dbscan.eps_:.3f}, the k-distance (min_samples={MIN_SAMPLES}) at the knee, "
                  f"user {knee + 1} of {len(curve)} when sorted (median k-distance {np.median(curve):.3f}, "
                  f"largest {curve[-1]:.3f})")
    console.print(comparison_table(comparison, len(seeds)))

    for title, labels in ((f"k-means, k = {kmeans.k_}", kmeans.labels_),
                          (f"DBSCAN, eps = {dbscan.eps_:.3f}", dbscan.labels_)):
        profiles = cluster_profiles(features, labels)
        console.print(profiles_table(f"{title}: cluster profiles (means; money in currency units)", profiles,
                                     name_clusters(profiles)))

    def silhouette(model: str) -> str:
        value = comparison.loc[model, "silhouette"]
        return "undefined with one cluster" if np.isnan(value) else f"{value:.3f}"

    console.print(
        f"[bold]Summary[/bold]: {features.shape[0]:,} users; k-means finds {kmeans.k_} clusters (silhouette "
        f"{silhouette('KMeans')}), DBSCAN {dbscan.n_clusters_} with {dbscan.noise_share_:.0%} of the users as noise "
        f"(silhouette {silhouette('DBSCAN')}). Total {time.perf_counter() - started:.0f} s."
    )


if __name__ == "__main__":
    main()
