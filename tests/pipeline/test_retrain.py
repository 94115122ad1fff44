"""Retraining runs: notebooks executed with papermill, runs recorded, failures contained, triggers and locks.

The seeded shop is shared by the module; every other test gets its own database, registry and runs folder. Tests
that only need *a* scheduled notebook run the probe notebook (tests/pipeline/conftest.py), which trains nothing.
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from typer.testing import CliRunner

from unseen.cli import app
from unseen.config import Settings
from unseen.db import create_schema, make_engine
from unseen.ml.registry import ModelRegistry
from unseen.monitor.notifier import SmtpSettings
from unseen.pipeline.jobs import load_jobs
from unseen.pipeline.runner import (
    JobBusy,
    due_by_events,
    is_running,
    job_folder,
    new_events,
    recent_runs,
    run_job,
)
from unseen.pipeline.scheduler import EVENTS_JOB_ID, build_scheduler, submit_due_jobs
from unseen.pipeline.tables import RetrainRun, RunStatus
from unseen.tables import Event, EventKind, RequestLog, utcnow

from tests.conftest import TEST_CLIENT, reference_data_dir
from tests.pipeline.conftest import write_jobs

runner = CliRunner()
RETRAIN_NOTEBOOK = Path(__file__).resolve().parents[2] / "scheduled" / "retrain.ipynb"
TASKS = ("recommend", "trends", "clustering", "anomaly")


def insert_request_log(engine) -> None:
    """A synthetic request log (shoppers and a few attackers) for the anomaly task, as tests/test_cli.py does."""
    from unseen.ml.anomaly import synthetic_requests

    log = synthetic_requests(80, attackers_per_kind=1, hours=3, random_state=4)
    rows = [{"at": r.at.to_pydatetime(), "ip": r.ip, "method": r.method, "path": r.path, "query": r.query or "",
             "status": int(r.status), "latency_ms": float(r.latency_ms), "user_agent": r.user_agent,
             "session_id": None if pd.isna(r.session_id) else int(r.session_id),
             "response_bytes": int(r.response_bytes), "category": "normal" if r.attack == "normal" else "anomaly",
             "blocked": False} for r in log.itertuples()]
    with engine.begin() as conn:
        conn.execute(insert(RequestLog.__table__), rows)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("retrain")
    url = f"sqlite:///{root}/shop.db"
    result = runner.invoke(app, ["seed", "--database-url", url, "--customers", "60", "--products", "80",
                                 "--months", "27", "--until", "2026-08-31"])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    insert_request_log(engine)
    engine.dispose()
    return root, url


def shop_settings(url: str, folder: Path, **overrides) -> Settings:
    return Settings(environment="test", database_url=url, models_dir=folder / "models", runs_dir=folder / "runs",
                    var_dir=folder / "var", artefacts_dir=folder / "artefacts", model_poll_seconds=0,
                    feed_cache_seconds=0, reference_data_dir=reference_data_dir(), allowlist=[TEST_CLIENT[0]],
                    **overrides)


def add_events(engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Event.__table__), [{"kind": EventKind.view.name, "at": utcnow()} for _ in range(n)])


# --- the real retraining notebook on a seeded shop ---------------------------------------------------------------


@pytest.mark.timeout(600)
def test_retrain_all_trains_every_task_and_records_the_runs(shop, monkeypatch):
    root, url = shop
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("UNSEEN_RUNS_DIR", str(root / "runs"))
    result = runner.invoke(app, ["retrain", "--all", "--database-url", url])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "recommend: promoted: first promoted version of recommend" in said

    registry = ModelRegistry(root / "models")
    engine = make_engine(url)
    runs = {run.job: run for run in recent_runs(engine)}
    assert set(runs) == set(TASKS)
    for task in TASKS:
        run = runs[task]
        assert run.status == RunStatus.succeeded and run.trigger == "manual" and run.error is None
        assert run.promoted and run.model_version == registry.promoted(task).version
        notebook = Path(run.notebook)
        assert notebook.is_file() and notebook.parent.parent == root / "runs" / "scheduled" / task
        executed = json.loads(notebook.read_text())
        assert all(cell.get("outputs") is not None for cell in executed["cells"] if cell["cell_type"] == "code")
        assert executed["metadata"]["papermill"]["parameters"]["task"] == task
        outcome = json.loads((notebook.parent / "result.json").read_text())
        assert outcome["version"] == run.model_version and outcome["task"] == task and outcome["metrics"]
        assert outcome["python"] == sys.executable  # the kernel ran on this interpreter, with this unseen
    assert runs["anomaly"].events_seen > 0 and runs["recommend"].events_seen > runs["anomaly"].events_seen
    listed = runner.invoke(app, ["runs", "--database-url", url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and all(task in listed.output for task in TASKS) and "succeeded" in listed.output
    engine.dispose()


def register_weak_recommender(engine, registry: ModelRegistry) -> str:
    """A promoted recommender that any retrained one beats: a real item-kNN, recorded with nDCG 0."""
    from unseen.ml.recommend import ItemKNNRecommender
    from unseen.ml.recommend._shop import fit_on_events, load_item_events

    events = load_item_events(engine)
    model = fit_on_events(ItemKNNRecommender(n_neighbors=2), events)
    version = registry.register("recommend", model, params={"n_neighbors": 2}, metrics={"holdout": {"ndcg": 0.0}},
                                data_range=(events["at"].min(), events["at"].max()), n_samples=len(events))
    assert registry.promote_if_better("recommend", version.version, "holdout.ndcg").promoted
    return version.version


@pytest.mark.timeout(600)
def test_a_running_api_serves_the_retrained_model(shop, tmp_path):
    from unseen.shop import create_app

    _, url = shop
    settings = shop_settings(url, tmp_path)
    engine = make_engine(url)
    registry = ModelRegistry(settings.models_dir)
    weak = register_weak_recommender(engine, registry)
    job = load_jobs()["recommend"]
    with TestClient(create_app(settings, engine), client=TEST_CLIENT) as client:
        assert client.app.state.recommender.get()[0].version == weak
        run = run_job(job, settings, trigger="manual")
        assert run.status == RunStatus.succeeded and run.promoted, run.error or run.reason
        assert client.get("/api/products").status_code == 200  # the shop served on; training ran elsewhere
        served, model = client.app.state.recommender.get()
        assert served.version == run.model_version != weak
        assert served.params["n_neighbors"] == 30 and model.n_neighbors == 30
    engine.dispose()


def test_a_failed_run_keeps_the_promoted_model_and_tells_the_operator(tmp_path, smtp_server):
    empty = f"sqlite:///{tmp_path}/empty.db"  # a shop with no events: the corrupt input of this run
    engine = make_engine(empty)
    create_schema(engine)
    smtp = SmtpSettings(enabled=True, host="127.0.0.1", port=smtp_server.port, timeout=5.0,
                        operator_recipients=["ops@shop.example"])
    settings = shop_settings(empty, tmp_path, smtp=smtp)
    registry = ModelRegistry(settings.models_dir)
    serving = registry.register("recommend", {"stands in for": "the model in service"}, params={},
                                metrics={"holdout": {"ndcg": 0.1}}, data_range=("2026-01-01", "2026-08-31"),
                                n_samples=1)
    registry.promote_if_better("recommend", serving.version, "holdout.ndcg")

    run = run_job(load_jobs()["recommend"], settings, trigger="cron")

    assert run.status == RunStatus.failed and run.model_version is None and not run.promoted
    assert run.error.startswith("ValueError: there are no product events to learn from")
    assert registry.promoted("recommend").version == serving.version
    assert [v.version for v in registry.list("recommend")] == [serving.version]
    [recorded] = recent_runs(engine, job="recommend")
    assert (recorded.status, recorded.error, recorded.trigger) == (RunStatus.failed, run.error, "cron")
    assert recorded.ended_at is not None and Path(recorded.notebook).is_file()  # the traceback stays readable
    [mail] = smtp_server.handler.wait_for(1)
    assert mail.rcpt_tos == ["ops@shop.example"] and "Retraining recommend failed" in mail.message["Subject"]
    assert "job:      recommend" in mail.body and "there are no product events to learn from" in mail.body
    assert "model in service is unchanged" in mail.body and recorded.notebook in mail.body
    engine.dispose()


def test_retrain_reports_a_failed_run_without_a_traceback(tmp_path, engine):
    url = engine.url.render_as_string(hide_password=False)
    jobs_file = write_jobs(tmp_path, f"""
