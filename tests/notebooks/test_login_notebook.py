"""notebooks/08-login-anomalies.ipynb runs top to bottom with its small parameters, as ``make notebooks`` runs it,
and writes its run folder."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import reference_data_dir
from tests.notebooks.run import NOTEBOOKS, execute

NAME = "08-login-anomalies"


@pytest.mark.timeout(600)
def test_login_anomalies_notebook(tmp_path: Path) -> None:
    small = tomllib.loads((NOTEBOOKS / "small.toml").read_text())[NAME]
    out_dir = tmp_path / "run"
    execute(NOTEBOOKS / f"{NAME}.ipynb", {**small, "out_dir": str(out_dir),
                                         "reference_data": str(reference_data_dir())}, tmp_path)

    results = json.loads((out_dir / "results.json").read_text())
    for model in ("frequency", "one_class_svm"):
        assert 0.0 <= results["models"][model]["auc"] <= 1.0
        assert "takeover_challenged" in results["models"][model]["best_at_5_percent"]
    assert results["models"]["frequency"]["auc"] > 0.9
    median = {kind: row["median_risk"]["frequency"] for kind, row in results["by_kind"].items()}
    assert median["takeover"] > median["traveller"]
    assert results["parameters"]["customers"] == small["customers"]
    assert len(results["sweep"]) == 12
    assert (out_dir / "thresholds.csv").is_file()
    assert (out_dir / "curve.svg").read_text().lstrip().startswith("<svg")
