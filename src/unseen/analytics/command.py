"""``unseen simulate transactions``: generate the Kaggle layout with a progress bar and a one-screen summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from unseen.analytics.generate import DEFAULT_TRANSACTIONS_DIR, GeneratedLayout, generate_transactions


def simulate_transactions(*, rows: int, users: int, seed: int, out: str | Path | None, console: Console,
                          chunk_rows: int = 500_000) -> GeneratedLayout:
    """Write the layout into ``out`` (default: ``data/raw/transactions``) and print what was written.

    Bad arguments raise ValueError (nothing is written then); the command turns it into exit code 2.
    """
    folder = Path(out) if out else DEFAULT_TRANSACTIONS_DIR
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {str(folder)!r} is a file; expected a folder for the five files of the layout")
    with Progress(TextColumn("[bold]transactions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("rows", total=rows)
        result = generate_transactions(folder, rows=rows, users=users, seed=seed, chunk_rows=chunk_rows,
                                       progress=lambda done, total: bar.update(task, completed=done))
    console.print(summary_table(result))
    return result


def summary_table(result: GeneratedLayout) -> Table:
    """Rows, fraud, population, files and time of one generated layout."""
    table = Table(title=f"Card transactions in the Kaggle layout: {escape(str(result.folder))}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows", f"{result.rows:,}")
    table.add_row("fraudulent rows", f"{result.fraud_rows:,} ({result.fraud_share:.3%})")
    table.add_row("labelled rows", f"{result.labelled_rows:,} ({result.labelled_fraud_share:.3%} fraud)")
    table.add_row("users / cards / merchants", f"{result.users:,} / {result.cards:,} / {result.merchants:,}")
    table.add_row("compromised cards", f"{result.compromised_cards:,}")
    for path in result.files:
        table.add_row(path.name, _size(path.stat().st_size))
    table.add_row("seconds", f"{result.seconds:.1f} ({result.rows_per_second:,.0f} rows/s)")
    return table


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
