"""Small frames and point clouds with a known answer, shared by the clustering tests."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

REFERENCE_TIME = pd.Timestamp("2026-03-10 22:02:00", tz="UTC")


@pytest.fixture
def clickstream() -> pd.DataFrame:
    """Two users, three sessions and one anonymous view.

    User 1, session 10 (Monday 2 March, 09:00-09:10, 600 s): login, two Toys views, a cart add of two units of
    product 2 (10.00 each), a favourite, the purchase (order 100). Session 11 (Saturday 7 March, 22:00-22:02,
    120 s): login, a Garden view, a cart add and its removal.
    User 2, session 20 (Tuesday 3 March, 14:00-14:01, 60 s): login, a Toys view, logout.
    """
    rows = [
        # at, kind, user, session, product, quantity, order, category, price
        ("2026-03-02 09:00:00", "login_ok", 1, 10, None, None, None, None, None),
        ("2026-03-02 09:01:00", "view", 1, 10, 1, None, None, "Toys", 500),
        ("2026-03-02 09:02:00", "view", 1, 10, 2, None, None, "Toys", 1000),
        ("2026-03-02 09:03:00", "cart_add", 1, 10, 2, 2, None, "Toys", 1000),
        ("2026-03-02 09:04:00", "favourite_add", 1, 10, 1, None, None, "Toys", 500),
        ("2026-03-02 09:10:00", "purchase", 1, 10, 2, 2, 100, "Toys", 1000),
        ("2026-03-07 22:00:00", "login_ok", 1, 11, None, None, None, None, None),
        ("2026-03-07 22:01:00", "view", 1, 11, 3, None, None, "Garden", 300),
        ("2026-03-07 22:01:30", "cart_add", 1, 11, 3, 1, None, "Garden", 300),
        ("2026-03-07 22:02:00", "cart_remove", 1, 11, 3, 1, None, "Garden", 300),
        ("2026-03-03 14:00:00", "login_ok", 2, 20, None, None, None, None, None),
        ("2026-03-03 14:00:30", "view", 2, 20, 1, None, None, "Toys", 500),
        ("2026-03-03 14:01:00", "logout", 2, 20, None, None, None, None, None),
        ("2026-03-08 12:00:00", "view", None, None, 1, None, None, "Toys", 500),
    ]
    columns = ["at", "kind", "user_id", "session_id", "product_id", "quantity", "order_id", "category", "price_cents"]
    events = pd.DataFrame(rows, columns=columns)
    events.insert(0, "event_id", np.arange(1, len(events) + 1))
    events["at"] = pd.to_datetime(events["at"], utc=True)
    for column in ("user_id", "session_id", "product_id", "quantity", "order_id", "price_cents"):
        events[column] = events[column].astype("Int64")
    events["category"] = events["category"].astype("str")
    # Shuffled: nothing may depend on the rows arriving in time order.
    return events.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture
def blobs():
    """Three well-separated blobs of 100 points in 4 dimensions, and their true labels."""
    X, y = make_blobs(n_samples=300, n_features=4, centers=3, cluster_std=0.6, center_box=(-10, 10), random_state=7)
    return X, y


@pytest.fixture
def blobs_with_outliers(blobs):
    """The blobs plus 12 outliers spread on a sphere of radius 40 around them (true label -1)."""
    X, y = blobs
    rng = np.random.default_rng(11)
    directions = rng.normal(size=(12, X.shape[1]))
    outliers = X.mean(axis=0) + 40 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return np.vstack([X, outliers]), np.concatenate([y, np.full(12, -1)])
