"""What monitoring costs: the same endpoint on one uvicorn worker with monitoring on and off, in one run.

    python bench/bench_monitoring.py [--seconds 10] [--concurrency 8] [--rounds 2]

Two servers on the same seeded temporary database, one with UNSEEN_MONITOR_ENABLED=false; each is loaded in turn
(alternating, so a slow moment of the machine hits both). Prints requests/s and latency percentiles per mode, the
throughput ratio (on / off, target at least 0.85) and the monitor's own counters (nothing dropped).
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round and mode")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per mode")
    parser.add_argument("--path", default="/api/products?per_page=24", help="the endpoint to load")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="unseen-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        console.print("seeding a temporary shop ...")
        subprocess.run(unseen_command("seed", "--database-url", url, "--customers", "100", "--products", "300"),
                       cwd=ROOT, check=True, capture_output=True)
        env_off = {**LOOPBACK_ALLOWED, "UNSEEN_MONITOR_ENABLED": "false"}
        results: dict[str, list] = {"on": [], "off": []}
        # One loopback address sends everything, a flood by any rule: allowlisted, it is judged and logged but not
        # blocked, so the benchmark measures the monitor's work and not its refusals.
        with shop_server(url, env=LOOPBACK_ALLOWED) as on, shop_server(url, env=env_off) as off:
            async def call(client, i):
                return await client.get(args.path)

            for _ in range(args.rounds):
                for mode, base in (("off", off), ("on", on)):
                    results[mode].append(run_load(base, f"monitoring {mode}", call, concurrency=args.concurrency,
                                                  seconds=args.seconds))
            operator = httpx.post(f"{on}/api/auth/login", json={"email": "operator@unseen.example",
                                                                "password": "operator-demo"}).json()["token"]
            summary = httpx.get(f"{on}/api/operator/summary", headers={"Authorization": f"Bearer {operator}"}).json()

    table = Table(title=f"GET {args.path}, one uvicorn worker, {args.concurrency} clients, "
                        f"{args.rounds} x {args.seconds:.0f} s per mode")
    for column in ("mode", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    rates = {}
    for mode in ("off", "on"):
        runs = results[mode]
        requests = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)
        import numpy as np

        latencies = np.concatenate([r.latencies_ms for r in runs])
        rates[mode] = requests / seconds
        table.add_row(f"monitoring {mode}", f"{requests:,}", str(sum(r.errors for r in runs)), f"{rates[mode]:,.0f}",
                      *(f"{np.percentile(latencies, q):.1f}" for q in (50, 90, 99)))
    console.print(table)
    ratio = rates["on"] / rates["off"]
    console.print(f"throughput ratio on/off: [bold]{ratio:.3f}[/bold] (target at least 0.85)")
    console.print(f"monitor counters: {summary['monitor']}")


if __name__ == "__main__":
    main()
