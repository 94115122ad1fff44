"""PromotedModel: a serving process swaps in a newly promoted version, and keeps serving when one cannot load."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from unseen.ml.registry import ModelRegistry
from unseen.ml.serving import PromotedModel


def _model(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _register(registry: ModelRegistry, seed: int, score: float) -> str:
    version = registry.register("demo", _model(seed), params={"seed": seed}, metrics={"holdout": {"auc": score}},
                                data_range=("2026-01-01", "2026-02-01"), n_samples=40)
    return version.version


def test_nothing_promoted_means_none(tmp_path):
    assert PromotedModel(ModelRegistry(tmp_path), "demo", poll_seconds=0).get() is None


def test_a_newly_promoted_version_is_swapped_in(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = _register(registry, 1, 0.7)
    registry.promote_if_better("demo", first, "holdout.auc")
    serving = PromotedModel(registry, "demo", poll_seconds=0)
    version, model = serving.get()
    assert version.version == first and hasattr(model, "coef_")

    worse = _register(registry, 2, 0.6)
    assert not registry.promote_if_better("demo", worse, "holdout.auc").promoted
    assert serving.get()[0].version == first

    better = _register(registry, 3, 0.9)
    assert registry.promote_if_better("demo", better, "holdout.auc").promoted
    assert serving.get()[0].version == better
    assert serving.swaps == 2


def test_polling_interval_limits_registry_reads(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = _register(registry, 1, 0.7)
    registry.promote("demo", first)
    serving = PromotedModel(registry, "demo", poll_seconds=3600)
    assert serving.get()[0].version == first
    second = _register(registry, 2, 0.8)
    registry.promote("demo", second)
    assert serving.get()[0].version == first  # not looked at again within the hour


def test_a_corrupt_new_version_keeps_the_old_one_serving(tmp_path):
    registry = ModelRegistry(tmp_path)
    first = _register(registry, 1, 0.7)
    registry.promote("demo", first)
    serving = PromotedModel(registry, "demo", poll_seconds=0)
    assert serving.get()[0].version == first
    second = _register(registry, 2, 0.8)
    registry.promote("demo", second)
    registry.get("demo", second).model_path.write_bytes(b"not a model")  # damaged after promotion
    version, model = serving.get()
    assert version.version == first and hasattr(model, "coef_")


def test_concurrent_readers_always_get_a_whole_model(tmp_path):
    registry = ModelRegistry(tmp_path)
    registry.promote("demo", _register(registry, 1, 0.5))
    serving = PromotedModel(registry, "demo", poll_seconds=0)
    # The versions are fitted and registered before the readers start, so promotion is the only thing that
    # happens while they read: a swap must never hand a reader half of a (version, model) pair.
    versions = [_register(registry, seed, 0.5 + seed / 100) for seed in range(2, 8)]
    coefficients = {seed: _model(seed).coef_ for seed in range(1, 8)}  # what each version's model must be
    errors: list[BaseException] = []
    reads = [0] * 4
    stop = threading.Event()

    def read(slot: int) -> None:
        X = np.zeros((2, 3))
        while not stop.is_set():
            try:
                version, model = serving.get()
                assert model.predict(X).shape == (2,)
                # The pair is whole: the model is the one registered as this version (the seed is in its params).
                assert np.array_equal(model.coef_, coefficients[version.params["seed"]])
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            reads[slot] += 1
            time.sleep(0.0005)  # a request's worth of other work: readers that never yield starve the promoter

    readers = [threading.Thread(target=read, args=(slot,), daemon=True) for slot in range(4)]
    try:
        for thread in readers:
            thread.start()
        for version in versions:
            registry.promote("demo", version)
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in readers)
    assert errors == []
    assert min(reads) > 0
    assert serving.get()[0].metrics["holdout"]["auc"] == pytest.approx(0.57)
    assert serving.swaps >= 2
