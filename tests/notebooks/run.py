"""Executing a research notebook in a test: parameters injected after its ``parameters`` cell (as papermill does),
a fresh kernel of this very interpreter, and the executed copy kept beside the test's files."""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
from ipykernel.kernelspec import write_kernel_spec

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def inject_parameters(notebook, parameters: dict) -> None:
    """Add a cell tagged ``injected-parameters`` right after the one tagged ``parameters``."""
    index = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))


def errors(notebook) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def execute(path: Path, parameters: dict, tmp_path: Path, monkeypatch) -> nbformat.NotebookNode:
    """Run ``path`` with ``parameters``; assert it was committed without outputs, ran without error, in a kernel
    of this interpreter. Returns the executed notebook (also written to ``tmp_path/executed-<name>``)."""
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code"), f"{path.name} is committed with outputs"
    inject_parameters(notebook, parameters)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable, end='')"))
    # The kernel must be this interpreter (the project's venv), whatever other "python3" kernelspec the machine
    # has: a spec on JUPYTER_PATH is found before the user's and the system's.
    write_kernel_spec(tmp_path / "jupyter" / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, tmp_path / f"executed-{path.name}")
    assert errors(notebook) == [], errors(notebook)
    kernel_python = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve()
    return notebook
