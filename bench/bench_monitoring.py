"""What monitoring costs: the same endpoint on one uvicorn worker with monitoring off, on (rules), and on with the
anomaly model scoring every client's window, in one run.

    python bench/bench_monitoring.py [--seconds 10] [--concurrency 8] [--rounds 2] [--clients 150]

Three servers on the same seeded temporary database; each is loaded in turn (alternating, so a slow moment of the
machine hits all). The load comes through 127.0.0.1 as a trusted proxy, spread by X-Forwarded-For over ``--clients``
addresses of 10.0.0.0/8, so the model has that many windows to keep and score; the network is allowlisted, so the
monitor judges, scores and logs everything but refuses nothing (the benchmark measures its work, not its blocks).
Prints requests/s and latency percentiles per mode, the throughput ratios against "off" (target at least 0.85) and
the monitors' own counters (nothing dropped).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
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
    parser.add_argument("--clients", type=int, default=150, help="client addresses the load is spread over")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="unseen-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        console.print("seeding a temporary shop ...")
        subprocess.run(unseen_command("seed", "--database-url", url, "--customers", "100", "--products", "300"),
                       cwd=ROOT, check=True, capture_output=True)
        models = Path(tmp) / "models"
        console.print("training an anomaly model on a synthetic normal day ...")
        _register_model(models)
        proxied = {"UNSEEN_TRUSTED_PROXIES": '["127.0.0.1"]', "UNSEEN_ALLOWLIST": '["127.0.0.1", "10.0.0.0/8"]'}
        env_off = {**LOOPBACK_ALLOWED, "UNSEEN_MONITOR_ENABLED": "false"}
        env_on = {**proxied, "UNSEEN_ANOMALY_MODEL__ENABLED": "false"}
        env_model = {**proxied, "UNSEEN_MODELS_DIR": str(models)}
        modes = ("off", "on", "on + model")
        results: dict[str, list] = {mode: [] for mode in modes}
        summaries = {}
        with shop_server(url, env=env_off) as off, shop_server(url, env=env_on) as on, \
                shop_server(url, env=env_model) as with_model:
            async def call(client, i):
                return await client.get(args.path, headers={"X-Forwarded-For": _address(i % args.clients)})

            for _ in range(args.rounds):
                for mode, base in zip(modes, (off, on, with_model), strict=True):
                    results[mode].append(run_load(base, f"monitoring {mode}", call, concurrency=args.concurrency,
                                                  seconds=args.seconds))
            for mode, base in (("on", on), ("on + model", with_model)):
                operator = httpx.post(f"{base}/api/auth/login", json={"email": "operator@unseen.example",
                                                                      "password": "operator-demo"}).json()["token"]
                summaries[mode] = httpx.get(f"{base}/api/operator/summary",
                                            headers={"Authorization": f"Bearer {operator}"}).json()

    table = Table(title=f"GET {args.path}, one uvicorn worker, {args.concurrency} clients, "
                        f"{args.rounds} x {args.seconds:.0f} s per mode")
    for column in ("mode", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    rates = {}
    for mode in modes:
        runs = results[mode]
        requests = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)
        latencies = np.concatenate([r.latencies_ms for r in runs])
        rates[mode] = requests / seconds
        table.add_row(f"monitoring {mode}", f"{requests:,}", str(sum(r.errors for r in runs)), f"{rates[mode]:,.0f}",
                      *(f"{np.percentile(latencies, q):.1f}" for q in (50, 90, 99)))
    console.print(table)
    for mode in modes[1:]:
        console.print(f"throughput ratio {mode} / off: [bold]{rates[mode] / rates['off']:.3f}[/bold] "
                      "(target at least 0.85)")
        console.print(f"  monitor counters ({mode}): {summaries[mode]['monitor']}")


def _address(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def _register_model(models: Path) -> None:
    from unseen.ml.anomaly import fit_window_model, synthetic_requests
    from unseen.ml.registry import ModelRegistry

    log = synthetic_requests(150, attacks=(), hours=6, random_state=0).assign(category="normal", blocked=False)
    registry = ModelRegistry(models)
    version = registry.register("anomaly", fit_window_model(log), params={}, metrics={},
                                data_range=(str(log["at"].min()), str(log["at"].max())), n_samples=len(log))
    registry.promote("anomaly", version.version, reason="benchmark")


if __name__ == "__main__":
    main()
