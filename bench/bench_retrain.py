"""Retraining on a million events while the shop serves: the retrain's wall time, and the API's latency during the
retrain against idle, in one run.

    python bench/bench_retrain.py [--customers 1600 --months 26 --seconds 15 --concurrency 4]

Seeds a temporary shop (about 1M events with the defaults; the figure is printed), starts ``unseen serve`` on it,
and loads ``GET /api/feed`` with a few clients: first idle, then while ``unseen retrain recommend``, ``trends`` and
``clustering`` run one after the other in another process, each through its papermill notebook, on the same
database and model registry. Prints each job's wall time and the feed's p50/p90/p99 in both phases, with the p99
ratio (during / idle). The running shop swaps in each newly promoted model by itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._load import LOOPBACK_ALLOWED, run_load  # noqa: E402
from tests.servers import shop_server, unseen_command  # noqa: E402
from unseen.db import make_engine  # noqa: E402
from unseen.tables import Event  # noqa: E402

JOBS = ("recommend", "trends", "clustering")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1600)
    parser.add_argument("--months", type=int, default=26)
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds while idle")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="unseen-bench-retrain-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        models = Path(tmp) / "models"
        console.print(f"seeding {args.customers} customers over {args.months} months ...")
        started = time.perf_counter()
        subprocess.run(unseen_command("seed", "--database-url", url, "--customers", str(args.customers),
                                      "--months", str(args.months), "--products", str(args.products)),
                       cwd=ROOT, check=True, capture_output=True)
        engine = make_engine(url)
        with engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        engine.dispose()
        console.print(f"seeded {events:,} events in {time.perf_counter() - started:.0f} s")
        env = {**LOOPBACK_ALLOWED, "UNSEEN_MODELS_DIR": str(models), "UNSEEN_RUNS_DIR": str(Path(tmp) / "runs"),
               "UNSEEN_MODEL_POLL_SECONDS": "2"}

        async def call(client, i):
            return await client.get("/api/feed", params={"page": 1 + i % 3})

        with shop_server(url, env=env) as base:
            httpx.get(f"{base}/api/feed", timeout=30)
            idle = run_load(base, "idle", call, concurrency=args.concurrency, seconds=args.seconds)
            timings: dict[str, float] = {}
            failures: list[str] = []

            def retrain() -> None:
                for job in JOBS:
                    began = time.perf_counter()
                    done = subprocess.run(unseen_command("retrain", job, "--database-url", url), cwd=ROOT,
                                          capture_output=True, text=True,
                                          env={**os.environ, **env})
                    timings[job] = time.perf_counter() - began
                    if done.returncode != 0:
                        failures.append(f"{job}: {done.stdout[-500:]}{done.stderr[-500:]}")

            worker = threading.Thread(target=retrain)
            began = time.perf_counter()
            worker.start()
            busy = []
            while worker.is_alive():
                busy.append(run_load(base, "during retrain", call, concurrency=args.concurrency, seconds=5.0))
            worker.join()
            wall = time.perf_counter() - began

    import numpy as np

    during = np.concatenate([r.latencies_ms for r in busy]) if busy else np.array([])
    table = Table(title=f"GET /api/feed while retraining on {events:,} events ({args.concurrency} clients)")
    for column in ("phase", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    table.add_row("idle", f"{idle.requests:,}", str(idle.errors), f"{idle.rate:,.0f}",
                  *(f"{idle.percentile(q):.1f}" for q in (50, 90, 99)))
    seconds = sum(r.seconds for r in busy)
    table.add_row("during retrain", f"{len(during):,}", str(sum(r.errors for r in busy)),
                  f"{len(during) / seconds if seconds else 0:,.0f}",
                  *(f"{np.percentile(during, q):.1f}" if len(during) else "-" for q in (50, 90, 99)))
    console.print(table)
    console.print("retrain wall time: " + ", ".join(f"{job} {timings.get(job, float('nan')):.1f} s" for job in JOBS)
                  + f"; all {wall:.1f} s")
    if len(during):
        console.print(f"p99 ratio during / idle: [bold]{np.percentile(during, 99) / idle.percentile(99):.2f}[/bold]")
    for failure in failures:
        console.print(f"[red]failed[/red] {failure}")


if __name__ == "__main__":
    main()