[jobs.broken]
notebook = "{RETRAIN_NOTEBOOK}"
parameters = {{ task = "recommend", fail = true }}
""")
    result = runner.invoke(app, ["retrain", "broken", "--jobs-file", str(jobs_file), "--database-url", url],
                           env={"UNSEEN_RUNS_DIR": str(tmp_path / "runs"), "UNSEEN_MODELS_DIR": str(tmp_path / "m"),
                                "COLUMNS": "200"})
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "broken failed: RuntimeError: fail=True: this run fails on purpose" in said
    assert "Traceback" not in result.output and not (tmp_path / "m" / "recommend").exists()
    [run] = recent_runs(engine)
    assert run.status == RunStatus.failed and "fail=True" in run.error


# --- the runner's mechanics, with the probe notebook ---------------------------------------------------------------


def probe_job(tmp_path: Path, notebook: Path, body: str = ""):
    return load_jobs(write_jobs(tmp_path, f'[jobs.probe]\nnotebook = "{notebook}"\n{body}\n'))["probe"]


def test_the_kernel_is_this_interpreter_whatever_kernelspecs_say(tmp_path, probe_notebook, pipeline_settings,
                                                                  monkeypatch):
    # A python3 kernelspec earlier on the Jupyter path that points at another Python (one without unseen).
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/nonexistent/bin/python", "-m", "ipykernel_launcher",
                                                           "-f", "{connection_file}"],
                                                  "display_name": "elsewhere", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    run = run_job(probe_job(tmp_path, probe_notebook), pipeline_settings, trigger="manual")
    assert run.status == RunStatus.succeeded, run.error
    outcome = json.loads((Path(run.notebook).parent / "result.json").read_text())
    assert outcome["python"] == sys.executable
    assert Path(outcome["unseen"]).resolve().is_relative_to(Path(__file__).resolve().parents[2] / "src")
    assert outcome["database_url"] == pipeline_settings.resolved_database_url
    assert outcome["models_dir"] == str(pipeline_settings.models_dir)


def test_a_run_longer_than_max_run_time_is_stopped_and_recorded(tmp_path, probe_notebook, pipeline_settings,
                                                                engine):
    job = probe_job(tmp_path, probe_notebook, 'parameters = { sleep = 60.0 }\nmax_run_time = "2s"')
    started = time.monotonic()
    run = run_job(job, pipeline_settings, trigger="manual", engine=engine)
    assert time.monotonic() - started < 30
    assert run.status == RunStatus.failed and "ran longer than max_run_time 2s" in run.error
    assert not is_running(job, pipeline_settings)  # the lock went with the run


def test_new_events_trigger_a_run_once_enough_arrived(tmp_path, probe_notebook, pipeline_settings, engine):
    job = probe_job(tmp_path, probe_notebook, 'every_new_events = 5\nmin_interval = "1h"')
    add_events(engine, 4)
    assert not due_by_events(job, engine) and new_events(job, engine) == 4
    add_events(engine, 1)
    assert due_by_events(job, engine)

    run = run_job(job, pipeline_settings, trigger="events", engine=engine)
    assert run.status == RunStatus.succeeded and run.events_seen == 5, run.error
    assert not due_by_events(job, engine) and new_events(job, engine) == 0

    add_events(engine, 5)
    assert new_events(job, engine) == 5 and not due_by_events(job, engine)  # min_interval has not passed
    with engine.begin() as conn:
        conn.execute(update(RetrainRun.__table__).values(started_at=run.started_at - timedelta(hours=2)))
    assert due_by_events(job, engine)

    # A failed run does not reset the count (the rows were not learned from), but it does wait min_interval.
    with engine.begin() as conn:
        conn.execute(insert(RetrainRun.__table__).values(
            job="probe", trigger="events", status=RunStatus.failed.name, notebook="-", events_seen=10,
            started_at=run.started_at - timedelta(minutes=90)))
    assert new_events(job, engine) == 5 and due_by_events(job, engine)


def test_the_anomaly_job_counts_request_log_rows(tmp_path, probe_notebook, engine):
    job = probe_job(tmp_path, probe_notebook, 'every_new_events = 3\ncount_table = "request_log"')
    add_events(engine, 10)
    assert new_events(job, engine) == 0 and not due_by_events(job, engine)
    with engine.begin() as conn:
        conn.execute(insert(RequestLog.__table__), [
            {"at": utcnow(), "ip": "198.51.100.7", "method": "GET", "path": "/", "status": 200, "latency_ms": 1.0}
            for _ in range(3)])
    assert new_events(job, engine) == 3 and due_by_events(job, engine)


def test_a_second_run_of_a_running_job_is_refused(tmp_path, probe_notebook, pipeline_settings, engine):
    job = probe_job(tmp_path, probe_notebook)
    lock = job_folder(job, pipeline_settings) / ".lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as held:  # what a run in another process holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("process 4242 since 2026-08-31 06:00:00 UTC\n")
        held.flush()
        assert is_running(job, pipeline_settings)
        with pytest.raises(JobBusy, match=r"job 'probe' is already running \(process 4242 since 2026-08-31 "
                                          r"06:00:00 UTC\); two runs of one job never overlap"):
            run_job(job, pipeline_settings, trigger="cron", engine=engine)
        jobs_file = tmp_path / "jobs.toml"
        result = runner.invoke(app, ["retrain", "probe", "--jobs-file", str(jobs_file), "--database-url",
                                     pipeline_settings.resolved_database_url],
                               env={"UNSEEN_RUNS_DIR": str(pipeline_settings.runs_dir), "COLUMNS": "200"})
        assert result.exit_code == 1 and "Not run: job 'probe' is already running" in result.output
    assert recent_runs(engine) == []  # refused runs are not recorded
    assert [p.name for p in lock.parent.iterdir()] == [".lock"]  # and leave no run folder
    assert not is_running(job, pipeline_settings)


def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next(tmp_path, probe_notebook, pipeline_settings,
                                                                     engine):
    job = probe_job(tmp_path, probe_notebook)
    with engine.begin() as conn:
        conn.execute(insert(RetrainRun.__table__).values(job="probe", trigger="cron", status=RunStatus.running.name,
                                                         notebook="-", events_seen=0))
    run = run_job(job, pipeline_settings, trigger="manual", engine=engine)
    assert run.status == RunStatus.succeeded, run.error
    latest, abandoned = recent_runs(engine)
    assert latest.id == run.id and abandoned.status == RunStatus.failed and "abandoned" in abandoned.error


# --- the scheduler ------------------------------------------------------------------------------------------------


def test_the_scheduler_has_a_cron_trigger_per_job_and_one_check_for_new_events(pipeline_settings, engine):
    from datetime import UTC, datetime

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = build_scheduler(load_jobs(), pipeline_settings, engine=engine)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"cron:recommend", "cron:trends", "cron:clustering", "cron:anomaly", EVENTS_JOB_ID}
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    assert isinstance(scheduler._executors["default"], ThreadPoolExecutor)
    monday = datetime(2026, 8, 3, 1, 0, tzinfo=UTC)
    next_times = {}
    for name in ("recommend", "trends", "clustering", "anomaly"):
        trigger = jobs[f"cron:{name}"].trigger
        assert isinstance(trigger, CronTrigger) and trigger.timezone == UTC
        next_times[name] = trigger.get_next_fire_time(None, monday + timedelta(seconds=1))
    assert {k: f"{v:%a %H:%M}" for k, v in next_times.items()} == {
        "recommend": "Mon 06:00", "trends": "Mon 03:30", "clustering": "Mon 04:00", "anomaly": "Mon 06:15"}
    clustering = jobs["cron:clustering"].trigger
    following = clustering.get_next_fire_time(None, next_times["clustering"] + timedelta(seconds=1))
    assert f"{following:%a %d %H:%M}" == "Mon 10 04:00"
    check = jobs[EVENTS_JOB_ID]
    assert isinstance(check.trigger, IntervalTrigger) and check.trigger.interval == timedelta(seconds=60)
    assert [job.name for job in check.args[1]] == ["recommend", "anomaly"]


def test_the_check_submits_due_jobs_that_are_not_running(tmp_path, probe_notebook, pipeline_settings, engine):
    job = probe_job(tmp_path, probe_notebook, "every_new_events = 2")
    scheduler = build_scheduler([job], pipeline_settings, engine=engine)
    assert submit_due_jobs(scheduler, [job], pipeline_settings, engine) == []
    add_events(engine, 2)
    lock = job_folder(job, pipeline_settings) / ".lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert submit_due_jobs(scheduler, [job], pipeline_settings, engine) == []  # running: left alone
    assert submit_due_jobs(scheduler, [job], pipeline_settings, engine) == ["probe"]
    submitted = scheduler.get_job("events:probe")
    assert submitted.args[0] == job and submitted.args[3] == "events"


@pytest.mark.timeout(120)
def test_the_scheduler_runs_a_due_job_in_its_thread_pool(tmp_path, probe_notebook, pipeline_settings, engine):
    job = probe_job(tmp_path, probe_notebook, "every_new_events = 1")
    add_events(engine, 1)
    scheduler = build_scheduler([job], pipeline_settings, engine=engine, check_seconds=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 90
        while not (runs := recent_runs(engine)) or runs[0].status == RunStatus.running:
            assert time.monotonic() < deadline, "the scheduler did not run the due job"
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    [run] = recent_runs(engine)  # once: not again while it ran, nor after (no new rows)
    assert (run.status, run.trigger, run.events_seen) == (RunStatus.succeeded, "events", 1), run.error


@pytest.mark.timeout(120)
def test_stopping_the_scheduler_interrupts_the_runs_under_way(tmp_path, probe_notebook, pipeline_settings, engine):
    import os
    import signal
    import threading

    from unseen.pipeline.scheduler import run_scheduler

    job = probe_job(tmp_path, probe_notebook, "every_new_events = 1\nparameters = { sleep = 120.0 }")
    add_events(engine, 1)

    def stop_once_running(_scheduler) -> None:
        def wait_then_terminate() -> None:
            deadline = time.monotonic() + 60
            while not (runs := recent_runs(engine)) or not (Path(runs[0].notebook).parent / "sleeping").exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends; Ctrl-C takes the same way out

        threading.Thread(target=wait_then_terminate, daemon=True).start()

    started = time.monotonic()
    run_scheduler({"probe": job}, pipeline_settings, engine=engine, on_start=stop_once_running, check_seconds=0.2,
                  grace_seconds=5)
    assert time.monotonic() - started < 60  # not the notebook's 120 s
    [run] = recent_runs(engine)
    assert run.status == RunStatus.failed and run.error.startswith("interrupted: the run was stopped"), run.error
    assert not is_running(job, pipeline_settings)


@pytest.mark.timeout(120)
def test_stop_runs_ends_a_run_whose_kernel_is_still_starting(tmp_path, probe_notebook, pipeline_settings, engine,
                                                             smtp_server):
    import threading

    from unseen.pipeline.runner import stop_runs

    smtp = SmtpSettings(enabled=True, host="127.0.0.1", port=smtp_server.port, timeout=5.0)
    settings = pipeline_settings.model_copy(update={"smtp": smtp})
    job = probe_job(tmp_path, probe_notebook, "parameters = { sleep = 120.0 }")
    finished: list[RetrainRun] = []
    worker = threading.Thread(target=lambda: finished.append(run_job(job, settings, trigger="cron", engine=engine)))
    worker.start()
    deadline = time.monotonic() + 60
    while stop_runs(grace_seconds=2) == 0:  # the first kernel it finds is one starting up, ignoring SIGINT
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.05)
    worker.join(30)
    [run] = finished
    assert run.status == RunStatus.failed and run.error == "interrupted: the run was stopped before it finished"
    assert not (Path(run.notebook).parent / "result.json").exists()
    assert smtp_server.handler.wait_for(1, timeout=1.0) == []  # whoever stopped it knows; no e-mail
