"""notebooks/06-manual-models-vs-scikit-learn.ipynb runs top to bottom with its small parameters and writes the run
folder a researcher reads: parameters and code version, figures as PNG and SVG, and result tables in which the
hand-written logistic regression reaches scikit-learn's optimum, the hand-written tree grows scikit-learn's splits,
and a forest varies less over refits than one unlimited tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.run import run_small

NAME = "06-manual-models-vs-scikit-learn"
FIGURES = ("agreement", "fit_times", "seed_variance", "depth_sweep")
TABLES = ("datasets", "logistic_coefficients", "logistic_bound", "tree_seeds", "agreement", "seed_runs",
          "seed_summary", "depth_sweep")
DATASETS = ("sessions", "breast_cancer")


@pytest.mark.timeout(600)
def test_manual_models_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    sessions = meta["data"]["sessions"]
    assert sessions["rows"] > 0 and sessions["first_session"] <= sessions["test_from"] <= sessions["last_session"]
    assert meta["model_versions"]["scikit-learn"] and meta["model_versions"]["unseen.ml.manual"]

    assert {(row["dataset"], row["model"]) for row in tables["agreement"]} == {
        (dataset, model) for dataset in DATASETS for model in ("logistic", "tree", "forest")}
    assert len(tables["tree_seeds"]) == len(DATASETS) * small["seeds"]
    assert {row["max_depth"] for row in tables["depth_sweep"]} == {*small["depths"], "unlimited"}

    summary = meta["summary"]
    for dataset in DATASETS:
        # The same convex problem has one optimum: the probabilities differ by no more than the bound the notebook
        # derives from both gradients, which is itself small.
        logistic = summary["logistic"][dataset]
        assert logistic["max_probability_gap"] <= logistic["probability_bound"] < 1e-3
        assert logistic["prediction_agreement"] >= 0.99
        # The same greedy splits, up to ties between equally good thresholds.
        assert summary["tree"][dataset]["mean_agreement"] >= 0.95
        # Averaging trees lowers the variance of the predictions over refits.
        variance = summary["variance"][dataset]
        assert variance["forest_prediction_variance"] < variance["tree_prediction_variance"]
        forest = summary["forest"][dataset]
        assert abs(forest["auc_manual"] - forest["auc_sklearn"]) < 0.05
