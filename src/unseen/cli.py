"""The ``unseen`` command: seed the shop, serve it, keep the API contract."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import date
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from unseen.config import PROJECT_ROOT, Settings

app = typer.Typer(help="unseen: traditional machine learning that secures, personalises and monitors a shop.",
                  no_args_is_help=True, add_completion=False)
console = Console()

DatabaseUrl = Annotated[Optional[str], typer.Option("--database-url", help="SQLAlchemy URL (default: UNSEEN_DATABASE_URL or var/unseen.db)")]


def _settings(database_url: str | None) -> Settings:
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValueError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _engine(settings: Settings):
    from sqlalchemy.exc import ArgumentError, OperationalError

    from sqlalchemy.engine import make_url

    from unseen.db import create_schema, make_engine

    try:
        engine = make_engine(settings.resolved_database_url)
        create_schema(engine)  # idempotent: every command works on a fresh database
        return engine
    except ArgumentError as exc:
        console.print(f"[red]Cannot use the database URL {settings.resolved_database_url!r}:[/red] {exc}. "
                      "Expected something like sqlite:///var/unseen.db or postgresql://user:pass@host/db")
        raise typer.Exit(2) from None
    except OperationalError as exc:
        shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        console.print(f"[red]Cannot reach the database {shown!r}:[/red] {exc.orig}")
        raise typer.Exit(2) from None


@app.command()
def seed(
    database_url: DatabaseUrl = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed (and --until) gives the same shop")] = 7,
    customers: Annotated[int, typer.Option(min=1, max=100_000, help="How many customers")] = 400,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history, ending at --until")] = 26,
    products: Annotated[int, typer.Option(min=10, max=5000, help="Real products to take from the retail sample")] = 600,
    until: Annotated[Optional[str], typer.Option(help="Last day of history, YYYY-MM-DD (default: today)")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop every table first and seed from scratch")] = False,
) -> None:
    """Build a realistic catalogue and history of orders and events. Idempotent: a second run changes nothing."""
    from unseen.simulate.seed import SeedConflict, SeedParameters
    from unseen.simulate.seed import seed as run_seed

    settings = _settings(database_url)
    try:
        last_day = date.fromisoformat(until) if until else None
    except ValueError:
        console.print(f"[red]--until {until!r} is not a date;[/red] expected YYYY-MM-DD, for example 2026-11-21")
        raise typer.Exit(2) from None
    params = SeedParameters(seed=seed, customers=customers, months=months, products=products,
                            **({"until": last_day} if last_day else {}))
    engine = _engine(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            summary = run_seed(engine, settings, params, reset=reset, progress=progress)
        except SeedConflict as exc:
            console.print(f"[red]Not seeded:[/red] {exc}")
            raise typer.Exit(1) from None

    table = Table(title=f"unseen seed: {summary.status}", show_header=False)
    table.add_row("database", engine.url.render_as_string(hide_password=True))
    table.add_row("history", f"{summary.first_day} to {summary.last_day}")
    table.add_row("catalogue", f"{summary.products:,} products ({summary.catalogue_source})")
    for key in ("customers", "sessions", "orders", "order_lines", "events"):
        table.add_row(key.replace("_", " "), f"{getattr(summary, key):,}")
    table.add_row("events by kind", ", ".join(f"{k} {v:,}" for k, v in summary.events_by_kind.items()))
    table.add_row("operator login", f"{settings.operator_email} / (UNSEEN_OPERATOR_PASSWORD)")
    table.add_row("customer login", "jane.doe@shoppers.example / (UNSEEN_DEMO_CUSTOMER_PASSWORD, default shopper-demo)")
    console.print(table)


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the shop with uvicorn (one worker)."""
    import uvicorn

    from unseen.shop import create_app

    settings = _settings(database_url)
    shop = create_app(settings, _engine(settings))
    console.print(f"unseen shop on [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(shop, host=host, port=port, log_level=log_level, access_log=False)


TASKS = ("recommend", "trends", "clustering")
TRAIN_TASKS = (*TASKS, "anomaly")


def _check_task(task: str, tasks: tuple[str, ...] = TASKS) -> str:
    if task not in tasks:
        console.print(f"[red]Unknown task {task!r};[/red] expected one of: {', '.join(tasks)}")
        raise typer.Exit(2)
    return task


@app.command()
def train(
    task: Annotated[str, typer.Argument(help=f"What to train: {', '.join(TRAIN_TASKS)}")],
    database_url: DatabaseUrl = None,
    neighbors: Annotated[int, typer.Option(min=1, max=1000, help="recommend: neighbours kept per item")] = 30,
    shrinkage: Annotated[float, typer.Option(min=0, help="recommend: similarity shrinkage")] = 10.0,
    test_days: Annotated[int, typer.Option(min=1, max=365, help="recommend: days held out to judge the model")] = 30,
    test_months: Annotated[int, typer.Option(min=1, max=24, help="trends: months held out (rolling origins)")] = 6,
    k: Annotated[Optional[int], typer.Option(min=2, max=50, help="clustering: segments (default: by silhouette)")] = None,
    detector: Annotated[str, typer.Option(help="anomaly: one_class_svm or isolation_forest")] = "one_class_svm",
    target_fpr: Annotated[float, typer.Option(min=1e-5, max=0.5, help="anomaly: share of clean windows flagged")] = 0.001,
    days: Annotated[float, typer.Option(min=0.001, max=365, help="anomaly: days of the request log to learn from")] = 7.0,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing when a version is promoted already")] = False,
) -> None:
    """Train TASK's model on the shop's data, register it, and promote it if it beats the promoted one."""
    from unseen.ml import training
    from unseen.ml.registry import ModelRegistry

    _check_task(task, TRAIN_TASKS)
    settings = _settings(database_url)
    registry = ModelRegistry(settings.models_dir)
    if if_missing and (current := registry.promoted(task)) is not None:
        console.print(f"{task}: version {current.version} is promoted already; nothing to train")
        return
    runs = {
        "recommend": lambda engine, say: training.train_recommend(
            engine, registry, training.RecommendParameters(n_neighbors=neighbors, shrinkage=shrinkage,
                                                           test_days=test_days),
            keep=settings.model_keep_versions, progress=say),
        "trends": lambda engine, say: training.train_trends(
            engine, registry, training.TrendsParameters(test_months=test_months), keep=settings.model_keep_versions,
            progress=say),
        "clustering": lambda engine, say: training.train_clustering(
            engine, registry, training.ClusteringParameters(k=k), keep=settings.model_keep_versions, progress=say),
        "anomaly": lambda engine, say: training.train_anomaly(
            engine, registry, training.AnomalyParameters(detector=detector, target_fpr=target_fpr, days=days),
            exclude_networks=settings.allowlist, keep=settings.model_keep_versions, progress=say),
    }
    with console.status("training ...") as status:
        try:
            result = runs[task](_engine(settings), lambda message: status.update(message))
        except ValueError as exc:
            console.print(f"[red]Not trained:[/red] {exc}")
            raise typer.Exit(1) from None
    baseline_name = {"recommend": "popularity", "trends": "seasonal naive", "clustering": "DBSCAN",
                     "anomaly": ""}[task]
    table = Table(title=f"unseen train {task}: version {result.version.version}")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column(baseline_name, justify="right")
    for key, value in result.metrics.items():
        base = result.baseline.get(key)
        table.add_row(key, "-" if value != value else f"{value:.4f}", "" if base is None else f"{base:.4f}")
    console.print(table)
    verdict = "[green]promoted[/green]" if result.decision.promoted else "[yellow]not promoted[/yellow]"
    console.print(f"{verdict}: {result.decision.reason}")
    if result.pruned:
        console.print(f"pruned old versions: {', '.join(result.pruned)}")


SHOWN_COLUMNS = ("dataset", "model", "precision", "recall", "f1", "ndcg", "map", "hit_rate", "roc_auc",
                 "average_precision", "fpr", "mase", "smape", "coverage", "n_clusters", "silhouette", "davies_bouldin",
                 "noise_share", "stability_ari")


def _evaluation_rows(task: str, engine, *, movielens: bool, test_days: int, test_months: int) -> list[dict]:
    from unseen.ml import training

    if task == "recommend":
        return training.evaluate_recommend(engine, training.RecommendParameters(test_days=test_days), movielens=movielens)
    if task == "trends":
        return training.evaluate_trends(engine, training.TrendsParameters(test_months=test_months))
    if task == "anomaly":
        return training.evaluate_anomaly()
    return training.evaluate_clustering(engine)


def _evaluate_detection(run: str | None, database_url: str | None) -> None:
    from pathlib import Path

    from unseen.db import make_engine
    from unseen.simulate.evaluate import detection_table, evaluate_run, run_database_url

    if not run:
        console.print("[red]Which run?[/red] expected `unseen evaluate detection RUN` with a folder under "
                      "runs/simulations/")
        raise typer.Exit(2)
    folder = Path(run)
    try:
        url = database_url or run_database_url(folder) or _settings(None).resolved_database_url
        report = evaluate_run(folder, make_engine(url))
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]Not evaluated:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(detection_table(report))
    console.print(f"wrote {folder / 'detection.json'} and {folder / 'detection.csv'}")


