"""The retraining jobs: which notebook, with which parameters, on which triggers (``scheduled/jobs.toml``).

Every job is one TOML table ``[jobs.<name>]``::

    [jobs.recommend]
    notebook = "retrain.ipynb"          # relative to the jobs file
    parameters = { task = "recommend" }
    cron = "0 */6 * * *"                # optional, five fields, read in UTC
    every_new_events = 1000             # optional: run once this many rows arrived since the last succeeded run
    count_table = "event"               # what counts as a new row: event (default) or request_log
    min_interval = "30m"                # least time between two starts for the new-rows trigger
    max_run_time = "20m"                # a cell running longer fails the run

Loading checks everything a run would otherwise trip over later, unwatched: unknown keys, cron expressions,
durations, the notebook's existence and its parameters. Every error names the job and the field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from unseen.config import PROJECT_ROOT
from unseen.pipeline.cron import cron_trigger

__all__ = ["COUNT_TABLES", "DEFAULT_JOBS_FILE", "RUNNER_PARAMETERS", "Job", "JobFileError", "load_jobs",
           "parse_duration"]

DEFAULT_JOBS_FILE = PROJECT_ROOT / "scheduled" / "jobs.toml"
RUNNER_PARAMETERS = ("database_url", "models_dir", "out_dir")
"""Every scheduled notebook declares these; the runner fills them in, so a job may not set them."""
COUNT_TABLES = ("event", "request_log")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class JobFileError(ValueError):
    """The jobs file cannot be used; the message names the file, the job and the field."""


def parse_duration(text: Any) -> timedelta:
    """``"30m"``, ``"6h"``, ``"1h30m"``, ``"90s"`` or ``"2d"`` as a timedelta.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or not text.strip() or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; expected a number with a unit, such as '30m', '6h', "
                         "'1h30m', '90s' or '2d'")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(span: timedelta) -> str:
    """The shortest ``parse_duration`` spelling of ``span`` (``"1h30m"``)."""
    seconds = int(span.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


class Job(BaseModel):
    """One retraining job: a notebook run with parameters on a cron schedule, after enough new rows, or by hand."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN.pattern)
    notebook: Path
    parameters: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = None
    every_new_events: int | None = Field(default=None, ge=1)
    count_table: Literal["event", "request_log"] = "event"
    min_interval: timedelta = timedelta(0)
    max_run_time: timedelta = timedelta(minutes=30)

    @field_validator("notebook", mode="after")
    @classmethod
    def _notebook_exists(cls, notebook: Path, info: ValidationInfo) -> Path:
        base = Path((info.context or {}).get("base", "."))
        path = notebook if notebook.is_absolute() else base / notebook
        if path.suffix != ".ipynb":
            raise ValueError(f"{str(notebook)!r} is not a notebook; expected a .ipynb file")
        if not path.is_file():
            raise ValueError(f"{str(notebook)!r} does not exist (looked for {path})")
        return path.resolve()

    @field_validator("parameters", mode="after")
    @classmethod
    def _literal_parameters(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        for key, value in parameters.items():
            if key in RUNNER_PARAMETERS:
                raise ValueError(f"{key!r} is set by the runner (from the settings and the run folder); "
                                 "remove it from the job's parameters")
            if _holds_a_date(value):
                raise ValueError(f"{key} = {value!r}: dates and times cannot be passed to a notebook; "
                                 "write them as strings, such as \"2026-08-31\"")
        return parameters

    @field_validator("cron", mode="after")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        if cron is not None:
            cron_trigger(cron)
        return cron

    @field_validator("min_interval", "max_run_time", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("max_run_time", mode="after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _parameters_exist_in_notebook(self) -> Job:
        declared = notebook_parameters(self.notebook)
        missing = [name for name in RUNNER_PARAMETERS if name not in declared]
        if missing:
            raise ValueError(f"the notebook {self.notebook.name} declares no parameter {', '.join(missing)}; a "
                             f"scheduled notebook takes {', '.join(RUNNER_PARAMETERS)} in its cell tagged "
                             "'parameters'")
        unknown = [name for name in self.parameters if name not in declared]
        if unknown:
            raise ValueError(f"parameters: {', '.join(map(repr, unknown))} not among the parameters of "
                             f"{self.notebook.name} ({', '.join(declared)})")
        return self

    @property
    def trigger(self):
        """The APScheduler ``CronTrigger`` of ``cron`` (UTC), or None for a job without one."""
        return cron_trigger(self.cron) if self.cron else None

    @property
    def triggers(self) -> str:
        """The job's triggers in words, for tables."""
        words = []
        if self.cron:
            words.append(f"cron {self.cron}")
        if self.every_new_events:
            words.append(f"every {self.every_new_events:,} new {self.count_table} rows "
                         f"(at least {format_duration(self.min_interval)} apart)")
        return "; ".join(words) or "by hand only"


def notebook_parameters(notebook: Path) -> list[str]:
    """The names in ``notebook``'s cell tagged ``parameters``; raises ``ValueError`` when it has none."""
    import nbformat

    try:
        document = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the notebook {notebook}: {exc}") from None
    cells = [c for c in document.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ValueError(f"the notebook {notebook.name} has no cell tagged 'parameters'")
    from papermill.translators import papermill_translators

    language = document.metadata.get("kernelspec", {}).get("language", "python")
    translator = papermill_translators.find_translator(document.metadata.get("kernelspec", {}).get("name", "python3"),
                                                       language)
    return [p.name for p in translator.inspect(cells[0])]


def load_jobs(path: Path | str = DEFAULT_JOBS_FILE) -> dict[str, Job]:
    """Every job of the jobs file at ``path``, in file order. Raises ``JobFileError`` listing every problem."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JobFileError(f"no jobs file at {path}; expected a TOML file such as scheduled/jobs.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobFileError(f"cannot read the jobs file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise JobFileError(f"{path} is not valid TOML: {exc}") from None
    unknown = [key for key in document if key != "jobs"]
    if unknown:
        raise JobFileError(f"{path}: unknown top-level key {', '.join(map(repr, unknown))}; every job is a table "
                           "[jobs.<name>]")
    tables = document.get("jobs")
    if not isinstance(tables, Mapping) or not tables:
        raise JobFileError(f"{path} defines no jobs; expected at least one table [jobs.<name>]")
    jobs: dict[str, Job] = {}
    problems: list[str] = []
    for name, table in tables.items():
        try:
            jobs[name] = _parse_job(name, table, path.parent)
        except JobFileError as exc:
            problems.append(str(exc))
    if problems:
        raise JobFileError(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))
    return jobs


def _parse_job(name: str, table: Any, base: Path) -> Job:
    if not NAME_PATTERN.match(name):
        raise JobFileError(f"job {name!r}: the name must be lowercase letters, digits, '_' or '-', starting with a "
                           "letter (it names the job's folder under runs/scheduled/)")
    if not isinstance(table, Mapping):
        raise JobFileError(f"job {name!r}: expected a table [jobs.{name}], got {table!r}")
    if "name" in table:
        raise JobFileError(f"job {name!r}, field 'name': unknown field; the table's key [jobs.{name}] names the job")
    try:
        return Job.model_validate({**table, "name": name}, context={"base": base})
    except ValidationError as exc:
        raise JobFileError("\n  - ".join(_describe(name, error) for error in exc.errors())) from None


def _describe(job: str, error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"])
    where = f"job {job!r}, field {field!r}" if field else f"job {job!r}"
    if error["type"] == "extra_forbidden":
        expected = ", ".join(name for name in Job.model_fields if name != "name")
        return f"{where}: unknown field; expected one of {expected}"
    if error["type"] == "missing":
        return f"{where}: missing; every job needs it"
    message = error["msg"].removeprefix("Value error, ")
    shown = error.get("input")
    if error["type"] in ("literal_error", "int_parsing", "int_type", "greater_than_equal", "string_type"):
        return f"{where}: {shown!r}: {message}"
    return f"{where}: {message}"


def _holds_a_date(value: Any) -> bool:
    if isinstance(value, (date, time)):
        return True
    if isinstance(value, Mapping):
        return any(_holds_a_date(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_a_date(v) for v in value)
    return False
