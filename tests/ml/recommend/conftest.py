"""Small interaction tables with a known structure, shared by the recommender tests."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def two_aisles() -> pd.DataFrame:
    """Campers buy camping items (c0..c9), cooks buy kitchen items (k0..k9); a few cross over.

    Within an aisle, lower numbers are more popular.
    """
    rng = np.random.default_rng(0)
    rows = []
    for user in range(120):
        aisle = "c" if user < 70 else "k"
        popularity = 1.0 / np.arange(1, 11)
        items = rng.choice(10, size=rng.integers(2, 6), replace=False, p=popularity / popularity.sum())
        rows += [(f"u{user}", f"{aisle}{item}", float(rng.integers(1, 7))) for item in items]
        if rng.random() < 0.05:
            rows.append((f"u{user}", f"{'k' if aisle == 'c' else 'c'}{rng.integers(10)}", 1.0))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "weight"]).drop_duplicates(["user_id", "item_id"])
