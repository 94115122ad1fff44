"""A generated data set shared by the analytics tests: 200k rows, 2,000 users (about a second to write)."""

from __future__ import annotations

import pytest

from unseen.analytics import generate_transactions

ROWS = 200_000
SEED = 3


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """(folder, GeneratedLayout) of one 200k-row data set in the Kaggle layout."""
    folder = tmp_path_factory.mktemp("transactions")
    return folder, generate_transactions(folder, rows=ROWS, users=2000, seed=SEED, chunk_rows=50_000)
