"""The record of every retraining run (table ``retrain_run``).

It lives here rather than in ``unseen.tables`` because only the pipeline writes it. Importing this module puts the
table on ``SQLModel.metadata``, so ``unseen.db.create_schema`` creates it; the runner also creates it on first
use (:func:`ensure_table`), so a database made before the pipeline existed works as it is.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Index
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from unseen.tables import utcnow

__all__ = ["ERROR_LENGTH", "RetrainRun", "RunStatus", "ensure_table"]

ERROR_LENGTH = 2000
"""Longest error kept on a run row; the executed notebook in ``runs/`` holds the whole traceback."""


class RunStatus(str, enum.Enum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class RetrainRun(SQLModel, table=True):
    """One run of a retraining job: when, why, how it ended, and which model version it produced."""

    __tablename__ = "retrain_run"
    __table_args__ = (Index("ix_retrain_run_job_started", "job", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    trigger: str = Field(max_length=20)
    """What started it: ``cron``, ``events`` (enough new rows) or ``manual`` (``unseen retrain``)."""
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    status: RunStatus = RunStatus.running
    error: str | None = Field(default=None, max_length=ERROR_LENGTH)
    notebook: str = Field(max_length=1000)
    """The executed copy under ``runs/scheduled/<job>/<timestamp>/``."""
    model_version: str | None = Field(default=None, max_length=60)
    promoted: bool = False
    reason: str | None = Field(default=None, max_length=ERROR_LENGTH)
    """Why the new version was or was not promoted, as the registry decided."""
    events_seen: int = Field(default=0, sa_type=BigInteger())
    """The largest id in the job's count table when the run started: rows above it are new for the next run."""

    @property
    def seconds(self) -> float | None:
        """How long the run took (None while it runs)."""
        if self.ended_at is None:
            return None
        return (_aware(self.ended_at) - _aware(self.started_at)) / timedelta(seconds=1)


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every time written here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def ensure_table(engine: Engine) -> None:
    """Create ``retrain_run`` when the database has none yet (a no-op otherwise)."""
    SQLModel.metadata.create_all(engine, tables=[RetrainRun.__table__])
