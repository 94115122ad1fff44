"""Benchmark the demand forecasters by rolling-origin backtests: the seeded shop's categories and a real sales series.

Run from the repository root:

    .venv/bin/python bench/bench_trends.py                                   # seeds a temporary shop (about a minute)
    .venv/bin/python bench/bench_trends.py --database-url sqlite:////tmp/x.db  # an already seeded shop

Part 1 reads the shop's order lines, sums units per category and complete month, and refits every model at each of
the last ``--shop-origins`` months (one month ahead each time). Part 2 does the same on the last
``--real-origins`` months of Australian wine sales (``wineind``, monthly, Jan 1980 to Aug 1994, the R forecast
package's series as pmdarima ships it); without pmdarima it uses the monthly means of statsmodels' Mauna Loa CO2
series, the only monthly seasonal series statsmodels ships (a concentration, not sales), and says so.

MASE scales each error by the in-sample seasonal naive MAE of its training window (lag 12, lag 1 when shorter);
below 1 beats that baseline. sMAPE is in percent with 0/0 counted as 0. Coverage is the share of actuals inside
the 80% intervals. The chosen model is the lowest mean MASE, picked on the same backtest it is scored on.
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
from rich.progress import Progress
from rich.table import Table

from unseen.config import Settings
from unseen.db import make_engine
from unseen.ml.trends import (
    SARIMA,
    candidate_forecasters,
    compare_models,
    demand_series,
    load_order_lines,
    monthly_demand,
    summarise_comparison,
)

SEED_UNTIL = date(2026, 11, 21)
console = Console(width=110)


def candidate_models() -> dict[str, object]:
    """The four families, each with its package defaults (no tuning on the backtest)."""
    return candidate_forecasters()


def seeded_shop_url(directory: Path, seed: int) -> str:
    """Seed a fresh SQLite shop in ``directory`` and return its URL."""
    from unseen.simulate.seed import SeedParameters
    from unseen.simulate.seed import seed as run_seed

    url = f"sqlite:///{directory / 'shop.db'}"
    settings = Settings(environment="test", var_dir=directory, artefacts_dir=directory / "artefacts",
                        database_url=url)
    engine = make_engine(url)
    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"seeding: {stage}", total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = run_seed(engine, settings, SeedParameters(seed=seed, until=SEED_UNTIL), progress=progress)
    engine.dispose()
    console.print(f"seeded {summary.orders:,} orders, {summary.order_lines:,} lines, "
                  f"{summary.first_day} to {summary.last_day}")
    return url


def backtest(series: dict[str, pd.Series], origins: int, title: str) -> pd.DataFrame:
    """Backtest every candidate on every series; print and return the per-model summary."""
    models = candidate_models()
    seconds = {}
    tables = []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"backtesting {title}", total=len(models) * len(series))
        for name, model in models.items():
            started = time.perf_counter()
            tables.append(compare_models(series, {name: model}, test_size=origins,
                                         progress=lambda *_: bar.advance(task)))
            seconds[name] = time.perf_counter() - started
    table = pd.concat(tables, ignore_index=True)
    failures = table[table["error"] != ""]
    for row in failures.itertuples():
        console.print(f"[yellow]{row.model} failed on {row.series}:[/yellow] {row.error}")
    summary = summarise_comparison(table)
    summary["seconds"] = pd.Series(seconds)

    out = Table(title=title)
    for column, justify in (("model", "left"), ("mean MASE", "right"), ("mean sMAPE %", "right"),
                            ("80% coverage", "right"), ("series", "right"), ("seconds", "right")):
        out.add_column(column, justify=justify)
    for name, row in summary.iterrows():
        out.add_row(name, f"{row['mase']:.3f}", f"{row['smape']:.1f}", f"{row['coverage']:.2f}",
                    str(int(row["n_series"])), f"{row['seconds']:.1f}")
    console.print(out)
    chosen, baseline = summary.index[0], summary.loc["seasonal naive", "mase"]
    verdict = "below" if summary.loc[chosen, "mase"] < baseline else "NOT below"
    console.print(f"chosen: [bold]{chosen}[/bold], mean MASE {summary.loc[chosen, 'mase']:.3f}, {verdict} "
                  f"seasonal naive's {baseline:.3f}"
                  + (f" ({(1 - summary.loc[chosen, 'mase'] / baseline):.0%} lower)" if verdict == "below" else ""))
    return summary


def shop_part(database_url: str, origins: int) -> pd.DataFrame:
    engine = make_engine(database_url)
    lines = load_order_lines(engine)
    engine.dispose()
    demand = monthly_demand(lines, level="category")
    months = demand["month"].drop_duplicates().sort_values()
    console.print(f"shop: {len(lines):,} order lines, {demand['key'].nunique()} categories, complete months "
                  f"{months.iloc[0]:%Y-%m} to {months.iloc[-1]:%Y-%m} ({len(months)}); "
                  f"one month ahead from each of the last {origins}")
    series = demand_series(demand)
    first = next(iter(series.values()))
    fallbacks = sum(SARIMA().fit(first.iloc[:end]).method_ == "seasonal_naive"
                    for end in range(len(first) - origins, len(first)))
    if fallbacks:
        console.print(f"SARIMA's history is too short at {fallbacks} of the {origins} origins: there it falls back to "
                      "seasonal naive")
    return backtest(series, origins, f"Seeded shop, monthly units per category, last {origins} months, one month "
                                     "ahead")


def real_series() -> tuple[str, pd.Series]:
    """wineind from pmdarima, or statsmodels' CO2 monthly means when pmdarima is not installed."""
    try:
        from pmdarima.datasets import load_wineind
    except ImportError:
        import statsmodels.api as sm

        weekly = sm.datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate()
        return "Mauna Loa CO2, monthly mean (statsmodels; pmdarima not installed)", monthly.rename("co2")
    raw = load_wineind(as_series=True)
    months = pd.date_range("1980-01-01", periods=len(raw), freq="MS")
    if not (raw.index[0] == "Jan 1980" and raw.index[-1] == f"{months[-1]:%b %Y}"):
        raise RuntimeError(f"wineind runs from {raw.index[0]} to {raw.index[-1]}; expected Jan 1980 onwards")
    return "Australian wine sales (wineind, pmdarima), bottles per month", pd.Series(
        raw.to_numpy(dtype=np.float64), index=months, name="wineind")