def _evaluate_logins(run: str | None, database_url: str | None) -> None:
    from pathlib import Path

    from unseen.logins.evaluate import CURVE_SVG, REPORT_JSON, THRESHOLDS_CSV, evaluate_logins, login_table

    if not run:
        console.print("[red]Which run?[/red] expected `unseen evaluate logins RUN` with a folder under runs/logins/")
        raise typer.Exit(2)
    folder = Path(run)
    settings = _settings(database_url)
    try:
        report = evaluate_logins(folder, _engine(settings), step_up_threshold=settings.login_risk.step_up_threshold)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]Not evaluated:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(login_table(report))
    console.print(f"wrote {folder / REPORT_JSON}, {folder / THRESHOLDS_CSV} and {folder / CURVE_SVG}")


@app.command("simulate-logins")
def simulate_logins(
    url: Annotated[Optional[str], typer.Option(help="A running shop; default: start one on --database-url")] = None,
    database_url: DatabaseUrl = None,
    users: Annotated[int, typer.Option(min=1, max=100_000, help="seeded accounts that log in")] = 100,
    habitual: Annotated[int, typer.Option(min=0, max=100, help="habitual logins per user")] = 3,
    travellers: Annotated[float, typer.Option(min=0, max=1, help="share of users who log in from abroad")] = 0.3,
    new_devices: Annotated[float, typer.Option(min=0, max=1, help="share with a new device at home")] = 0.2,
    takeovers: Annotated[float, typer.Option(min=0, max=1, help="share targeted by an account takeover")] = 0.5,
    seed: Annotated[int, typer.Option(help="the same seed replays the same logins")] = 7,
    evaluate_after: Annotated[bool, typer.Option("--evaluate/--no-evaluate", help="evaluate at the end")] = True,
) -> None:
    """Habitual logins, travellers, new devices and account takeovers over real HTTP, with ground truth."""
    from contextlib import nullcontext

    from unseen.simulate.logins import LoginScenario, known_browsers
    from unseen.simulate.logins import simulate_logins as play
    from unseen.simulate.server import running_shop
    from unseen.simulate.traffic import load_accounts

    settings = _settings(database_url)
    try:
        scenario = LoginScenario(users=users, habitual=habitual, travellers=travellers, new_devices=new_devices,
                                 takeovers=takeovers, seed=seed)
    except ValueError as exc:
        console.print(f"[red]Not simulated:[/red] {exc}")
        raise typer.Exit(2) from None
    engine = _engine(settings)
    accounts = load_accounts(engine, settings.demo_customer_password.get_secret_value())
    browsers = known_browsers(engine)
    server = nullcontext() if url else running_shop(settings.resolved_database_url)
    try:
        with server as shop, console.status("logging in ..."):
            run_dir = play(scenario, accounts, url or shop.url, settings.runs_dir / "logins", browsers)
    except (RuntimeError, ValueError, OSError) as exc:
        console.print(f"[red]The simulation stopped:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"run folder: {run_dir}")
    if evaluate_after:
        _evaluate_logins(str(run_dir), database_url)


@app.command()
def evaluate(
    task: Annotated[str, typer.Argument(help=f"What to evaluate: {', '.join(TASKS)}, anomaly, detection RUN, "
                                             "logins RUN")],
    run: Annotated[Optional[str], typer.Argument(help="detection, logins: the simulation's run folder")] = None,
    database_url: DatabaseUrl = None,
    movielens: Annotated[bool, typer.Option(help="recommend: also run the MovieLens 100k protocol")] = True,
    test_days: Annotated[int, typer.Option(min=1, max=365, help="recommend: days held out on the shop's data")] = 30,
    test_months: Annotated[int, typer.Option(min=1, max=24, help="trends: months held out (rolling origins)")] = 6,
) -> None:
    """Evaluate TASK's method against its alternatives; writes JSON and CSV under artefacts/evaluations/.

    anomaly compares Isolation Forest and One-Class SVM on a labelled synthetic request log."""
    import pandas as pd

    from unseen.tables import utcnow

    if task == "detection":
        _evaluate_detection(run, database_url)
        return
    if task == "logins":
        _evaluate_logins(run, database_url)
        return
    if task != "anomaly":
        _check_task(task)
    settings = _settings(database_url)
    with console.status(f"evaluating {task} ..."):
        try:
            rows = _evaluation_rows(task, _engine(settings), movielens=movielens, test_days=test_days,
                                    test_months=test_months)
        except (ValueError, FileNotFoundError) as exc:
            console.print(f"[red]Not evaluated:[/red] {exc}")
            raise typer.Exit(1) from None
    frame = pd.DataFrame(rows)
    shown = [c for c in SHOWN_COLUMNS if c in frame.columns]
    table = Table(title=f"unseen evaluate {task} (every column is in the files)")
    for column in shown:
        table.add_column(column, justify="left" if column in ("dataset", "model") else "right")
    for row in frame[shown].itertuples(index=False):
        table.add_row(*["" if v is None or (isinstance(v, float) and v != v) else
                        (f"{v:.4f}" if isinstance(v, float) else str(v)) for v in row])
    console.print(table)
    folder = settings.artefacts_dir / "evaluations"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{task}-{utcnow():%Y%m%dT%H%M%SZ}"
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".json").write_text(frame.to_json(orient="records", indent=2))
    console.print(f"wrote {stem.with_suffix('.csv')} and {stem.with_suffix('.json')}")


