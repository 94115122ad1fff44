"""The `unseen` command in-process: train and evaluate, with clear refusals for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from unseen.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{root}/shop.db"
    result = runner.invoke(app, ["seed", "--database-url", url, "--customers", "60", "--products", "80",
                                 "--months", "27", "--until", "2026-08-31"])
    assert result.exit_code == 0, result.output
    return root, url


def test_train_recommend_registers_and_promotes(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models"))
    result = runner.invoke(app, ["train", "recommend", "--database-url", url, "--test-days", "60"])
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output and "ndcg" in result.output
    assert (root / "models" / "recommend" / "promoted.json").exists()


def test_evaluate_recommend_writes_json_and_csv(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_ARTEFACTS_DIR", str(root / "artefacts"))
    result = runner.invoke(app, ["evaluate", "recommend", "--database-url", url, "--test-days", "60", "--no-movielens"])
    assert result.exit_code == 0, result.output
    files = sorted((root / "artefacts" / "evaluations").iterdir())
    assert {f.suffix for f in files} == {".csv", ".json"}
    rows = json.loads(next(f for f in files if f.suffix == ".json").read_text())
    assert {r["model"] for r in rows} == {"item_knn", "popularity"}


def test_unknown_task_is_refused_with_the_choices(seeded):
    result = runner.invoke(app, ["train", "weather", "--database-url", seeded[1]])
    assert result.exit_code == 2 and "expected one of: recommend" in result.output


def test_training_an_empty_shop_explains_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(tmp_path / "models"))
    result = runner.invoke(app, ["train", "recommend", "--database-url", f"sqlite:///{tmp_path}/empty.db"])
    assert result.exit_code == 1 and "unseen seed" in result.output
    assert "Traceback" not in result.output


def test_training_the_anomaly_model_without_a_request_log_explains_what_to_do(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models"))
    result = runner.invoke(app, ["train", "anomaly", "--database-url", url])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "request log is empty" in said and "unseen simulate --attacks none" in said
    result = runner.invoke(app, ["train", "anomaly", "--database-url", url, "--detector", "autoencoder"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "detector must be one of one_class_svm, isolation_forest" in said
    assert not (root / "models" / "anomaly").exists()


def test_train_anomaly_learns_the_request_log_and_promotes(tmp_path, monkeypatch):
    from sqlalchemy import insert

    import pandas as pd

    from unseen.db import create_schema, make_engine
    from unseen.ml.anomaly import synthetic_requests
    from unseen.tables import RequestLog

    url = f"sqlite:///{tmp_path}/shop.db"
    engine = make_engine(url)
    create_schema(engine)
    log = synthetic_requests(80, attackers_per_kind=1, hours=3, random_state=4)
    rows = [{"at": r.at.to_pydatetime(), "ip": r.ip, "method": r.method, "path": r.path, "query": r.query or "",
             "status": int(r.status), "latency_ms": float(r.latency_ms), "user_agent": r.user_agent,
             "session_id": None if pd.isna(r.session_id) else int(r.session_id),
             "response_bytes": int(r.response_bytes), "category": "normal" if r.attack == "normal" else "anomaly",
             "blocked": False} for r in log.itertuples()]
    with engine.begin() as conn:
        conn.execute(insert(RequestLog.__table__), rows)
    engine.dispose()
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(tmp_path / "models"))
    result = runner.invoke(app, ["train", "anomaly", "--database-url", url, "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output and "recall: rule-flagged clients" in result.output
    from unseen.ml.registry import ModelRegistry

    version = ModelRegistry(tmp_path / "models").promoted("anomaly")
    assert version.params["detector"] == "one_class_svm"
    # The attackers the rules had flagged were left out of training and are found by the model.
    assert version.metrics["ip"]["rule_flagged"]["recall"] > 0.5 and version.metrics["ip"]["holdout_fpr"] <= 0.01


def test_bad_database_url_is_explained(tmp_path):
    result = runner.invoke(app, ["seed", "--database-url", "notadb://what"])
    assert result.exit_code == 2 and "Expected something like" in result.output


def test_train_if_missing_keeps_the_promoted_version(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models-once"))
    first = runner.invoke(app, ["train", "recommend", "--database-url", url, "--test-days", "60", "--if-missing"])
    assert first.exit_code == 0 and "promoted" in first.output
    again = runner.invoke(app, ["train", "recommend", "--database-url", url, "--if-missing"])
    assert again.exit_code == 0 and "nothing to train" in " ".join(again.output.split())
    assert len([p for p in (root / "models-once" / "recommend").iterdir() if p.name.startswith("v")]) == 1


def test_train_and_evaluate_trends(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models-trends"))
    monkeypatch.setenv("UNSEEN_ARTEFACTS_DIR", str(root / "artefacts-trends"))
    result = runner.invoke(app, ["train", "trends", "--database-url", url, "--test-months", "3"])
    assert result.exit_code == 0, result.output
    assert "mase" in result.output and "seasonal naive" in result.output and "promoted" in result.output

    from unseen.ml.registry import ModelRegistry

    outlook = ModelRegistry(root / "models-trends").load("trends")
    assert set(outlook.sellers["group"]) == {"top", "bottom"}
    assert {"lower", "upper"} <= set(outlook.categories.columns) and len(outlook.invest) > 0
    evaluated = runner.invoke(app, ["evaluate", "trends", "--database-url", url, "--test-months", "3"])
    assert evaluated.exit_code == 0, evaluated.output
    rows = json.loads(next((root / "artefacts-trends" / "evaluations").glob("trends-*.json")).read_text())
    assert {"seasonal naive", "linear regression"} <= {r["model"] for r in rows}


def test_train_and_evaluate_clustering(seeded, monkeypatch):
    root, url = seeded
    monkeypatch.setenv("UNSEEN_MODELS_DIR", str(root / "models-clusters"))
    monkeypatch.setenv("UNSEEN_ARTEFACTS_DIR", str(root / "artefacts-clusters"))
    result = runner.invoke(app, ["train", "clustering", "--database-url", url])
    assert result.exit_code == 0, result.output
    from unseen.ml.registry import ModelRegistry

    segmentation = ModelRegistry(root / "models-clusters").load("clustering")
    assert len(segmentation.names) >= 2 and len(set(segmentation.names.values())) == len(segmentation.names)
    evaluated = runner.invoke(app, ["evaluate", "clustering", "--database-url", url])
    assert evaluated.exit_code == 0, evaluated.output
    rows = json.loads(next((root / "artefacts-clusters" / "evaluations").glob("clustering-*.json")).read_text())
    assert {r["model"] for r in rows} == {"KMeans", "DBSCAN"}


def test_evaluate_anomaly_compares_both_detectors(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSEEN_ARTEFACTS_DIR", str(tmp_path))
    from unseen.ml.training import evaluate_anomaly

    rows = evaluate_anomaly(shoppers=40, attackers_per_kind=1)
    assert {r["model"] for r in rows} == {"isolation_forest", "one_class_svm"}
    assert all(r["roc_auc"] > 0.9 for r in rows)


def test_evaluate_detection_needs_a_run_folder(tmp_path):
    missing = runner.invoke(app, ["evaluate", "detection"])
    assert missing.exit_code == 2 and "Which run?" in missing.output
    nothing = runner.invoke(app, ["evaluate", "detection", str(tmp_path / "nope")])
    assert nothing.exit_code == 2 and "Not evaluated" in nothing.output and "Traceback" not in nothing.output


def test_simulate_refuses_an_unknown_attack(tmp_path):
    result = runner.invoke(app, ["simulate", "--database-url", f"sqlite:///{tmp_path}/x.db", "--attacks", "meteor"])
    assert result.exit_code == 2 and "meteor" in result.output
