"""The Examples sections of the recommend package run as doctests."""

import doctest
import importlib

import pytest

MODULES = ["_base", "_cache", "_implicit", "_item_knn", "_metrics", "_movielens", "_popularity"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(f"unseen.ml.recommend.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {module.__name__}"
