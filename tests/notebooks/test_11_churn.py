"""notebooks/11-churn-prediction.ipynb runs top to bottom with its small parameters and writes the run folder a
researcher reads: a churn rate that falls as the horizon grows, a split whose training labels end before the first
test cut-off, features that read only the past, both models ahead of the recency and constant-hazard baselines,
and one stored prediction per active card holder that another system can read back from the database."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from tests.notebooks.run import run_small
from unseen.analytics.churn import CHURN_FEATURES, CHURN_MODELS, load_churn_predictions
from unseen.db import make_engine

NAME = "11-churn-prediction"
FIGURES = ("churn_by_horizon", "cutoffs", "gains_and_calibration", "drivers", "stored_predictions")
TABLES = ("churn_by_horizon", "cutoffs", "feature_leak_check", "features", "models", "auc_by_cutoff", "calibration",
          "gains", "drivers", "stored_predictions", "likeliest_churners", "stored_summary")


@pytest.mark.timeout(600)
def test_churn_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    parameters, summary, data = meta["parameters"], meta["summary"], meta["data"]
    days = parameters["days"]
    assert data["generated"] and data["transactions"] == small["rows"]
    assert data["first"] < data["last"]
    assert set(meta["models"]["parameters"]) == set(CHURN_MODELS)

    # The definition: a longer horizon can only lower the churn rate on the same rows, and calls fewer pauses churn.
    by_horizon = tables["churn_by_horizon"]
    assert [row["days"] for row in by_horizon] == sorted({*parameters["horizons"], days})
    rates = [row["churn_rate"] for row in by_horizon]
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:], strict=False)) and rates[-1] < rates[0]
    assert len({row["common_rows"] for row in by_horizon}) == 1
    assert by_horizon[0]["came_back_share"] > by_horizon[-1]["came_back_share"]
    assert sum(row["chosen"] for row in by_horizon) == 1

    # Time-aware: every test cut-off after every training one, no training horizon reaching the first test cut-off,
    # and the features at that cut-off rebuilt from the earlier payments alone agree with the full build.
    cutoffs = tables["cutoffs"]
    train = [date.fromisoformat(row["as_of"]) for row in cutoffs if row["role"] == "train"]
    test = [date.fromisoformat(row["as_of"]) for row in cutoffs if row["role"] == "test"]
    train_ends = [date.fromisoformat(row["horizon_end"]) for row in cutoffs if row["role"] == "train"]
    assert len(test) == parameters["test_cutoffs"] and len(train) == summary["train_cutoffs"]
    assert max(train) < min(test) and max(train_ends) <= min(test)
    assert str(min(test)) == summary["first_test_cutoff"]
    assert [row["role"] for row in cutoffs][-1] == "predict"
    assert all(math.isnan(row["churn_rate"]) for row in cutoffs if row["role"] in ("unlabelled", "predict"))
    leak = tables["feature_leak_check"][0]
    assert leak["same_rows"] and leak["features_differing"] == 0 and leak["features_compared"] == len(CHURN_FEATURES)
    assert summary["features_use_only_the_past"]

    # Both models beat recency clearly and the constant-hazard survival baseline on ROC-AUC or AP, as the library's
    # tests establish on data of this size; the top decile holds several times the churn rate.
    models = {row["model"]: row for row in tables["models"]}
    assert set(models) == {"recency", "constant_hazard", *CHURN_MODELS}
    for name in CHURN_MODELS:
        assert models[name]["roc_auc"] > models["recency"]["roc_auc"] + 0.05, name
        assert models[name]["average_precision"] > 1.4 * models["recency"]["average_precision"], name
        assert (models[name]["roc_auc"] > models["constant_hazard"]["roc_auc"]
                or models[name]["average_precision"] > models["constant_hazard"]["average_precision"]), name
        assert models[name]["lift_top_decile"] > 3, name
        assert 0 < models[name]["brier"] < summary["churn_rate_test"], name  # better than predicting 0 for everyone
    assert models["gradient_boosting"]["average_precision"] > models["constant_hazard"]["average_precision"]
    assert {row["as_of"] for row in tables["auc_by_cutoff"]} == {str(cut) for cut in test}

    # The probabilities read as probabilities: the top decile's prediction is within a factor two of what happened.
    top = max((row for row in tables["calibration"] if row["model"] == "gradient_boosting"), key=lambda r: r["bin"])
    assert top["observed"] / 2 < top["predicted"] < top["observed"] * 2
    gains = [row["found"] for row in tables["gains"] if row["model"] == "gradient_boosting"]
    assert gains == sorted(gains) and gains[-1] == 1.0

    # What drives churn: every feature is listed, and shuffling the strongest one costs the boosted trees AUC.
    drivers = tables["drivers"]
    assert {row["feature"] for row in drivers} == set(CHURN_FEATURES)
    assert drivers[0]["gb_auc_drop"] > 0.01 and drivers[0]["feature"] == summary["top_driver"]

    # Stored for other systems: one probability per holder active at the last cut-off, read back from the database.
    stored = tables["stored_summary"][0]
    assert stored["written"] == stored["read_back"] == stored["active_at_last_cutoff"] > 0
    assert stored["users_unique"] and 0 <= stored["probability_min"] <= stored["probability_max"] <= 1
    assert date.fromisoformat(stored["as_of"]) > max(test) and stored["model"] == parameters["model"]
    probabilities = [row["probability"] for row in tables["likeliest_churners"]]
    assert probabilities == sorted(probabilities, reverse=True) and len(probabilities) == parameters["top_n"]
    engine = make_engine(f"sqlite:///{tmp_path / 'run' / 'churn_predictions.sqlite'}")
    again = load_churn_predictions(engine, as_of=stored["as_of"], model=parameters["model"])
    engine.dispose()
    assert len(again) == stored["active_at_last_cutoff"] and again["user_id"].is_unique
    assert again["probability"].between(0, 1).all() and (again["version"] == stored["version"]).all()
