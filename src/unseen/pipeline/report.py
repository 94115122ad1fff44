"""Tables of runs and of the schedule, for ``unseen retrain``, ``unseen runs`` and ``unseen schedule``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table
from rich.text import Text

from unseen.pipeline.jobs import Job, format_duration
from unseen.pipeline.tables import RetrainRun, RunStatus

__all__ = ["runs_table", "schedule_table"]

_STATUS_STYLE = {RunStatus.succeeded: "green", RunStatus.failed: "red", RunStatus.running: "yellow"}


def runs_table(runs: Sequence[RetrainRun], *, title: str, details: bool = False) -> Table:
    """One row per run: job, status, version, promoted, seconds and the executed notebook; with ``details`` also
    the id, the trigger and the start time. Errors are long: callers print them below the table."""
    table = Table(title=title)
    if details:
        table.add_column("id", justify="right")
    table.add_column("job")
    if details:
        table.add_column("trigger")
        table.add_column("started (UTC)")
    table.add_column("status")
    table.add_column("version", overflow="fold")
    table.add_column("promoted")
    table.add_column("seconds", justify="right")
    table.add_column("notebook", overflow="fold")
    for run in runs:
        status = RunStatus(run.status)
        cells = [str(run.id)] if details else []
        cells.append(run.job)
        if details:
            cells += [run.trigger, f"{_utc(run.started_at):%Y-%m-%d %H:%M}"]
        cells += [f"[{_STATUS_STYLE[status]}]{status.value}[/]", run.model_version or "-",
                  ("yes" if run.promoted else "no") if run.model_version else "-",
                  "-" if run.seconds is None else f"{run.seconds:.1f}", Text(_shown(run.notebook))]
        table.add_row(*cells)
    return table


def schedule_table(scheduler, jobs: Mapping[str, Job], *, check_seconds: float) -> Table:
    """The jobs of a started scheduler: triggers, next cron time, notebook and time limit."""
    table = Table(title="unseen schedule (times in UTC)")
    for column in ("job", "triggers", "next cron run", "notebook", "max run time"):
        table.add_column(column, overflow="fold")
    for job in jobs.values():
        cron = scheduler.get_job(f"cron:{job.name}")
        next_time = getattr(cron, "next_run_time", None)
        triggers = job.triggers + (f"; counted every {check_seconds:g} s" if job.every_new_events else "")
        table.add_row(job.name, triggers, f"{_utc(next_time):%Y-%m-%d %H:%M}" if next_time else "-",
                      Text(_shown(str(job.notebook))), format_duration(job.max_run_time))
    return table


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _shown(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
