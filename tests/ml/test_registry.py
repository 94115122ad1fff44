"""The model registry: versions, metadata, checksums, promotion, pruning, polling, and two processes at once."""

from __future__ import annotations

import doctest
import hashlib
import json
import multiprocessing
import os
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

import unseen
from unseen.config import PROJECT_ROOT
from unseen.ml import registry as registry_module
from unseen.ml.registry import (
    NAME_PATTERN,
    ChecksumMismatchError,
    ModelRegistry,
    RegistryError,
    checkout_state,
)

_rng = np.random.default_rng(0)
X = _rng.normal(size=(120, 5))
Y = (X[:, 0] + 0.5 * X[:, 1] + _rng.normal(scale=0.5, size=120) > 0).astype(int)


def fitted_model(seed: int = 0):
    # Imported here so that the spawned workers below, which import this module, need not load scikit-learn.
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0 + seed, max_iter=200).fit(X, Y)


def register(registry: ModelRegistry, task: str = "fraud", seed: int = 0, auc: float | None = 0.8, **metrics):
    model = fitted_model(seed)
    return registry.register(task, model, params=model.get_params(), metrics={"holdout": {"auc": auc}, **metrics},
                             data_range=(date(2026, 1, 1), date(2026, 3, 31)), n_samples=len(X))


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def test_register_list_load_roundtrip(registry):
    model = fitted_model(0)
    versions = [register(registry, seed=s) for s in range(3)]

    assert [v.version for v in versions] == sorted(v.version for v in versions), "ids sort in registration order"
    assert len({v.version for v in versions}) == 3
    assert all(NAME_PATTERN.match(v.version) for v in versions)
    listed = registry.list("fraud")
    assert [v.version for v in listed] == [v.version for v in reversed(versions)], "newest first"
    assert not any(v.promoted for v in listed)
    assert registry.tasks() == ["fraud"]
    assert registry.list("churn") == []

    loaded = registry.load("fraud", versions[0].version)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_load_without_version_loads_the_promoted_one(registry):
    first, second = register(registry, seed=0), register(registry, seed=1)
    with pytest.raises(RegistryError, match="no promoted version") as error:
        registry.load("fraud")
    assert second.version in str(error.value) and first.version in str(error.value)

    registry.promote("fraud", first.version)
    assert registry.load("fraud").C == 1.0
    assert registry.promoted("fraud").version == first.version
    assert [v.promoted for v in registry.list("fraud")] == [False, True]
    assert registry.get("fraud", first.version).promoted


def test_load_promoted_follows_a_promotion_that_prunes_the_version_being_read(registry, monkeypatch):
    first, second = register(registry, seed=0), register(registry, seed=1)
    registry.promote("fraud", first.version)
    read = registry._verified_bytes

    def promote_and_prune_meanwhile(version):
        monkeypatch.setattr(registry, "_verified_bytes", read)
        registry.promote("fraud", second.version)
        registry.prune("fraud", keep=0, min_age_seconds=0)
        return read(version)

    monkeypatch.setattr(registry, "_verified_bytes", promote_and_prune_meanwhile)
    version, model = registry.load_promoted("fraud")

    assert version.version == second.version and version.promoted and model.C == 2.0
    assert [v.version for v in registry.list("fraud")] == [second.version]


def test_metadata_records_code_data_libraries_and_checksum(registry):
    import sklearn

    before = datetime.now(UTC)
    version = registry.register("anomaly", fitted_model(), params={"C": 1.0, "path": Path("/x"), "n": np.int64(3)},
                                metrics={"holdout_auc": np.float64(0.75), "rmse": float("nan"), "n_test": 30},
                                data_range=(datetime(2026, 1, 1, 8, 30), datetime(2026, 2, 1)), n_samples=120,
                                notes="weekly retrain")
    meta = json.loads((version.path / "metadata.json").read_text())

    assert meta["task"] == "anomaly" and meta["version"] == version.version == version.path.name
    created = datetime.fromisoformat(meta["created"])
    assert created.tzinfo is not None and before <= created <= datetime.now(UTC)
    assert meta["params"] == {"C": 1.0, "path": "/x", "n": 3}
    assert meta["metrics"] == {"holdout_auc": 0.75, "rmse": None, "n_test": 30}
    assert meta["data"] == {"start": "2026-01-01T08:30:00", "end": "2026-02-01T00:00:00", "n_samples": 120}
    assert meta["notes"] == "weekly retrain"
    assert meta["code_version"]["package"] == unseen.__version__
    if (PROJECT_ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert meta["code_version"]["git_commit"] == head.stdout.strip()
        assert isinstance(meta["code_version"]["git_dirty"], bool)
    assert meta["libraries"]["scikit-learn"] == sklearn.__version__
    assert meta["libraries"]["numpy"] == np.__version__
    model_bytes = (version.path / "model.joblib").read_bytes()
    assert meta["model"]["sha256"] == hashlib.sha256(model_bytes).hexdigest() == version.checksum
    assert meta["model"]["size"] == len(model_bytes) == version.file_size
    assert version.data_range == ("2026-01-01T08:30:00", "2026-02-01T00:00:00") and version.n_samples == 120
    assert version.metric("holdout_auc") == 0.75 and version.metric("rmse") is None


def test_git_commit_is_none_outside_a_checkout(tmp_path, monkeypatch):
    assert checkout_state(tmp_path) == (None, None)
    (tmp_path / ".git").mkdir()  # looks like a checkout, but git cannot read it

    assert checkout_state(tmp_path) == (None, None)

    def too_slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], 2.0)

    monkeypatch.setattr(registry_module.subprocess, "run", too_slow)
    assert checkout_state(PROJECT_ROOT) == (None, None)


