"""`make notebooks` / `unseen notebooks`: every research notebook has small parameters and a test that runs it, and
the runner executes notebooks with papermill into run folders, keeping a failed one's executed copy and error."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from unseen.cli import app
from unseen.pipeline.jobs import notebook_parameters
from unseen.pipeline.notebooks import (
    NOTEBOOKS_DIR,
    research_notebooks,
    run_notebooks,
    select_notebooks,
    small_parameters,
)

TESTS = Path(__file__).resolve().parents[1] / "notebooks"


def test_every_notebook_has_small_parameters_it_declares_and_a_test_that_runs_it():
    notebooks = research_notebooks()
    assert notebooks, "no research notebooks found"
    tables = small_parameters()
    tests = "\n".join(path.read_text() for path in TESTS.glob("test_*.py"))
    for notebook in notebooks:
        assert notebook.stem in tables, f"notebooks/small.toml has no table for {notebook.stem}"
        declared = notebook_parameters(notebook)
        assert {"out_dir"} <= set(declared), notebook.name
        assert set(tables[notebook.stem]) <= set(declared), notebook.name
        assert f'"{notebook.stem}"' in tests, f"no test in tests/notebooks/ runs {notebook.name}"
    assert set(tables) == {p.stem for p in notebooks}, "small.toml has a table for a notebook that does not exist"


def _notebook(path: Path, body: str) -> None:
    document = nbformat.v4.new_notebook()
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    document.cells = [nbformat.v4.new_code_cell('rows = 3\nout_dir = ""', metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell(body)]
    nbformat.write(document, path)


def test_the_runner_executes_each_notebook_into_a_run_folder_and_keeps_going_after_a_failure(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01-writes.ipynb", "import json, pathlib, sys\n"
              "pathlib.Path(out_dir, 'result.json').write_text(json.dumps({'rows': rows, 'python': sys.executable}))")
    _notebook(folder / "02-fails.ipynb", "raise ValueError('the data has no orders')")
    _notebook(folder / "helper.ipynb", "raise SystemExit")  # not numbered: not a research notebook
    (folder / "small.toml").write_text('["01-writes"]\nrows = 5\n\n["02-fails"]\nrows = 1\n')

    runs = run_notebooks(small=True, out_dir=tmp_path / "runs", folder=folder)
    assert [run.name for run in runs] == ["01-writes", "02-fails"]
    first, second = runs
    assert first.ok and first.executed.is_file() and first.folder.parent == tmp_path / "runs" / "01-writes"
    written = json.loads((first.folder / "result.json").read_text())
    assert written["rows"] == 5  # the small table's value, injected after the parameters cell
    import sys

    assert Path(written["python"]).resolve() == Path(sys.executable).resolve()  # a kernel of this interpreter
    assert not second.ok and "ValueError: the data has no orders" in second.error
    executed = nbformat.read(second.executed, as_version=4)  # kept, with the traceback
    assert any(output.get("ename") == "ValueError" for cell in executed.cells for output in cell.get("outputs", []))

    full = run_notebooks(["01"], small=False, out_dir=tmp_path / "full", folder=folder)
    assert json.loads((full[0].folder / "result.json").read_text())["rows"] == 3  # the notebook's own default


def test_unknown_names_and_parameters_are_refused_with_what_there_is(tmp_path):
    with pytest.raises(ValueError, match=r"no research notebook '99'.*among: 0\d-"):
        select_notebooks(["99"])
    assert [p.stem for p in select_notebooks(["08", "08-login-anomalies"])] == ["08-login-anomalies"]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01-writes.ipynb", "pass")
    (folder / "small.toml").write_text('["01-writes"]\nrowz = 5\n')
    with pytest.raises(ValueError, match=r"01-writes.ipynb has no parameter 'rowz'; its parameters are: rows, out_dir"):
        run_notebooks(out_dir=tmp_path / "runs", folder=folder)
    (folder / "small.toml").write_text("")
    with pytest.raises(ValueError, match=r"small.toml has no table for 01-writes"):
        run_notebooks(out_dir=tmp_path / "runs", folder=folder)


def test_the_command_refuses_an_unknown_notebook():
    result = CliRunner().invoke(app, ["notebooks", "99-nothing"])
    assert result.exit_code == 2
    assert "no research notebook '99-nothing'" in result.output and "08-login-anomalies" in result.output
    assert NOTEBOOKS_DIR.is_dir()