@app.command()
def simulate(
    what: Annotated[str, typer.Argument(help="traffic: shoppers and attackers over HTTP; transactions: card payments "
                                             "in the Kaggle layout (--rows, --users, --seed, --out)")] = "traffic",
    url: Annotated[Optional[str], typer.Option(help="A running shop; default: start one on --database-url")] = None,
    database_url: DatabaseUrl = None,
    duration: Annotated[float, typer.Option(min=1, max=86_400, help="seconds")] = 120.0,
    shoppers: Annotated[int, typer.Option(min=0, max=5000, help="normal shoppers")] = 200,
    attacks: Annotated[str, typer.Option(help="all, none, floods, logins, injection, bots, or kinds separated by "
                                              "commas; kind@START+LENGTH:RATExCLIENTS, e.g. flood_single@20+15:50")] = "all",
    rate_scale: Annotated[float, typer.Option(min=0.01, max=10, help="factor on every attack's rate")] = 1.0,
    seed: Annotated[int, typer.Option(help="the same seed replays the same clients and choices")] = 7,
    disguise: Annotated[bool, typer.Option("--disguise", help="attack tools send browser user agents")] = False,
    max_rate: Annotated[float, typer.Option(min=1, max=5000, help="requests per second, all clients together")] = 400.0,
    max_concurrency: Annotated[int, typer.Option(min=1, max=1000, help="requests in flight at once")] = 64,
    evaluate_after: Annotated[bool, typer.Option("--evaluate/--no-evaluate", help="evaluate detection at the end")] = True,
    rows: Annotated[int, typer.Option(min=1, max=100_000_000, help="transactions: rows to write")] = 13_305_915,
    users: Annotated[int, typer.Option(min=1, max=100_000, help="transactions: card holders")] = 2000,
    out: Annotated[Optional[str], typer.Option(help="transactions: folder (default: data/raw/transactions)")] = None,
) -> None:
    """Drive shoppers and attackers through a real shop over HTTP (the ground truth stays in the run folder), or
    with `transactions` write card transactions in the Kaggle layout."""
    if what not in ("traffic", "transactions"):
        console.print(f"[red]Not simulated:[/red] unknown {what!r}; expected traffic or transactions")
        raise typer.Exit(2)
    if what == "transactions":
        from unseen.analytics.command import simulate_transactions

        try:
            simulate_transactions(rows=rows, users=users, seed=seed, out=out, console=console)
        except ValueError as exc:
            console.print(f"[red]Not simulated:[/red] {exc}")
            raise typer.Exit(2) from None
        except OSError as exc:
            console.print(f"[red]The simulation stopped:[/red] {exc}")
            raise typer.Exit(1) from None
        return
    from unseen.simulate.attacks import parse_attacks
    from unseen.simulate.evaluate import detection_table, evaluate_run
    from unseen.simulate.traffic import Scenario, summary_table
    from unseen.simulate.traffic import simulate as run_simulation

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        scenario = Scenario(duration_s=duration, shoppers=shoppers, seed=seed, tool_user_agents=not disguise,
                            attacks=parse_attacks(attacks, duration, rate_scale), max_rate=max_rate,
                            max_concurrency=max_concurrency)
    except ValueError as exc:
        console.print(f"[red]Not simulated:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        result = run_simulation(scenario, url=url, database_url=settings.resolved_database_url,
                                out_dir=settings.runs_dir / "simulations", settings=settings, console=console)
    except (RuntimeError, FileNotFoundError, ValueError, OSError) as exc:
        console.print(f"[red]The simulation stopped:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(summary_table(result))
    if evaluate_after:
        console.print(detection_table(evaluate_run(result.run_dir, engine)))
    console.print(f"run folder: {result.run_dir}")


@app.command()
def openapi(
    write: Annotated[bool, typer.Option("--write", help="Write api/openapi.json instead of checking it")] = False,
) -> None:
    """Check (or with --write, regenerate) the committed API contract api/openapi.json."""
    from unseen.shop.contract import CONTRACT_PATH, current_schema

    rendered = json.dumps(current_schema(), indent=2, sort_keys=True) + "\n"
    if write:
        CONTRACT_PATH.write_text(rendered)
        console.print(f"wrote {CONTRACT_PATH.relative_to(PROJECT_ROOT)}")
        return
    if not CONTRACT_PATH.exists() or CONTRACT_PATH.read_text() != rendered:
        console.print("[red]api/openapi.json differs from the running code;[/red] review the change, then run "
                      "`unseen openapi --write`")
        raise typer.Exit(1)
    console.print("api/openapi.json matches the code")


JobsFile = Annotated[Optional[str], typer.Option("--jobs-file", help="The jobs file (default: scheduled/jobs.toml)")]


def _retraining_jobs(jobs_file: str | None) -> dict:
    from rich.markup import escape

    from unseen.pipeline.jobs import DEFAULT_JOBS_FILE, JobFileError, load_jobs

    try:
        return load_jobs(jobs_file or DEFAULT_JOBS_FILE)
    except JobFileError as exc:
        console.print(f"[red]Cannot use the jobs file:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


@app.command()
def retrain(
    job: Annotated[Optional[str], typer.Argument(help="The job to run: a table [jobs.JOB] of the jobs file")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every job of the jobs file, one after another")] = False,
    jobs_file: JobsFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run retraining jobs once, now: each notebook runs with papermill into runs/scheduled/JOB/, registers a
    version and promotes it only if it beats the promoted one. Exits 1 when a run fails or finds its job running."""
    from rich.markup import escape

    from unseen.pipeline.report import runs_table
    from unseen.pipeline.runner import JobBusy, run_job
    from unseen.pipeline.tables import RunStatus

    jobs = _retraining_jobs(jobs_file)
    if run_all == bool(job):
        console.print(f"[red]{'Which job?' if not job else 'A job or --all, not both.'}[/red] expected "
                      f"`unseen retrain JOB` (one of: {', '.join(jobs)}) or `unseen retrain --all`")
        raise typer.Exit(2)
    if job and job not in jobs:
        console.print(f"[red]Unknown job {escape(repr(job))};[/red] expected one of: {', '.join(jobs)}")
        raise typer.Exit(2)
    settings = _settings(database_url)
    engine = _engine(settings)
    done, refused = [], []
    for chosen in (jobs.values() if run_all else [jobs[job]]):
        with console.status(f"retraining {chosen.name} ({chosen.notebook.name}) ..."):
            try:
                done.append(run_job(chosen, settings, trigger="manual", engine=engine))
            except JobBusy as busy:
                refused.append(busy)
    if done:
        console.print(runs_table(done, title="unseen retrain"))
    failed = [run for run in done if run.status == RunStatus.failed]
    for run in failed:
        console.print(f"[red]{run.job} failed:[/red] {escape(run.error or '')}\n  the executed notebook has the "
                      f"traceback: {escape(run.notebook)}")
    for busy in refused:
        console.print(f"[red]Not run:[/red] {escape(str(busy))}")
    for run in done:
        if run.status == RunStatus.succeeded and run.reason:
            console.print(f"{run.job}: {'[green]promoted[/green]' if run.promoted else 'not promoted'}: "
                          f"{escape(run.reason)}")
    if failed or refused:
        raise typer.Exit(1)


@app.command()
def dashboards(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless you put a proxy in front)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8866,
) -> None:
    """Serve the operator dashboards (monitoring, trends) with Voila, behind the dashboard token (by default the
    operator password); the dashboards read the same database as the shop."""
    from unseen.dashboards.server import DASHBOARDS, voila_command

    settings = _settings(database_url)
    token = settings.resolved_dashboard_token
    env = {**os.environ, "UNSEEN_DATABASE_URL": settings.resolved_database_url}
    base = f"http://{host}:{port}"
    console.print(f"unseen dashboards on [bold]{base}/[/bold] (index of the dashboards)")
    for name in DASHBOARDS:
        console.print(f"  {name:<11} {base}/voila/render/{name}.ipynb?token=<token>")
    console.print("  the token is UNSEEN_DASHBOARD_TOKEN, or the operator password when that is unset; it is asked "
                  "for on the login page, or given once as ?token=")
    command = voila_command(host=host, port=port, token=token)
    console.file.flush()
    os.chdir(PROJECT_ROOT)
    os.execve(command[0], command, env)  # Voila itself from here on: Ctrl-C and SIGTERM reach it directly


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address every part binds")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The shop's port")] = 8000,
    dashboards_port: Annotated[int, typer.Option(min=1, max=65535, help="The dashboards' port")] = 8866,
    simulate_traffic: Annotated[bool, typer.Option("--simulate/--no-simulate",
                                                   help="a background mixed simulation")] = True,
    run_scheduler: Annotated[bool, typer.Option("--schedule/--no-schedule", help="the retraining scheduler")] = True,
    simulation_seconds: Annotated[float, typer.Option(min=10, max=86_400, help="length of each simulation run")] = 300,
    shoppers: Annotated[int, typer.Option(min=0, max=5000, help="normal shoppers per simulation run")] = 40,
    attacks: Annotated[str, typer.Option(help="attacks of each run, as `unseen simulate --attacks` takes them")] = "all",
    stop_after: Annotated[Optional[float], typer.Option(min=1, help="stop after this many seconds (default: Ctrl-C)")] = None,
) -> None:
    """The shop, the dashboards, the retraining scheduler and a background mixed simulation together; prints the
    URLs to open. Seed the shop first (`unseen seed`; `make demo` does)."""
    from unseen.demo import DemoOptions, run_demo

    settings = _settings(database_url)
    try:
        run_demo(settings, DemoOptions(host=host, port=port, dashboards_port=dashboards_port,
                                       simulate=simulate_traffic, schedule=run_scheduler,
                                       simulation_s=simulation_seconds, shoppers=shoppers, attacks=attacks),
                 console, duration_s=stop_after)
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]The demo stopped:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def schedule(
    jobs_file: JobsFile = None,
    database_url: DatabaseUrl = None,
    check_seconds: Annotated[float, typer.Option(min=1, max=3600, help="How often new rows are counted")] = 60.0,
) -> None:
    """Run the retraining jobs on their triggers (cron, new rows) in the background until Ctrl-C or SIGTERM."""
    import logging

    from rich.logging import RichHandler

    from unseen.pipeline.report import schedule_table
    from unseen.pipeline.scheduler import run_scheduler

    jobs = _retraining_jobs(jobs_file)
    settings = _settings(database_url)
    engine = _engine(settings)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=console, show_path=False)])
    logging.getLogger("unseen.pipeline").setLevel(logging.INFO)

    def started(scheduler) -> None:
        console.print(schedule_table(scheduler, jobs, check_seconds=check_seconds))
        console.print(f"executed notebooks land in {settings.runs_dir / 'scheduled'}; `unseen runs` lists the runs. "
                      "Ctrl-C stops.")

    run_scheduler(jobs, settings, engine=engine, on_start=started, check_seconds=check_seconds)
    console.print("scheduler stopped")


@app.command()
def runs(
    job: Annotated[Optional[str], typer.Option("--job", help="Only this job's runs")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many runs, newest first")] = 20,
    database_url: DatabaseUrl = None,
) -> None:
    """List recent retraining runs, newest first: trigger, outcome, model version, error."""
    from rich.markup import escape

    from unseen.pipeline.report import runs_table
    from unseen.pipeline.runner import recent_runs

    settings = _settings(database_url)
    found = recent_runs(_engine(settings), job=job, limit=limit)
    if not found:
        console.print(f"no retraining runs{' of ' + escape(repr(job)) if job else ''} yet; "
                      "`unseen retrain --all` runs every job once")
        return
    console.print(runs_table(found, title="unseen runs (newest first)", details=True))
    for run in found:
        if run.error:
            console.print(f"[red]run {run.id} ({run.job}) failed:[/red] {escape(run.error)}")


@app.command()
def notebooks(
    names: Annotated[Optional[list[str]], typer.Argument(help="Notebooks to run, by number (03) or name; all when none")] = None,
    full: Annotated[bool, typer.Option("--full", help="The notebooks' own parameters (the paper's runs) instead of notebooks/small.toml")] = False,
    out_dir: Annotated[Optional[str], typer.Option("--out", help="Folder of the run folders (default: runs/notebooks)")] = None,
) -> None:
    """Execute the research notebooks with papermill, each into runs/notebooks/NAME/TIME/ with its figures, tables
    and executed copy; small parameters unless --full. Exits 1 when a notebook fails."""
    from pathlib import Path

    from rich.markup import escape

    from unseen.pipeline.notebooks import run_notebooks

    settings = _settings(None)
    try:
        chosen = run_notebooks(names or None, small=not full, out_dir=Path(out_dir) if out_dir else None,
                               settings=settings,
                               on_start=lambda path: console.print(f"running {path.name} ..."))
    except ValueError as exc:
        console.print(f"[red]Cannot run the notebooks:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    table = Table(title=f"unseen notebooks ({'full' if full else 'small'} parameters)")
    for column in ("notebook", "status", "seconds", "run folder"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for run in chosen:
        table.add_row(run.name, "[green]ok[/green]" if run.ok else "[red]failed[/red]", f"{run.seconds:.0f}",
                      escape(str(run.folder)))
    console.print(table)
    for run in chosen:
        if not run.ok:
            console.print(f"[red]{run.name} failed:[/red] {escape(run.error or '')}\n  the executed notebook has the "
                          f"traceback: {escape(str(run.executed))}")
    if not all(run.ok for run in chosen):
        raise typer.Exit(1)


analytics_app = typer.Typer(help="Batch analytics over card transactions in the Kaggle layout: features and "
                                 "merchant analytics on DuckDB (features on Spark too).", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
TransactionsData = Annotated[Optional[str], typer.Option("--data", help="Folder in the Kaggle layout (default: "
                                                                        "data/raw/transactions)")]


def _transactions_folder(data: str | None):
    from unseen.analytics.generate import DEFAULT_TRANSACTIONS_DIR

    return data or DEFAULT_TRANSACTIONS_DIR


@contextlib.contextmanager
def _analytics_errors(what: str):
    """Bad input (not the layout, too little data, a bad option) prints one line and exits 2; a Spark failure
    prints one line and exits 1. ``what`` names what was not made ("No features")."""
    from rich.markup import escape

    from unseen.analytics.loader import LayoutError
    from unseen.analytics.spark import SparkFailed

    try:
        yield
    except (LayoutError, ValueError) as exc:
        console.print(f"[red]{what}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except SparkFailed as exc:
        console.print(f"[red]{what}:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


@analytics_app.command("features")
def analytics_features(
    out: Annotated[str, typer.Option("--out", help="Parquet file to write (a folder of part files with Spark)")],
    data: TransactionsData = None,
    engine: Annotated[str, typer.Option(help="duckdb (one machine) or spark (UNSEEN_SPARK_MASTER or local[*])")] = "duckdb",
    threads: Annotated[Optional[int], typer.Option(min=1, max=512, help="duckdb: threads (default: all cores)")] = None,
    memory_limit: Annotated[Optional[str], typer.Option(help="duckdb: memory limit such as 8GB; beyond it DuckDB spills")] = None,
) -> None:
    """Per-transaction fraud features (the card's past only: windows, z-scores, first visits) to Parquet."""
    from unseen.analytics.pipeline_command import features_command

    with _analytics_errors("No features"):
        features_command(data=_transactions_folder(data), out=out, engine=engine, console=console, threads=threads,
                         memory_limit=memory_limit)


@analytics_app.command("merchants")
def analytics_merchants(
    out: Annotated[str, typer.Option("--out", help="Folder for the tables (CSV) and figures (PNG, SVG)")],
    data: TransactionsData = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="Merchants in the top and declining lists")] = 20,
    months: Annotated[int, typer.Option(min=1, max=60, help="Declining: the last N months against the N before")] = 6,
    min_transactions: Annotated[int, typer.Option(min=1, help="Declining: transactions needed in the two spans together")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the k-means segments")] = 0,
    engine: Annotated[str, typer.Option(help="duckdb (one machine) or spark (UNSEEN_SPARK_MASTER or local[*])")] = "duckdb",
) -> None:
    """Sales by month, weekday, hour, channel, MCC and city; customer segments; top and declining merchants."""
    from unseen.analytics.pipeline_command import merchants_command

    with _analytics_errors("No merchant report"):
        merchants_command(data=_transactions_folder(data), out=out, console=console, top_n=top, trend_months=months,
                          min_transactions=min_transactions, seed=seed, engine=engine)


@analytics_app.command("fraud")
def analytics_fraud(
    data: TransactionsData = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Folder for the tables (default: runs/fraud/TIME)")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help="Parquet file of `unseen analytics features` "
                                                                       "(default: build it into --out)")] = None,
    test_months: Annotated[int, typer.Option(min=1, max=60, help="Latest months held out for test")] = 12,
    valid_months: Annotated[int, typer.Option(min=1, max=60, help="Months before them that choose thresholds")] = 12,
    k: Annotated[int, typer.Option(min=1, max=10_000, help="Alerts reviewed per day (precision@k per day)")] = 10,
    max_train_rows: Annotated[int, typer.Option(min=100, max=50_000_000, help="Training rows after undersampling")] = 300_000,
    seed: Annotated[int, typer.Option(help="Seed of the undersampling and the models")] = 0,
) -> None:
    """Fraud models (hand-written logistic regression and tree, random forest, gradient boosting) against the
    positive rate and a rule, on a time-ordered split: AP, ROC-AUC, recall at 90% precision, precision@k per day."""
    from unseen.analytics.model_commands import fraud_command

    with _analytics_errors("No fraud models"):
        fraud_command(data=_transactions_folder(data), out=out, runs_dir=_settings(None).runs_dir, console=console,
                      features=features, test_months=test_months, valid_months=valid_months, k=k,
                      max_train_rows=max_train_rows, seed=seed)


@analytics_app.command("churn")
def analytics_churn(
    data: TransactionsData = None,
    days: Annotated[int, typer.Option(min=7, max=730, help="Churn: no transaction in the next DAYS days")] = 90,
    model: Annotated[str, typer.Option(help="Model whose predictions are stored: gradient_boosting or "
                                            "logistic_regression")] = "gradient_boosting",
    test_cutoffs: Annotated[int, typer.Option(min=1, max=60, help="Latest labelled monthly cut-offs for test")] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the models")] = 0,
    database_url: DatabaseUrl = None,
) -> None:
    """Churn models against recency and a constant-hazard baseline on later cut-offs; stores the chosen model's
    predictions for the users active at the latest cut-off in the table churn_prediction."""
    from rich.markup import escape

    from unseen.analytics.churn import CHURN_MODELS
    from unseen.analytics.model_commands import churn_command

    if model not in CHURN_MODELS:
        console.print(f"[red]No churn predictions:[/red] unknown model {escape(repr(model))}; expected "
                      f"{' or '.join(CHURN_MODELS)}")
        raise typer.Exit(2)
    engine = _engine(_settings(database_url))
    with _analytics_errors("No churn predictions"):
        churn_command(data=_transactions_folder(data), engine=engine, console=console, days=days, model=model,
                      test_cutoffs=test_cutoffs, seed=seed)


@analytics_app.command("recommend")
def analytics_recommend(
    data: TransactionsData = None,
    item: Annotated[str, typer.Option(help="merchant or mcc")] = "merchant",
    k: Annotated[int, typer.Option(min=1, max=1000, help="Length of each list")] = 10,
    test_months: Annotated[int, typer.Option(min=1, max=60, help="Latest months held out")] = 12,
    merchant: Annotated[Optional[int], typer.Option(help="Also list this merchant's likeliest new customers")] = None,
    user: Annotated[Optional[int], typer.Option(help="Also list this user's recommended merchants (or MCCs)")] = None,
) -> None:
    """Merchants (or MCC categories) for users by item-kNN against popularity, and potential customers for
    merchants, evaluated on the latest months."""
    from unseen.analytics.model_commands import recommend_command

    with _analytics_errors("No recommendations"):
        recommend_command(data=_transactions_folder(data), console=console, item=item, k=k, test_months=test_months,
                          merchant=merchant, user=user)


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