def test_corrupted_model_file_is_refused_with_path_and_checksums(registry):
    version = register(registry)
    registry.promote("fraud", version.version)
    model_file = version.path / "model.joblib"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatchError) as error:
        registry.load("fraud")
    message = str(error.value)
    assert str(model_file) in message and version.checksum in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    with pytest.raises(RegistryError, match="checksum mismatch"):
        registry.promote("fraud", version.version, reason="again")


def test_unknown_task_and_version_name_what_exists(registry):
    version = register(registry)
    for version_asked in (version.version, None):
        with pytest.raises(RegistryError, match=r"unknown task 'churn'.*tasks: fraud"):
            registry.load("churn", version_asked)
    with pytest.raises(RegistryError, match=rf"unknown version 'v1' of task 'fraud'; versions: {version.version}"):
        registry.get("fraud", "v1")
    with pytest.raises(RegistryError, match="unknown version"):
        registry.promote("fraud", "v1")
    assert registry.promoted("churn") is None and registry.fingerprint("churn") is None


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "Fraud", "1fraud", "fraud.v2", ".lock", "a b",
                                  "x" * 42, "fr\u00e4ud", None])
def test_invalid_names_are_refused(registry, tmp_path, name):
    with pytest.raises(RegistryError, match="invalid task name"):
        register(registry, task=name)
    for call in (registry.list, registry.promoted, registry.fingerprint, registry.load, registry.prune):
        with pytest.raises(RegistryError, match="invalid task name"):
            call(name)
    register(registry)
    with pytest.raises(RegistryError, match="invalid version"):
        registry.get("fraud", name)
    with pytest.raises(RegistryError, match="invalid version"):
        registry.promote("fraud", name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"], "nothing written outside the root"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_samples": 0}, "n_samples must be a positive integer"),
    ({"data_range": ("2026-03-01", "2026-01-01")}, "ends before it starts"),
    ({"data_range": ("2026-01-01",)}, "must be a pair"),
    ({"metrics": {"auc": "high"}}, "metrics.auc must be a number"),
])
def test_bad_registration_arguments_are_refused(registry, kwargs, message):
    arguments = {"params": {}, "metrics": {"auc": 0.5}, "data_range": ("2026-01-01", "2026-02-01"), "n_samples": 10}
    with pytest.raises(RegistryError, match=message):
        registry.register("fraud", fitted_model(), **{**arguments, **kwargs})
    assert registry.list("fraud") == []


def test_promote_if_better(registry):
    first = register(registry, auc=0.80)
    decision = registry.promote_if_better("fraud", first.version, "holdout.auc")
    assert decision.promoted and "first" in decision.reason and decision.incumbent is None

    worse = register(registry, auc=0.79)
    decision = registry.promote_if_better("fraud", worse.version, "holdout.auc")
    assert not decision.promoted and decision.incumbent == first.version
    assert (decision.candidate_value, decision.incumbent_value) == (0.79, 0.80)
    assert registry.promoted("fraud").version == first.version

    better = register(registry, auc=0.85)
    decision = registry.promote_if_better("fraud", better.version, "holdout.auc")
    assert decision.promoted and "beats" in decision.reason
    assert registry.promoted("fraud").version == better.version
    assert not registry.promote_if_better("fraud", better.version, "holdout.auc").promoted, "already promoted"

    tie = register(registry, auc=0.85)
    assert not registry.promote_if_better("fraud", tie.version, "holdout.auc").promoted, "ties stay out at 0"
    assert registry.promote_if_better("fraud", tie.version, "holdout.auc", min_improvement=-1e-9).promoted

    small = register(registry, auc=0.86)
    assert not registry.promote_if_better("fraud", small.version, "holdout.auc", min_improvement=0.02).promoted
    assert registry.promote_if_better("fraud", small.version, "holdout.auc", min_improvement=0.005).promoted


