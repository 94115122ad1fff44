"""``unseen analytics features`` and ``unseen analytics merchants``: run the feature pipeline or the merchant report
on a layout folder and end with a one-screen summary.

Bad input (a folder that is not the layout, an unknown engine, an output path that is a folder) raises
:class:`~unseen.analytics.loader.LayoutError` or ValueError before any work; the command turns both into exit 2.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from unseen.analytics.loader import load_layout

ENGINES = ("duckdb", "spark")


def features_command(*, data: str | Path, out: str | Path, engine: str, console: Console,
                     threads: int | None = None, memory_limit: str | None = None,
                     spark_master: str | None = None) -> dict:
    """Write the per-transaction features of ``data`` to ``out`` (a Parquet file; a folder of part files with
    Spark) and print what was written. Returns the summary as a dict."""
    from unseen.analytics.features import FRAUD_FEATURES, write_features

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected {' or '.join(ENGINES)}")
    out = Path(out)
    started = time.perf_counter()
    with console.status(f"reading the layout in {escape(str(data))} ..."):
        layout = load_layout(data)
    with console.status(f"building features with {engine} ..."):
        if engine == "duckdb":
            written = write_features(layout, out, threads=threads, memory_limit=memory_limit,
                                     temp_directory=out.parent / f".{out.name}.tmp")
            rows, labelled, fraud = written.rows, written.labelled_rows, written.fraud_rows
        else:
            import duckdb

            from unseen.analytics.spark import spark_session
            from unseen.analytics.spark import write_features as spark_write

            if out.is_file():
                raise ValueError(f"{out} is a file; Spark writes a folder of Parquet part files")
            try:
                spark_write(layout, out, spark=spark_session(spark_master))
            except Exception as exc:
                _raise_spark_failure(exc)
                raise
            rows, labelled, fraud = duckdb.sql(
                f"SELECT count(*), count(is_fraud), coalesce(sum(is_fraud), 0) "
                f"FROM read_parquet('{str(out / '*.parquet')}')").fetchall()[0]
    summary = {"engine": engine, "rows": int(rows), "labelled_rows": int(labelled), "fraud_rows": int(fraud),
               "features": len(FRAUD_FEATURES), "seconds": time.perf_counter() - started, "out": str(out)}
    table = Table(title=f"unseen analytics features ({engine}): {escape(str(out))}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("transactions", f"{summary['rows']:,}")
    share = summary["fraud_rows"] / summary["labelled_rows"] if summary["labelled_rows"] else 0.0
    table.add_row("labelled / fraud", f"{summary['labelled_rows']:,} / {summary['fraud_rows']:,} ({share:.3%})")
    table.add_row("numeric features", str(summary["features"]))
    size = sum(p.stat().st_size for p in ([out] if out.is_file() else out.glob("*.parquet")))
    table.add_row("Parquet size", f"{size / 2**20:,.1f} MB")
    table.add_row("seconds", f"{summary['seconds']:.1f}")
    console.print(table)
    return summary


def merchants_command(*, data: str | Path, out: str | Path, console: Console, top_n: int = 20,
                      trend_months: int = 6, min_transactions: int = 30, seed: int = 0, engine: str = "duckdb",
                      spark_master: str | None = None) -> dict:
    """Write the merchant report of ``data`` (tables as CSV, figures as PNG and SVG) into the folder ``out`` and
    print its headline numbers. Returns the report's totals."""
    from unseen.analytics.merchants import merchant_report, write_report

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected {' or '.join(ENGINES)}")
    out = Path(out)
    if out.is_file():
        raise ValueError(f"--out {str(out)!r} is a file; expected a folder for the tables and figures")
    started = time.perf_counter()
    with console.status(f"reading the layout in {escape(str(data))} ..."):
        layout = load_layout(data)
    with console.status(f"merchant analytics on {engine} ..."):
        spark = None
        if engine == "spark":
            from unseen.analytics.spark import spark_session

            spark = spark_session(spark_master)
        try:
            report = merchant_report(layout, top_n=top_n, trend_months=trend_months,
                                     min_transactions=min_transactions, seed=seed, engine=engine, spark=spark)
        except Exception as exc:
            _raise_spark_failure(exc)
            raise
        files = write_report(report, out)
    totals = {**report.totals, "engine": engine, "seconds": time.perf_counter() - started, "files": len(files)}
    table = Table(title=f"unseen analytics merchants ({engine}): {escape(str(out))}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("transactions", f"{totals['transactions']:,} from {totals['first'][:10]} to {totals['last'][:10]}")
    table.add_row("net sales", f"${totals['amount']:,.0f}")
    table.add_row("customers / merchants", f"{totals['customers']:,} / {totals['merchants']:,}")
    channels = report.sales["channel"].set_index("channel")["share"]
    table.add_row("sales by channel", ", ".join(f"{name} {share:.0%}" for name, share in channels.items()))
    top_mcc = report.sales["mcc"].iloc[0]
    table.add_row("largest category", f"{escape(top_mcc['description'])} ({top_mcc['share']:.1%})")
    if len(report.top):
        first = report.top.iloc[0]
        table.add_row("top merchant (12 months)", f"{first['merchant_id']} ({escape(first['description'])}), "
                                                  f"${first['amount']:,.0f}")
    table.add_row(f"declining merchants (≥{min_transactions} tx)", f"{len(report.declining)} shown, worst "
                  + (f"{report.declining['relative_change'].iloc[0]:+.0%} against the platform" if len(report.declining)
                     else "none"))
    table.add_row("k-means segments", str(int(report.k_selection.loc[report.k_selection['chosen'], 'k'].iloc[0])))
    table.add_row("files written", str(totals["files"]))
    table.add_row("seconds", f"{totals['seconds']:.1f}")
    console.print(table)
    return totals


def _raise_spark_failure(exc: Exception) -> None:
    """Raise :class:`~unseen.analytics.spark.SparkFailed` in place of an error from Spark or its JVM."""
    from unseen.analytics.spark import spark_failure

    failure = spark_failure(exc)
    if failure is not None:
        raise failure from exc
