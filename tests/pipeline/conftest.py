"""Fixtures for the retraining pipeline: settings whose runs land in tmp_path, a quick probe notebook, job files."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sqlalchemy.engine import Engine

from unseen.config import Settings

PROBE_PARAMETERS = """database_url = ""
models_dir = ""
out_dir = ""
sleep = 0.0
fail = False"""

# What a scheduled notebook must do, and no training: it answers in seconds, so tests of triggers, locks and
# kernels do not wait for a model. It reports the interpreter it ran on and where it found unseen.
PROBE_BODY = """import json
import sys
import time
from pathlib import Path

import unseen

if sleep:
    Path(out_dir, "sleeping").touch()  # tests wait for this to know the cell is executing
    time.sleep(sleep)
if fail:
    raise RuntimeError("the probe fails on purpose")
Path(out_dir, "result.json").write_text(json.dumps({
    "version": None, "promoted": False, "reason": "probe: nothing trained", "python": sys.executable,
    "unseen": unseen.__file__, "database_url": database_url, "models_dir": models_dir}))"""


@pytest.fixture
def probe_notebook(tmp_path: Path) -> Path:
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                     "display_name": "Python 3"}})
    notebook.cells = [new_code_cell(PROBE_PARAMETERS, metadata={"tags": ["parameters"]}), new_code_cell(PROBE_BODY)]
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    return path


def write_jobs(folder: Path, text: str) -> Path:
    path = folder / "jobs.toml"
    path.write_text(text)
    return path


@pytest.fixture
def pipeline_settings(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    """The test settings on the per-test database, with runs under tmp_path instead of the checkout's runs/."""
    return settings.model_copy(update={"runs_dir": tmp_path / "runs",
                                       "database_url": engine.url.render_as_string(hide_password=False)})
