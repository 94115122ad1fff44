"""Executing a research notebook in a test the way ``make notebooks`` does: papermill, the parameters injected after
the ``parameters`` cell, a fresh kernel of this very interpreter, and the executed copy kept beside the test's
files."""

from __future__ import annotations

from pathlib import Path

import nbformat

from unseen.pipeline.notebooks import NOTEBOOKS_DIR, execute_notebook

NOTEBOOKS = NOTEBOOKS_DIR


def errors(notebook) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def execute(path: Path, parameters: dict, tmp_path: Path, monkeypatch=None) -> nbformat.NotebookNode:
    """Run ``path`` with ``parameters``; assert it was committed without outputs and ran without error. Returns
    the executed notebook (written to ``tmp_path/executed/<name>.ipynb``)."""
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code"), f"{path.name} is committed with outputs"
    parameters = dict(parameters)
    out_dir = Path(parameters.get("out_dir") or tmp_path / "run")
    parameters["out_dir"] = str(out_dir)
    run = execute_notebook(path, parameters, tmp_path / "executed", timeout_s=600)
    executed = nbformat.read(run.executed, as_version=4)
    assert run.ok, f"{run.error} (executed copy: {run.executed})"
    assert errors(executed) == [], errors(executed)
    return executed


def run_small(name: str, tmp_path: Path, figures: tuple[str, ...], tables: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """Execute notebook ``name`` on its table of ``small.toml`` (and the reference data), check the run folder every
    research notebook writes (run.json with the parameters and code version; each figure as PNG and SVG; each table
    as CSV and a non-empty JSON) and return ``(small parameters, run.json, tables by name)``."""
    import json
    import tomllib

    from tests.conftest import reference_data_dir

    small = tomllib.loads((NOTEBOOKS / "small.toml").read_text())[name]
    out_dir = tmp_path / "run"
    execute(NOTEBOOKS / f"{name}.ipynb", {**small, "out_dir": str(out_dir),
                                         "reference_data": str(reference_data_dir())}, tmp_path)
    meta = json.loads((out_dir / "run.json").read_text())
    assert meta["notebook"] == name
    assert {key: meta["parameters"][key] for key in small} == small
    assert set(meta["code"]) == {"commit", "uncommitted_changes"}
    for figure in figures:
        assert (out_dir / f"{figure}.png").read_bytes().startswith(b"\x89PNG"), figure
        assert "<svg" in (out_dir / f"{figure}.svg").read_text()[:1000], figure
    found = {table: json.loads((out_dir / f"{table}.json").read_text()) for table in tables}
    for table in tables:
        assert (out_dir / f"{table}.csv").is_file() and found[table], table
    return small, meta, found