def real_part(origins: int) -> pd.DataFrame:
    name, y = real_series()
    console.print(f"real: {name}, {y.index[0]:%Y-%m} to {y.index[-1]:%Y-%m} ({len(y)} months); "
                  f"one month ahead from each of the last {origins}")
    return backtest({y.name: y}, origins, f"{name}, last {origins} months, one month ahead")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a seeded shop; default: seed a temporary SQLite shop")
    parser.add_argument("--seed", type=int, default=7, help="seed of the temporary shop (default 7)")
    parser.add_argument("--shop-origins", type=int, default=8, help="forecast origins on the shop (default 8)")
    parser.add_argument("--real-origins", type=int, default=24, help="forecast origins on the real series "
                                                                      "(default 24)")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="unseen-bench-trends-") as directory:
        url = args.database_url or seeded_shop_url(Path(directory), args.seed)
        shop = shop_part(url, args.shop_origins)
    real = real_part(args.real_origins)

    summary = Table(title="Summary")
    summary.add_column("data")
    summary.add_column("chosen model")
    summary.add_column("its MASE", justify="right")
    summary.add_column("seasonal naive MASE", justify="right")
    for label, result in (("seeded shop", shop), ("real series", real)):
        summary.add_row(label, result.index[0], f"{result['mase'].iloc[0]:.3f}",
                        f"{result.loc['seasonal naive', 'mase']:.3f}")
    console.print(summary)
    console.print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
