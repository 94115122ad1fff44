"""From a small seeded shop to named clusters: the whole path the benchmark and the dashboards take."""

from datetime import date

import numpy as np
import pytest

from unseen.config import Settings
from unseen.db import make_engine
from unseen.ml.clustering import (
    BehaviourDBSCAN,
    BehaviourFeatures,
    BehaviourKMeans,
    behaviour_features,
    cluster_profiles,
    compare_clusterings,
    load_events,
    load_orders,
    name_clusters,
)
from unseen.simulate.seed import SeedParameters, seed


@pytest.fixture(scope="module")
def seeded_shop(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('clustering') / 'shop.db'}")
    seed(engine, Settings(environment="test"),
         SeedParameters(seed=3, customers=60, months=24, products=60, until=date(2026, 6, 30)))
    yield engine
    engine.dispose()


def test_seeded_shop_to_named_clusters(seeded_shop):
    events = load_events(seeded_shop)
    features = behaviour_features(events, load_orders(seeded_shop))
    assert 50 <= len(features) <= 60  # every customer who did something, not the operator
    assert any(column.startswith("cat_") for column in features)
    X = BehaviourFeatures().fit_transform(features)
    assert np.isfinite(X).all()

    kmeans = BehaviourKMeans(random_state=0).fit(X)
    assert kmeans.k_ >= 2
    profiles = cluster_profiles(features, kmeans.labels_)
    names = name_clusters(profiles)
    assert len(profiles) == kmeans.k_ >= 2
    assert profiles["size"].sum() == len(features)
    assert names.is_unique and names.str.len().gt(0).all()

    dbscan = BehaviourDBSCAN().fit(X)
    dbscan_names = name_clusters(cluster_profiles(features, dbscan.labels_))
    assert dbscan_names.is_unique
    assert (dbscan.labels_ == -1).any() == (-1 in dbscan_names.index)

    table = compare_clusterings(X, seeds=range(3))
    assert table.loc["KMeans", "n_clusters"] >= 2
    assert table[["silhouette", "stability_ari"]].loc["KMeans"].notna().all()
