"""``unseen schedule``: run the retraining jobs on their triggers, in the background, until stopped.

APScheduler 3 fires a ``CronTrigger`` (UTC) per job with a cron expression, and one interval job looks every
``check_seconds`` for jobs with ``every_new_events`` that are due (:func:`unseen.pipeline.runner.due_by_events`) and
hands each to the thread pool as a one-off run. Runs never happen in the request path: the shop keeps serving,
and picks up a promoted model on its next look at the registry. Every APScheduler job has ``max_instances=1`` and
``coalesce=True`` (a backlog of missed firings runs once); the job's lock file still refuses a run that another
process (``unseen retrain``, a second scheduler) has under way.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from unseen.config import Settings
from unseen.db import make_engine
from unseen.pipeline.jobs import Job
from unseen.pipeline.runner import JobBusy, due_by_events, is_running, run_job, stop_runs

__all__ = ["CHECK_SECONDS", "EVENTS_JOB_ID", "build_scheduler", "run_scheduled", "run_scheduler", "submit_due_jobs"]

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0
"""How often the scheduler counts new rows for the jobs with ``every_new_events``."""
EVENTS_JOB_ID = "new-events"
MISFIRE_GRACE_SECONDS = 15 * 60
"""A firing that finds no free worker still runs if it starts within this long."""
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}


def build_scheduler(jobs: Mapping[str, Job] | Sequence[Job], settings: Settings, *, engine: Engine | None = None,
                    scheduler_class: type[BaseScheduler] = BackgroundScheduler,
                    check_seconds: float = CHECK_SECONDS) -> BaseScheduler:
    """A scheduler (not started) with a cron job per job that has ``cron`` and, when any job has
    ``every_new_events``, one interval job that starts those that are due.

    APScheduler job ids are ``cron:<job>``, ``events:<job>`` (a one-off run submitted by the check) and
    ``new-events`` (the check itself).
    """
    jobs = list(jobs.values()) if isinstance(jobs, Mapping) else list(jobs)
    engine = engine if engine is not None else make_engine(settings.resolved_database_url)
    # The defaults apply to the one-off runs the check adds later; the jobs added here spell them out, because
    # APScheduler fills defaults in only when it starts, and a scheduler is inspected before that.
    scheduler = scheduler_class(timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=len(jobs) + 1)},
                                job_defaults=JOB_DEFAULTS)
    for job in jobs:
        if job.cron:
            scheduler.add_job(run_scheduled, trigger=job.trigger, args=(job, settings, engine, "cron"),
                              id=f"cron:{job.name}", name=f"{job.name}: cron {job.cron}", **JOB_DEFAULTS)
    counted = [job for job in jobs if job.every_new_events]
    if counted:
        scheduler.add_job(submit_due_jobs, trigger=IntervalTrigger(seconds=check_seconds, timezone=UTC),
                          args=(scheduler, counted, settings, engine), id=EVENTS_JOB_ID,
                          name=f"new rows for {', '.join(job.name for job in counted)}", **JOB_DEFAULTS)
    return scheduler


def run_scheduled(job: Job, settings: Settings, engine: Engine, trigger: str) -> None:
    """One run as the scheduler makes it: a busy job is skipped, and nothing a run raises stops the scheduler."""
    try:
        run = run_job(job, settings, trigger=trigger, engine=engine)
    except JobBusy as busy:
        log.info("skipped %s (%s): %s", job.name, trigger, busy)
    except Exception:
        # run_job records what the notebook does wrong; reaching here means the database or the disk failed.
        log.exception("could not run %s (%s)", job.name, trigger)
    else:
        log.info("%s (%s) %s in %.0f s", job.name, trigger, run.status.value, run.seconds or 0)


def submit_due_jobs(scheduler: BaseScheduler, jobs: Sequence[Job], settings: Settings, engine: Engine) -> list[str]:
    """Start every job in ``jobs`` that is due by new rows and not running; returns their names."""
    started = []
    for job in jobs:
        try:
            if is_running(job, settings) or not due_by_events(job, engine):
                continue
        except Exception:
            log.exception("could not count new %s rows for %s", job.count_table, job.name)
            continue
        scheduler.add_job(run_scheduled, args=(job, settings, engine, "events"), id=f"events:{job.name}",
                          name=f"{job.name}: {job.every_new_events} new {job.count_table} rows",
                          replace_existing=True, **JOB_DEFAULTS)
        started.append(job.name)
    return started


def run_scheduler(jobs: Mapping[str, Job], settings: Settings, *, engine: Engine | None = None,
                  on_start: Callable[[BaseScheduler], None] | None = None,
                  check_seconds: float = CHECK_SECONDS, grace_seconds: float = 10.0) -> None:
    """Run the jobs on their triggers until Ctrl-C or SIGTERM; then start nothing new, interrupt the runs under
    way (killing their kernels after ``grace_seconds``), and return once each has recorded itself as failed.

    An interrupted run promotes nothing and e-mails no one: the next trigger runs the job again. ``on_start`` gets
    the started scheduler (to print its jobs and next times).
    """
    scheduler = build_scheduler(jobs, settings, engine=engine, check_seconds=check_seconds)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    try:
        if on_start is not None:
            on_start(scheduler)
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.pause()  # no new firings from here on
        log.info("stopping: interrupting the runs under way")
        # A run the pool picked up a moment ago may start its kernel only now: keep interrupting until all are done.
        closing = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="scheduler-shutdown")
        closing.start()
        while closing.is_alive():
            stop_runs(grace_seconds=grace_seconds)
            closing.join(0.5)
        signal.signal(signal.SIGTERM, previous)
