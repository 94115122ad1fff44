"""Benchmark request anomaly detection on a synthetic request log: Isolation Forest against One-Class SVM.

Run from the repository root:

    .venv/bin/python bench/bench_anomaly.py                 # 200 shoppers over two days, 3 attacks of each kind
    .venv/bin/python bench/bench_anomaly.py --quick         # 60 shoppers, 1 attack of each kind, for a smoke test
    .venv/bin/python bench/bench_anomaly.py --seed 3 --contamination 0.005
    .venv/bin/python bench/bench_anomaly.py --intensity 0.1   # low-and-slow attacks at a tenth of the rates

The log (``synthetic_requests``) has normal shoppers throughout and the attacks (flood, password guessing, scraping,
cart spam, SQL injection probing) only on the second day. Per-IP windows of 60 s are built from it; the detectors
are fitted on the windows of the first day, which are all normal, with the threshold at a target false-positive
rate on them (``--contamination``), and tested on the second day's windows. Times are wall-clock on this machine:
fitting, scoring the test windows in one call (per window), and scoring one window on its own as the online
detector does, after building its features from 200 requests.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from unseen.ml.anomaly import (
    ATTACK_KINDS,
    FEATURE_NAMES,
    IsolationForestDetector,
    OneClassSVMDetector,
    compare_detectors,
    evaluate_detector,
    features_for_window,
    synthetic_requests,
    window_features,
    window_labels,
)
from unseen.monitor.records import RequestRecord

console = Console(width=180)
FPR_TARGETS = (0.001, 0.005, 0.01, 0.02, 0.05)


def detectors(contamination: float, seed: int) -> dict:
    return {
        "Isolation Forest": IsolationForestDetector(contamination=contamination, random_state=seed),
        "One-Class SVM": OneClassSVMDetector(contamination=contamination, random_state=seed),
    }


def main_table(table: pd.DataFrame, contamination: float) -> Table:
    out = Table(title=f"Per-IP 60 s windows, threshold at {contamination:.1%} false positives on the training day")
    headers = ["detector", "precision", "recall", "F1", "ROC-AUC", "AP", "FPR", "flagged", "fit",
               "score / window (batch)", "score one window"]
    for header in headers:
        out.add_column(header, justify="left" if header == "detector" else "right")
    for name, row in table.iterrows():
        out.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                    f"{row['roc_auc']:.4f}", f"{row['average_precision']:.3f}", f"{row['fpr']:.2%}",
                    f"{row['n_flagged']:.0f}", f"{row['fit_s'] * 1000:,.0f} ms",
                    f"{row['score_us_per_window']:,.1f} us", f"{row['score_ms_single']:.2f} ms")
    return out


def kind_table(table: pd.DataFrame, counts: pd.Series) -> Table:
    out = Table(title="Per attack kind: recall at the threshold, and ROC-AUC of that kind against normal windows")
    out.add_column("attack", justify="left")
    out.add_column("windows", justify="right")
    for name in table.index:
        out.add_column(f"{name} recall", justify="right")
        out.add_column(f"{name} ROC-AUC", justify="right")
    for kind in ATTACK_KINDS:
        if f"recall_{kind}" not in table:
            continue
        cells = []
        for name in table.index:
            cells += [f"{table.loc[name, f'recall_{kind}']:.3f}", f"{table.loc[name, f'roc_auc_{kind}']:.4f}"]
        out.add_row(kind, f"{counts.get(kind, 0):,}", *cells)
    return out


def threshold_table(X_train, X_test, y_test, fitted: dict) -> Table:
    out = Table(title="Target false-positive rate on the training day against what the test day's normal windows get")
    out.add_column("target FPR", justify="right")
    for name in fitted:
        out.add_column(f"{name} test FPR", justify="right")
        out.add_column(f"{name} recall", justify="right")
    for target in FPR_TARGETS:
        cells = []
        for model in fitted.values():
            model.set_params(contamination=target)
            result = evaluate_detector(model.fit(X_train), X_test, y_test)
            cells += [f"{result['fpr']:.2%}", f"{result['recall']:.3f}"]
        out.add_row(f"{target:.1%}", *cells)
    return out


def online_feature_ms(log: pd.DataFrame) -> tuple[float, int]:
    """Median time of ``features_for_window`` over the last 200 requests of the IP with most distinct paths among
    those with at least 200 requests (a scraper at full intensity)."""
    sizes = log.groupby("ip").agg(requests=("path", "size"), paths=("path", "nunique"))
    busy = sizes[sizes["requests"] >= 200]
    ip = (busy if len(busy) else sizes).sort_values(["paths", "requests"]).index[-1]
    rows = log[log["ip"] == ip].tail(200)
    records = [RequestRecord(at=row.at.to_pydatetime(), ip=row.ip, method=row.method, path=row.path,
                             query=row.query, status=int(row.status), latency_ms=float(row.latency_ms),
                             user_agent=row.user_agent, response_bytes=int(row.response_bytes))
               for row in rows.itertuples(index=False)]
    # All of them fall in one window however long they took: what is timed is the work per record.
    window = (rows["at"].max() - rows["at"].min()) + pd.Timedelta("1s")
    features_for_window(records, window=window)
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        features_for_window(records, window=window)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000), len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shoppers", type=int, default=200, help="normal shoppers (default 200)")
    parser.add_argument("--attackers", type=int, default=3, help="attacks of each kind (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the log and the models (default 0)")
    parser.add_argument("--contamination", type=float, default=0.01,
                        help="target false-positive rate on the training day (default 0.01)")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="factor on every attack's request rate; 0.1 for low-and-slow attacks (default 1)")
    parser.add_argument("--quick", action="store_true", help="60 shoppers and one attack of each kind")
    args = parser.parse_args()
    shoppers, attackers = (60, 1) if args.quick else (args.shoppers, args.attackers)
    started = time.perf_counter()

    with console.status(f"generating two days of {shoppers} shoppers and {attackers} attack(s) of each kind"):
        log = synthetic_requests(shoppers, attackers_per_kind=attackers, intensity=args.intensity,
                                 random_state=args.seed)
    with console.status("building per-IP windows"):
        building = time.perf_counter()
        windows = window_features(log, by="ip", window="60s")
        labels = window_labels(log, by="ip", window="60s")
        building = time.perf_counter() - building
    first_day = (windows["window_end"] <= log["at"].min().normalize() + pd.Timedelta(days=1)).to_numpy()
    X = windows[list(FEATURE_NAMES)].to_numpy()
    X_train, X_test, y_test = X[first_day], X[~first_day], labels[~first_day]
    counts = y_test.value_counts()
    console.print(
        f"{len(log):,} requests ({(log['attack'] != 'normal').mean():.0%} from attackers), {len(windows):,} windows "
        f"built in {building:.2f} s; training day {first_day.sum():,} windows (all normal), test day "
        f"{(~first_day).sum():,} windows of which {(y_test != 'normal').sum():,} attack windows "
        f"(attack rates x {args.intensity:g})."
    )

    with console.status("fitting and evaluating both detectors"):
        table = compare_detectors(X_train, X_test, y_test, detectors(args.contamination, args.seed))
    console.print(main_table(table, args.contamination))
    console.print(kind_table(table, counts))
    with console.status("sweeping the false-positive target"):
        console.print(threshold_table(X_train, X_test, y_test, detectors(args.contamination, args.seed)))

    feature_ms, n_records = online_feature_ms(log)
    fitted = {name: model.fit(X_train) for name, model in detectors(args.contamination, args.seed).items()}
    flood = X_test[(y_test == "flood").to_numpy()]
    guesses = X_test[(y_test == "password_guessing").to_numpy()]
    for name, model in fitted.items():
        for kind, rows in (("flood", flood), ("password guessing", guesses)):
            if len(rows):
                top = ", ".join(f"{item.feature} {item.value:,.2f} (typical {item.typical:,.2f}, z {item.z:,.0f})"
                                for item in model.explain(rows[0]))
                console.print(f"{name} explains a {kind} window: {top}")

    best = table["f1"].idxmax()
    console.print(
        f"[bold]Summary[/bold]: online features of {n_records} requests take {feature_ms:.2f} ms. "
        + "; ".join(f"{name}: F1 {row['f1']:.3f}, ROC-AUC {row['roc_auc']:.4f}, FPR {row['fpr']:.2%}, "
                    f"one window scored in {row['score_ms_single']:.2f} ms" for name, row in table.iterrows())
        + f". Best F1: {best}. Total {time.perf_counter() - started:.0f} s."
    )


if __name__ == "__main__":
    main()
