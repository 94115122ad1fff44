"""The jobs file: the shipped one is valid, and every mistake is named with its job and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from unseen.cli import app
from unseen.config import PROJECT_ROOT
from unseen.pipeline.cron import cron_trigger
from unseen.pipeline.jobs import DEFAULT_JOBS_FILE, JobFileError, load_jobs, notebook_parameters, parse_duration

from tests.pipeline.conftest import write_jobs

RETRAIN_NOTEBOOK = PROJECT_ROOT / "scheduled" / "retrain.ipynb"


def test_the_shipped_jobs_file_is_valid():
    jobs = load_jobs(DEFAULT_JOBS_FILE)
    assert list(jobs) == ["recommend", "trends", "clustering", "anomaly"]
    assert {name: job.parameters["task"] for name, job in jobs.items()} == {name: name for name in jobs}
    assert all(job.notebook == RETRAIN_NOTEBOOK for job in jobs.values())
    assert all(job.max_run_time == timedelta(minutes=20) for job in jobs.values())
    recommend, anomaly = jobs["recommend"], jobs["anomaly"]
    assert (recommend.cron, recommend.every_new_events, recommend.count_table) == ("0 */6 * * *", 1000, "event")
    assert recommend.min_interval == timedelta(minutes=30)
    assert (anomaly.cron, anomaly.every_new_events, anomaly.count_table) == ("15 */6 * * *", 1000, "request_log")
    assert (jobs["trends"].cron, jobs["trends"].every_new_events) == ("30 3 * * *", None)
    assert jobs["clustering"].cron == "0 4 * * 1"


def test_the_retrain_notebook_is_committed_clean_with_literal_parameters():
    document = json.loads(RETRAIN_NOTEBOOK.read_text())
    assert document["nbformat"] == 4 and document["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in document["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)
    assert code[0]["metadata"]["tags"] == ["parameters"]
    assert notebook_parameters(RETRAIN_NOTEBOOK) == ["task", "database_url", "models_dir", "out_dir", "keep",
                                                     "options", "fail"]
    namespace: dict = {}
    exec("".join(code[0]["source"]), {"__builtins__": {}}, namespace)  # literals only: no builtins needed
    assert namespace == {"task": "recommend", "database_url": "", "models_dir": "", "out_dir": "", "keep": 5,
                         "options": {}, "fail": False}


def test_cron_expressions_mean_what_crontab_means():
    start = datetime(2026, 8, 1, tzinfo=UTC)  # a Saturday

    def next_days(expression: str, n: int = 4) -> list[str]:
        trigger, moment, days = cron_trigger(expression), start, []
        for _ in range(n):
            moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
            days.append(moment.strftime("%a %H:%M"))
        return days

    assert next_days("0 4 * * 1", 2) == ["Mon 04:00", "Mon 04:00"]  # APScheduler alone would say Tuesday
    assert next_days("0 4 * * 0", 1) == next_days("0 4 * * 7", 1) == ["Sun 04:00"]
    assert next_days("0 4 * * */2") == ["Sat 04:00", "Sun 04:00", "Tue 04:00", "Thu 04:00"]
    assert next_days("0 4 * * 5-7", 3) == ["Sat 04:00", "Sun 04:00", "Fri 04:00"]
    assert next_days("0 4 * * mon-fri", 2) == ["Mon 04:00", "Tue 04:00"]
    assert next_days("0 */6 * * *") == ["Sat 06:00", "Sat 12:00", "Sat 18:00", "Sun 00:00"]
    with pytest.raises(ValueError, match="joins with OR"):
        cron_trigger("0 4 1 * 1")


@pytest.mark.parametrize(("text", "expected"), [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)),
                                                 ("6h", timedelta(hours=6)), ("1h30m", timedelta(minutes=90)),
                                                 ("2d", timedelta(days=2)), ("0s", timedelta(0))])
def test_durations(text, expected):
    assert parse_duration(text) == expected


GOOD_JOB = """
[jobs.nightly]
notebook = "{notebook}"
parameters = {{ task = "trends" }}
"""


@pytest.mark.parametrize(("extra", "field", "message"), [
    ('cron = "0 */6 * *"', "cron", "has 4 fields; expected 5"),
    ('cron = "61 * * * *"', "cron", "higher than the maximum value (59)"),
    ('cron = "0 4 * * 8"', "cron", "must be 0-7"),
    ('min_interval = "30 minutes"', "min_interval", "is not a duration"),
    ("min_interval = 30", "min_interval", "is not a duration"),
    ('max_run_time = "0s"', "max_run_time", "must be longer than 0s"),
    ('cronn = "0 * * * *"', "cronn", "unknown field; expected one of notebook, parameters, cron"),
    ('count_table = "orders"', "count_table", "'event' or 'request_log'"),
    ("every_new_events = 0", "every_new_events", "greater than or equal to 1"),
])
def test_a_bad_field_is_named_with_its_job(tmp_path, extra, field, message):
    path = write_jobs(tmp_path, GOOD_JOB.format(notebook=RETRAIN_NOTEBOOK) + extra + "\n")
    with pytest.raises(JobFileError) as caught:
        load_jobs(path)
    said = str(caught.value)
    assert f"job 'nightly', field '{field}'" in said and message in said, said
    assert str(path) in said


def test_a_missing_notebook_is_named(tmp_path):
    path = write_jobs(tmp_path, GOOD_JOB.format(notebook="nowhere.ipynb"))
    with pytest.raises(JobFileError, match=r"job 'nightly', field 'notebook': 'nowhere.ipynb' does not exist "
                                           r"\(looked for .*nowhere.ipynb\)"):
        load_jobs(path)


def test_parameters_must_be_the_notebooks_own_and_not_the_runners(tmp_path):
    path = write_jobs(tmp_path, f"""
