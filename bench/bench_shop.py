"""Shop throughput on one uvicorn worker over loopback: the product feed and add-to-cart, against /health.

    python bench/bench_shop.py [--seconds 10] [--concurrency 8] [--database-url URL]

Seeds a temporary SQLite database unless a URL is given, starts `unseen serve` in its own process, drives it with
closed-loop clients and prints requests/s and latency percentiles. The /health endpoint (no database work) is the
baseline of the same run, so the ratios say what the shop's own work costs on this machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import LOOPBACK_ALLOWED, run_load  # noqa: E402
from tests.servers import shop_server, unseen_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--shoppers", type=int, default=32, help="logged-in shoppers sharing the add-to-cart load")
    parser.add_argument("--database-url", help="use this (seeded) database instead of a temporary one")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="unseen-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if not args.database_url:
            console.print("seeding a temporary shop ...")
            subprocess.run(unseen_command("seed", "--database-url", url, "--customers", "200", "--products", "400"),
                           cwd=ROOT, check=True, capture_output=True)
        # The load comes from one loopback address, a flood by any rule: allowlisting it keeps the monitor judging
        # and logging every request without blocking the benchmark itself.
        with shop_server(url, env=LOOPBACK_ALLOWED) as base:
            with httpx.Client(base_url=base, timeout=30) as http:
                op = http.post("/api/auth/login", json={"email": "operator@unseen.example", "password": "operator-demo"})
                op_headers = {"Authorization": f"Bearer {op.json()['token']}"}
                products = http.get("/api/feed", params={"per_page": 100}).json()["items"]
                ids = [p["id"] for p in products]
                for pid in ids:  # enough stock that the benchmark measures adding, not refusals
                    http.patch(f"/api/products/{pid}", json={"stock": 1_000_000}, headers=op_headers)
                tokens = []
                for i in range(args.shoppers):
                    email = f"bench{i}@example.com"
                    http.post("/api/auth/register", json={"email": email, "full_name": f"Bench {i}",
                                                          "password": "bench-password"})
                    tokens.append(http.post("/api/auth/login", json={"email": email, "password": "bench-password"})
                                  .json()["token"])

            rng = random.Random(1)

            async def health(client, i):
                return await client.get("/health")

            async def feed(client, i):
                return await client.get("/api/feed", params={"page": 1 + i % 3, "per_page": 24})

            async def add_to_cart(client, i):
                token = tokens[i % len(tokens)]
                return await client.post("/api/cart", json={"product_id": rng.choice(ids), "quantity": 1},
                                         headers={"Authorization": f"Bearer {token}"})

            results = [run_load(base, name, call, concurrency=args.concurrency, seconds=args.seconds)
                       for name, call in (("GET /health (baseline)", health), ("GET /api/feed", feed),
                                          ("POST /api/cart", add_to_cart))]

    table = Table(title=f"unseen shop, one uvicorn worker, {args.concurrency} clients, {args.seconds:.0f} s each")
    for column in ("scenario", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "vs baseline"):
        table.add_column(column, justify="right" if column != "scenario" else "left")
    baseline = results[0].rate
    for r in results:
        table.add_row(r.name, f"{r.requests:,}", str(r.errors), f"{r.rate:,.0f}", f"{r.percentile(50):.1f}",
                      f"{r.percentile(90):.1f}", f"{r.percentile(99):.1f}", f"{r.rate / baseline:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
