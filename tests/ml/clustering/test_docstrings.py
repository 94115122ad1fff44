"""The Examples sections of the clustering package run as doctests."""

import doctest
import importlib

import pytest

MODULES = ["_data", "_features", "_kmeans", "_dbscan", "_evaluate", "_profiles"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(f"unseen.ml.clustering.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {module.__name__}"
