"""The card-transaction pipeline at the size of the Kaggle data set: each stage's wall time and peak memory.

    python bench/bench_analytics.py [--rows 13305915 --users 2000 --seed 7 --data FOLDER --spark]

Generates the layout (or reads ``--data``), then runs the commands a user runs, each in its own process so that its
peak resident memory is its own (DuckDB works inside the process): a plain DuckDB scan of the transactions (the
baseline: reading the CSV once), ``unseen analytics features`` (DuckDB), ``unseen analytics fraud`` on those
features (every model trained and evaluated on the time-ordered split), ``unseen analytics churn`` and ``unseen
analytics merchants``; with ``--spark`` also the features and the merchant analytics on Spark (local[*]; its JVM
is a grandchild, so its memory is not in the figure). Prints seconds, peak RSS and rows per second per stage, each stage's time against the scan,
the pipeline (features and fraud training) against the 15-minute budget, and the fraud table.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
UNSEEN = [sys.executable, "-m", "unseen.cli"]
BUDGET_S = 15 * 60


def run_stage(name: str, command: list[str], log: Path) -> dict:
    """Run ``command`` to its end; its wall time and its own peak RSS (from wait4)."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env={**os.environ, "COLUMNS": "120"})
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name} failed (exit {os.waitstatus_to_exitcode(status)}); its output: {log}\n"
                 + log.read_text()[-3000:])
    return {"stage": name, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=13_305_915)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", help="an existing layout folder instead of generating one")
    parser.add_argument("--spark", action="store_true", help="also run the features and the merchant analytics on Spark")
    parser.add_argument("--keep", help="keep the data and outputs in this folder")
    args = parser.parse_args()
    console = Console(width=150)

    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="unseen-bench-analytics-"))
    scratch.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else scratch / "layout"
    stages = []
    if not args.data:
        console.print(f"generating {args.rows:,} transactions for {args.users:,} users into {data} ...")
        stages.append(run_stage("generate (unseen simulate transactions)",
                                UNSEEN + ["simulate", "transactions", "--rows", str(args.rows), "--users",
                                          str(args.users), "--seed", str(args.seed), "--out", str(data)],
                                scratch / "generate.log"))
    transactions = data / "transactions_data.csv"
    scan = ("import duckdb; con = duckdb.connect(); con.execute('SET enable_progress_bar = false'); "
            "rows, _ = con.execute(\"SELECT count(*), sum(CAST(replace(amount, '$', '') AS DOUBLE)) "
            f"FROM read_csv('{transactions}', all_varchar=true)\").fetchall()[0]; print('ROWS', rows)")
    console.print("scanning the transactions once with DuckDB (the baseline) ...")
    stages.append(run_stage("baseline: DuckDB scan of the CSV", [sys.executable, "-c", scan], scratch / "scan.log"))
    rows = int(next(line.split()[1] for line in (scratch / "scan.log").read_text().splitlines()
                    if line.startswith("ROWS ")))

    features = scratch / "features.parquet"
    console.print("features on DuckDB ...")
    stages.append(run_stage("features (DuckDB)", UNSEEN + ["analytics", "features", "--data", str(data), "--out",
                                                           str(features)], scratch / "features.log"))
    console.print("fraud models ...")
    stages.append(run_stage("fraud models (train + evaluate)",
                            UNSEEN + ["analytics", "fraud", "--data", str(data), "--features", str(features),
                                      "--out", str(scratch / "fraud")], scratch / "fraud.log"))
    console.print("churn ...")
    stages.append(run_stage("churn (train + evaluate + store)",
                            UNSEEN + ["analytics", "churn", "--data", str(data), "--database-url",
                                      f"sqlite:///{scratch / 'churn.db'}"], scratch / "churn.log"))
    console.print("merchant analytics ...")
    stages.append(run_stage("merchant analytics (DuckDB)",
                            UNSEEN + ["analytics", "merchants", "--data", str(data), "--out",
                                      str(scratch / "merchants")], scratch / "merchants.log"))
    if args.spark:
        console.print("features on Spark ...")
        stages.append(run_stage("features (Spark local[*])",
                                UNSEEN + ["analytics", "features", "--engine", "spark", "--data", str(data),
                                          "--out", str(scratch / "features-spark")], scratch / "spark.log"))
        console.print("merchant analytics on Spark ...")
        stages.append(run_stage("merchant analytics (Spark local[*])",
                                UNSEEN + ["analytics", "merchants", "--engine", "spark", "--data", str(data),
                                          "--out", str(scratch / "merchants-spark")], scratch / "merchants-spark.log"))

    baseline = next(s["seconds"] for s in stages if s["stage"].startswith("baseline"))
    table = Table(title=f"Card-transaction pipeline on {rows:,} rows, {os.cpu_count()} cores ({scratch})")
    for column in ("stage", "seconds", "peak RSS MB", "rows/s", "× scan"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in stages:
        table.add_row(stage["stage"], f"{stage['seconds']:.1f}", f"{stage['peak_mb']:,.0f}",
                      f"{rows / stage['seconds']:,.0f}", f"{stage['seconds'] / baseline:.1f}")
    console.print(table)
    pipeline = sum(s["seconds"] for s in stages if s["stage"].startswith(("features (DuckDB)", "fraud")))
    peak = max(s["peak_mb"] for s in stages if "Spark" not in s["stage"])
    console.print(f"pipeline (features and fraud training on DuckDB): {pipeline:.0f} s = {pipeline / BUDGET_S:.2f} "
                  f"of the 15-minute budget; peak RSS of any DuckDB stage {peak:,.0f} MB")

    with (scratch / "fraud" / "fraud_models.csv").open() as handle:
        models = list(csv.DictReader(handle))
    fraud = Table(title="fraud models on the time-ordered split (test months)")
    columns = ("average_precision", "roc_auc", "recall_at_precision", "precision_at_k_per_day")
    for column in ("model", "AP", "ROC-AUC", "recall@90%P", "P@10/day"):
        fraud.add_column(column, justify="left" if column == "model" else "right")
    for row in models:
        fraud.add_row(row["model"], *(f"{float(row[c]):.3f}" for c in columns))
    console.print(fraud)
    console.print((scratch / "churn.log").read_text()[-2500:])


if __name__ == "__main__":
    main()
