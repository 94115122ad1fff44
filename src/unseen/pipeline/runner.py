"""Run a retraining job: execute its notebook with papermill, record the run, tell the operator when it fails.

A run of job ``recommend`` holds ``runs/scheduled/recommend/.lock`` (``fcntl.flock``) from start to end, so two
runs of one job never overlap, whichever process starts them; a second one is refused with :class:`JobBusy`. The
executed copy lands in ``runs/scheduled/<job>/<UTC time>/<job>.ipynb`` beside the ``result.json`` the notebook
writes, and a ``retrain_run`` row records the run. A run that fails promotes nothing, so the promoted model keeps
serving; the row keeps the error and, with SMTP on, the operators get an e-mail.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from unseen.config import Settings
from unseen.db import make_engine, session_scope
from unseen.pipeline.jobs import Job, format_duration, notebook_parameters
from unseen.pipeline.results import read_result
from unseen.pipeline.tables import ERROR_LENGTH, RetrainRun, RunStatus, ensure_table
from unseen.tables import Event, RequestLog, utcnow

__all__ = ["JobBusy", "due_by_events", "event_counter", "is_running", "job_folder", "job_lock", "last_run",
           "new_events", "recent_runs", "run_job", "stop_runs"]

log = logging.getLogger(__name__)

KERNEL_NAME = "python3"
LOCK_FILE = ".lock"
INTERRUPTED = "interrupted: the run was stopped before it finished"
SHORT_ERROR = 500
"""Characters of an error kept on the run row and in the e-mail; the executed notebook has the whole traceback."""
_COUNT_TABLES = {"event": Event.__table__, "request_log": RequestLog.__table__}


class JobBusy(RuntimeError):
    """Another run of the same job holds its lock; this one was not started (and not recorded)."""

    def __init__(self, job: str, lock: Path, holder: str = ""):
        self.job, self.lock, self.holder = job, lock, holder
        held = f" ({holder})" if holder else ""
        super().__init__(f"job {job!r} is already running{held}; two runs of one job never overlap, so this one "
                         f"was not started. Try again when it has finished (lock: {lock})")


def job_folder(job: Job | str, settings: Settings) -> Path:
    """Where the runs of ``job`` land: ``runs/scheduled/<job>/``."""
    return settings.runs_dir / "scheduled" / (job if isinstance(job, str) else job.name)


@contextmanager
def job_lock(job: Job | str, settings: Settings) -> Iterator[Path]:
    """Hold ``job``'s lock for the ``with`` block, or raise :class:`JobBusy` at once when another run holds it."""
    name = job if isinstance(job, str) else job.name
    folder = job_folder(name, settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise JobBusy(name, path, holder) from None
    try:
        handle.truncate(0)  # who holds it, for the message another run gets
        handle.write(f"process {os.getpid()} since {utcnow():%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        yield path
    finally:
        handle.truncate(0)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def is_running(job: Job | str, settings: Settings) -> bool:
    """Whether a run of ``job`` holds its lock right now (in this process or another)."""
    path = job_folder(job, settings) / LOCK_FILE
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def run_job(job: Job, settings: Settings, *, trigger: str, engine: Engine | None = None) -> RetrainRun:
    """Run ``job``'s notebook once and return its recorded run (status ``succeeded`` or ``failed``).

    Parameters
    ----------
    job : Job
    settings : Settings
        The database, the registry (``models_dir``), where runs land (``runs_dir``) and SMTP for failures.
    trigger : str
        What started the run, recorded with it: ``cron``, ``events`` or ``manual``.
    engine : Engine, optional
        The shop's database; by default one is made from ``settings`` and disposed of afterwards.

    Raises
    ------
    JobBusy
        Another run of the job is under way; nothing was started or recorded.
    """
    own_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.resolved_database_url)
    try:
        ensure_table(engine)
        with job_lock(job, settings):
            return _run_locked(job, settings, engine, trigger)
    finally:
        if own_engine:
            engine.dispose()


def _run_locked(job: Job, settings: Settings, engine: Engine, trigger: str) -> RetrainRun:
    _close_abandoned_runs(engine, job.name)
    run_dir = _new_run_dir(job, settings)
    run = RetrainRun(job=job.name, trigger=trigger, notebook=str(run_dir / f"{job.name}.ipynb"),
                     events_seen=event_counter(job, engine))
    _save(engine, run)
    log.info("retraining %s (%s): %s", job.name, trigger, run.notebook)
    with _running_lock:
        _stopped_threads.discard(threading.get_ident())
    try:
        _execute(job, settings, run_dir, Path(run.notebook))
        result = read_result(run_dir)
        if result is None:
            raise RuntimeError("the notebook finished without writing result.json into its out_dir")
    except Exception as exc:  # whatever went wrong in the notebook, the run is recorded as failed
        with _running_lock:
            stopped = threading.get_ident() in _stopped_threads
            _stopped_threads.discard(threading.get_ident())
        run.status, run.error = RunStatus.failed, INTERRUPTED if stopped else _describe_failure(exc, job)
        log.error("retraining %s failed: %s (notebook %s)", job.name, run.error, run.notebook)
    except BaseException:  # Ctrl-C or shutdown: record it, then let it stop the process
        run.status, run.error, run.ended_at = RunStatus.failed, INTERRUPTED, utcnow()
        _save(engine, run)
        raise
    else:
        run.status = RunStatus.succeeded
        run.model_version, run.promoted = result.get("version"), bool(result.get("promoted"))
        run.reason = _clip(str(result.get("reason") or ""), ERROR_LENGTH) or None
        log.info("retrained %s: version %s, %s (%s)", job.name, run.model_version or "none",
                 "promoted" if run.promoted else "not promoted", run.reason)
    run.ended_at = utcnow()
    _save(engine, run)
    if run.status is RunStatus.failed and not run.error.startswith(INTERRUPTED):  # whoever stopped it knows
        _notify_failure(job, run, settings)
    return run


def _execute(job: Job, settings: Settings, run_dir: Path, output: Path) -> None:
    import papermill

    declared = notebook_parameters(job.notebook)
    given: dict[str, Any] = {"database_url": settings.resolved_database_url, "models_dir": str(settings.models_dir),
                             "out_dir": str(run_dir)}
    if "keep" in declared:  # the settings' number of versions to keep, unless the job says otherwise
        given["keep"] = settings.model_keep_versions
    parameters = {**given, **job.parameters}
    papermill.execute_notebook(
        str(job.notebook), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
        kernel_manager_class=_kernel_manager_class(), progress_bar=False, log_output=False,
        request_save_on_cell_execute=True, start_timeout=60,
        execution_timeout=max(1, int(job.max_run_time.total_seconds())),
    )


_running_kernels: dict[Any, int] = {}
"""Kernel managers of the notebooks this process runs now, with the thread running each, for :func:`stop_runs`."""
_stopped_threads: set[int] = set()
"""Threads whose notebook :func:`stop_runs` interrupted or killed: their runs record an interruption, not a fault."""
_running_lock = threading.Lock()


@cache
def _kernel_manager_class() -> type:
    """A kernel manager whose ``python3`` kernel is ipykernel on this very interpreter.

    Jupyter looks kernelspecs up by name along its data path, where a ``python3`` in ``~/.local/share/jupyter`` (or
    ``JUPYTER_PATH``) may point at another Python, one without this ``unseen`` installed. The notebook must train
    with the code and libraries of the process that runs it, so the spec is built from ipykernel here. The channels
    to the kernel are encrypted (CurveZMQ) where pyzmq can, as ipykernel asks for. Live kernels are registered for
    :func:`stop_runs`: jupyter_client starts each in a session of its own, so a Ctrl-C never reaches it.
    """
    import zmq
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec
    from traitlets import default

    class ThisInterpreterKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _encrypt_when_possible(self) -> str:
            return "auto" if zmq.has("curve") else "disabled"

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(name=KERNEL_NAME, resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

        async def _async_post_start_kernel(self, **kw: Any) -> None:
            await super()._async_post_start_kernel(**kw)
            with _running_lock:  # papermill runs the kernel's event loop in the thread that called run_job
                _running_kernels[self] = threading.get_ident()

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            with _running_lock:
                _running_kernels.pop(self, None)
            await super()._async_cleanup_resources(restart=restart)

    return ThisInterpreterKernelManager


def stop_runs(*, grace_seconds: float = 10.0) -> int:
    """Interrupt every notebook this process runs (SIGINT, as Jupyter's interrupt button), again each second in
    case one was between cells, and kill the kernels still alive after ``grace_seconds``. Each run then records
    itself as failed ("interrupted") and promotes nothing. Returns how many kernels were running."""
    deadline = time.monotonic() + grace_seconds
    first = None
    while True:
        with _running_lock:
            alive = [(km, thread) for km, thread in _running_kernels.items() if _kernel_process_alive(km)]
            _stopped_threads.update(thread for _, thread in alive)
        if first is None:
            first = len(alive)
        if not alive:
            return first
        # A kernel still starting up, or between two cells, ignores SIGINT: hence the repeats, then SIGKILL.
        final = time.monotonic() >= deadline
        for km, _ in alive:
            _signal_kernel(km, signal.SIGKILL if final else signal.SIGINT)
        if final:
            return first
        time.sleep(1.0)


def _kernel_process_alive(km: Any) -> bool:
    process = getattr(km.provisioner, "process", None)
    return process is not None and process.poll() is None


def _signal_kernel(km: Any, signum: int) -> None:
    provisioner = km.provisioner
    try:
        if getattr(provisioner, "pgid", None):
            os.killpg(provisioner.pgid, signum)
        else:
            os.kill(provisioner.pid, signum)
    except (ProcessLookupError, PermissionError, AttributeError, TypeError):
        pass  # it ended meanwhile


def _describe_failure(exc: BaseException, job: Job) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        value = str(exc.evalue).strip()
        message = f"{exc.ename}: {value} (cell {exc.exec_count})" if value else f"{exc.ename} (cell {exc.exec_count})"
    elif isinstance(exc, CellTimeoutError):
        message = f"a cell ran longer than max_run_time {format_duration(job.max_run_time)} and was stopped"
    elif isinstance(exc, DeadKernelError):
        message = f"the notebook's kernel died (killed, or out of memory): {exc}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    return _clip(" ".join(message.split()), SHORT_ERROR)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _notify_failure(job: Job, run: RetrainRun, settings: Settings) -> None:
    if not settings.smtp.enabled:
        return
    from unseen.monitor.notifier import NotificationError, SmtpMailer

    body = "\n".join([
        f"The retraining job {job.name!r} failed; nothing was promoted, so the model in service is unchanged.",
        "",
        f"job:      {job.name}",
        f"trigger:  {run.trigger}",
        f"started:  {run.started_at:%Y-%m-%d %H:%M:%S} UTC",
        f"error:    {run.error}",
        f"notebook: {run.notebook}",
        "",
        "The executed notebook holds the whole traceback. `unseen runs --job "
        f"{job.name}` lists the job's recent runs; `unseen retrain {job.name}` runs it again.",
    ]) + "\n"
    mailer = SmtpMailer(settings.smtp)
    message = mailer.compose(recipients=settings.smtp.operator_recipients, subject=f"Retraining {job.name} failed",
                             body=body, kind="retrain_failed")
    try:
        mailer.send(message)
    except NotificationError as exc:
        log.warning("could not tell the operators that %s failed: %s", job.name, exc)


def _new_run_dir(job: Job, settings: Settings) -> Path:
    stamp = f"{utcnow():%Y%m%dT%H%M%SZ}"
    for attempt in range(1, 1000):
        folder = job_folder(job, settings) / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot make a run folder under {job_folder(job, settings)}")


def _save(engine: Engine, run: RetrainRun) -> None:
    with session_scope(engine) as session:
        session.add(run)


def _close_abandoned_runs(engine: Engine, job: str) -> None:
    # Called under the job's lock: no run of the job is under way, so a row still marked running belongs to a
    # process that died (killed, or the machine went down) before it could record the end.
    with session_scope(engine) as session:
        stale = session.scalars(select(RetrainRun).where(RetrainRun.job == job,
                                                         RetrainRun.status == RunStatus.running)).all()
        for run in stale:
            run.status, run.ended_at = RunStatus.failed, utcnow()
            run.error = "abandoned: the process running it stopped before recording its end"
            log.warning("run %s of %s was left running by a process that stopped; marked failed", run.id, job)


def event_counter(job: Job, engine: Engine) -> int:
    """The largest id in ``job``'s count table now (0 when empty): the rows a run starting now has seen."""
    table = _COUNT_TABLES[job.count_table]
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(table.c.id))).scalar() or 0)