def test_promote_if_better_lower_is_better_and_missing_values(registry):
    first = register(registry, rmse=2.0)
    registry.promote_if_better("fraud", first.version, "rmse", higher_is_better=False)
    assert registry.promote_if_better("fraud", register(registry, rmse=1.5).version, "rmse",
                                      higher_is_better=False).promoted
    assert not registry.promote_if_better("fraud", register(registry, rmse=1.7).version, "rmse",
                                          higher_is_better=False).promoted

    failed = register(registry, rmse=float("nan"))
    decision = registry.promote_if_better("fraud", failed.version, "rmse", higher_is_better=False)
    assert not decision.promoted and "not a finite number" in decision.reason
    with pytest.raises(RegistryError, match=r"no metric 'holdout.f1'.*holdout.auc, rmse"):
        registry.promote_if_better("fraud", failed.version, "holdout.f1")


def test_prune_keeps_the_newest_and_the_promoted(registry):
    versions = [register(registry, seed=s).version for s in range(7)]
    registry.promote("fraud", versions[1])
    leftover = registry.root / "fraud" / ".incoming-crashed"
    leftover.mkdir()
    os.utime(leftover, (time.time() - 7 * 3600,) * 2)
    in_progress = registry.root / "fraud" / ".incoming-writing-now"
    in_progress.mkdir()
    (registry.root / "fraud" / ".promoted.json.0123abcd.tmp").write_text("{")

    removed = registry.prune("fraud", keep=3, min_age_seconds=0)

    assert removed == [versions[3], versions[2], versions[0]]
    assert [v.version for v in registry.list("fraud")] == [versions[6], versions[5], versions[4], versions[1]]
    assert not leftover.exists() and in_progress.exists()
    assert not (registry.root / "fraud" / ".promoted.json.0123abcd.tmp").exists()
    assert registry.load("fraud").C == 2.0
    assert registry.prune("fraud", keep=0, min_age_seconds=0) == [versions[6], versions[5], versions[4]]
    assert [v.version for v in registry.list("fraud")] == [versions[1]]
    with pytest.raises(RegistryError, match="keep must be a non-negative integer"):
        registry.prune("fraud", keep=-1)


def test_prune_spares_fresh_candidates_a_concurrent_retraining_has_not_judged(registry):
    old, fresh = register(registry, seed=0), register(registry, seed=1)
    registry.promote("fraud", fresh.version)
    candidate = register(registry, seed=2)

    assert registry.prune("fraud", keep=0) == [], "all three are younger than ten minutes"
    assert registry.prune("fraud", keep=0, min_age_seconds=0) == [candidate.version, old.version]


def test_fingerprint_changes_on_promote_only(registry):
    assert registry.fingerprint("fraud") is None
    first = register(registry)
    assert registry.fingerprint("fraud") is None

    registry.promote("fraud", first.version)
    after_first = registry.fingerprint("fraud")
    assert after_first is not None and registry.changed_since("fraud", None)
    second = register(registry, seed=1)
    registry.prune("fraud", keep=1, min_age_seconds=0)
    registry.promote("fraud", first.version)  # already promoted: nothing changes
    assert registry.fingerprint("fraud") == after_first and not registry.changed_since("fraud", after_first)

    registry.promote("fraud", second.version)
    after_second = registry.fingerprint("fraud")
    assert after_second != after_first and registry.changed_since("fraud", after_first)
    registry.promote("fraud", first.version)  # a rollback is a change too
    assert registry.fingerprint("fraud") not in (after_first, after_second)


def register_and_promote_many(root: str, process: int, count: int) -> None:
    registry = ModelRegistry(root)
    for i in range(count):
        model = {"process": process, "round": i, "weights": np.arange(10_000.0)}
        version = registry.register("fraud", model, params={"process": process}, metrics={"auc": 0.5},
                                    data_range=("2026-01-01", "2026-01-31"), n_samples=10)
        registry.promote("fraud", version.version, reason=f"process {process}")


def test_two_processes_register_distinct_versions_and_keep_the_pointer_consistent(registry):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=register_and_promote_many, args=(str(registry.root), process, 4))
               for process in (1, 2)]
    for worker in workers:
        worker.start()
    # Meanwhile this process reads like the API does: whatever it sees must be whole.
    while any(worker.is_alive() for worker in workers):
        promoted = registry.promoted("fraud")
        if promoted is not None:
            assert registry.load("fraud", promoted.version)["process"] in (1, 2)
        time.sleep(0.005)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    versions = [v.version for v in registry.list("fraud")]
    assert len(versions) == len(set(versions)) == 8
    pointer = json.loads((registry.root / "fraud" / "promoted.json").read_text())
    assert pointer["version"] in versions and pointer["sequence"] == 8
    assert registry.load("fraud")["round"] == 3, "the last promotion of either process wins"
    assert sorted(p.name for p in (registry.root / "fraud").iterdir() if p.name.startswith(".")) == [".lock"]


def test_examples_run_as_doctests():
    result = doctest.testmod(registry_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