[jobs.typo]
notebook = "{RETRAIN_NOTEBOOK}"
parameters = {{ taks = "trends" }}

[jobs.sneaky]
notebook = "{RETRAIN_NOTEBOOK}"
parameters = {{ task = "trends", database_url = "sqlite:///elsewhere.db" }}
""")
    with pytest.raises(JobFileError) as caught:
        load_jobs(path)
    said = str(caught.value)
    assert "job 'typo'" in said and "'taks' not among the parameters of retrain.ipynb (task, database_url" in said
    assert "job 'sneaky', field 'parameters': 'database_url' is set by the runner" in said


def test_a_notebook_without_the_runners_parameters_is_refused(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nbformat.write(new_notebook(cells=[new_code_cell("task = 'x'", metadata={"tags": ["parameters"]})]),
                   tmp_path / "plain.ipynb")
    path = write_jobs(tmp_path, '[jobs.plain]\nnotebook = "plain.ipynb"\n')
    with pytest.raises(JobFileError, match="declares no parameter database_url, models_dir, out_dir"):
        load_jobs(path)


def test_a_file_that_is_not_a_jobs_file_is_explained(tmp_path):
    with pytest.raises(JobFileError, match="no jobs file at"):
        load_jobs(tmp_path / "absent.toml")
    with pytest.raises(JobFileError, match="is not valid TOML"):
        load_jobs(write_jobs(tmp_path, "[jobs.recommend\n"))
    with pytest.raises(JobFileError, match=r"defines no jobs; expected at least one table \[jobs.<name>\]"):
        load_jobs(write_jobs(tmp_path, "# nothing\n"))
    with pytest.raises(JobFileError, match="unknown top-level key 'recommend'"):
        load_jobs(write_jobs(tmp_path, '[recommend]\nnotebook = "retrain.ipynb"\n'))
    with pytest.raises(JobFileError, match="job 'Nightly Run': the name must be lowercase"):
        load_jobs(write_jobs(tmp_path, f'[jobs."Nightly Run"]\nnotebook = "{RETRAIN_NOTEBOOK}"\n'))


def test_the_cli_refuses_a_bad_jobs_file_without_a_traceback(tmp_path):
    path = write_jobs(tmp_path, GOOD_JOB.format(notebook=RETRAIN_NOTEBOOK) + 'cron = "every day"\n')
    result = CliRunner().invoke(app, ["retrain", "--all", "--jobs-file", str(path)])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "Cannot use the jobs file" in said and "field 'cron'" in said
    assert "Traceback" not in result.output
