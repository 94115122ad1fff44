"""Scheduled retraining: jobs from ``scheduled/jobs.toml``, run as papermill notebooks, recorded in ``retrain_run``.

Importing the package registers the ``retrain_run`` table on ``SQLModel.metadata`` (so ``unseen.db.create_schema``
creates it) and nothing heavier: the runner (papermill) and the scheduler (APScheduler) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from unseen.pipeline.tables import RetrainRun, RunStatus

__all__ = [
    "DEFAULT_JOBS_FILE",
    "Job",
    "JobBusy",
    "JobFileError",
    "RetrainRun",
    "RunStatus",
    "build_scheduler",
    "due_by_events",
    "load_jobs",
    "new_events",
    "recent_runs",
    "run_job",
    "run_scheduler",
]

_LAZY = {
    "DEFAULT_JOBS_FILE": "jobs", "Job": "jobs", "JobFileError": "jobs", "load_jobs": "jobs",
    "JobBusy": "runner", "due_by_events": "runner", "new_events": "runner", "recent_runs": "runner",
    "run_job": "runner",
    "build_scheduler": "scheduler", "run_scheduler": "scheduler",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"unseen.pipeline.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'unseen.pipeline' has no attribute {name!r}")
