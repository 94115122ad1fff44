"""notebooks/08-login-anomalies.ipynb runs top to bottom in a fresh kernel with small parameters (nbclient; the
parameters are injected after the ``parameters`` cell, as papermill does) and writes its run folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec

from tests.conftest import reference_data_dir

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08-login-anomalies.ipynb"


def inject_parameters(notebook, parameters: dict) -> None:
    """Add a cell tagged ``injected-parameters`` right after the one tagged ``parameters``."""
    index = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)


def errors(notebook) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


@pytest.mark.timeout(600)
def test_login_anomalies_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code"), "the notebook is committed with outputs"
    out_dir = tmp_path / "run"
    inject_parameters(notebook, {"customers": 120, "months": 12, "users": 60, "out_dir": str(out_dir),
                                 "reference_data": str(reference_data_dir())})
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable, end='')"))
    # The kernel must be this interpreter (the project's venv), whatever other "python3" kernelspec the machine
    # has: a spec on JUPYTER_PATH is found before the user's and the system's.
    write_kernel_spec(tmp_path / "jupyter" / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, tmp_path / "executed.ipynb")

    assert errors(notebook) == []
    kernel_python = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve()

    results = json.loads((out_dir / "results.json").read_text())
    for model in ("frequency", "one_class_svm"):
        assert 0.0 <= results["models"][model]["auc"] <= 1.0
        assert "takeover_challenged" in results["models"][model]["best_at_5_percent"]
    assert results["models"]["frequency"]["auc"] > 0.9
    median = {kind: row["median_risk"]["frequency"] for kind, row in results["by_kind"].items()}
    assert median["takeover"] > median["traveller"]
    assert results["parameters"]["customers"] == 120
    assert len(results["sweep"]) == 12
    assert (out_dir / "thresholds.csv").is_file()
    assert (out_dir / "curve.svg").read_text().lstrip().startswith("<svg")