def last_run(engine: Engine, job: str, *, status: RunStatus | None = None) -> RetrainRun | None:
    """The latest run of ``job`` (with ``status``, when given), or None."""
    ensure_table(engine)
    query = select(RetrainRun).where(RetrainRun.job == job)
    if status is not None:
        query = query.where(RetrainRun.status == status)
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(query.order_by(RetrainRun.started_at.desc(), RetrainRun.id.desc()).limit(1)).first()


def recent_runs(engine: Engine, *, job: str | None = None, limit: int = 20) -> list[RetrainRun]:
    """The latest ``limit`` runs, newest first, of every job or of ``job``."""
    ensure_table(engine)
    query = select(RetrainRun)
    if job is not None:
        query = query.where(RetrainRun.job == job)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query.order_by(RetrainRun.started_at.desc(), RetrainRun.id.desc()).limit(limit)))


def new_events(job: Job, engine: Engine) -> int:
    """Rows added to ``job``'s count table since its last succeeded run started (all rows before its first)."""
    succeeded = last_run(engine, job.name, status=RunStatus.succeeded)
    table = _COUNT_TABLES[job.count_table]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)
                                .where(table.c.id > (succeeded.events_seen if succeeded else 0))).scalar() or 0)


def due_by_events(job: Job, engine: Engine, *, now: datetime | None = None) -> bool:
    """Whether ``job`` should run because of new rows: at least ``every_new_events`` since its last succeeded run,
    and at least ``min_interval`` since its last run of any outcome started (so a failing job is not retried in a
    tight loop). Always False for a job without ``every_new_events``."""
    if not job.every_new_events:
        return False
    latest = last_run(engine, job.name)
    if latest is not None and job.min_interval > timedelta(0):
        started = latest.started_at if latest.started_at.tzinfo else latest.started_at.replace(tzinfo=UTC)
        if (now or utcnow()) - started < job.min_interval:
            return False
    return new_events(job, engine) >= job.every_new_events
