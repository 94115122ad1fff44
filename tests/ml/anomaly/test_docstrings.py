"""The Examples sections of the anomaly package run as doctests."""

import doctest
import importlib

import pytest

MODULES = ["_features", "_base", "_threshold", "_isolation_forest", "_one_class_svm", "_evaluate", "_synthetic"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(f"unseen.ml.anomaly.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {module.__name__}"
