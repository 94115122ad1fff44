"""Profiles and names of synthetic clusters whose character is known."""

import numpy as np
import pandas as pd
import pytest

from unseen.ml.clustering import cluster_profiles, name_clusters


def _group(rng, n, **means):
    """n users around the given means (5 % noise), with the shares of views split between Toys and Christmas."""
    defaults = dict(recency_days=5.0, sessions=60.0, purchases=25.0, monetary=2500.0, views=300.0,
                    view_to_cart=0.3, cart_to_purchase=0.55, view_to_purchase=0.17, share_night=0.01,
                    share_morning=0.1, share_afternoon=0.4, share_evening=0.49, hour_sin=-0.9, hour_cos=0.3,
                    cat_Christmas=0.05)
    defaults.update(means)
    frame = pd.DataFrame({name: value * rng.normal(1.0, 0.05, size=n) for name, value in defaults.items()})
    frame["basket_value"] = frame["monetary"] / frame["purchases"]
    frame["cat_Toys"] = 1.0 - frame["cat_Christmas"]
    return frame


@pytest.fixture
def segments():
    rng = np.random.default_rng(5)
    groups = {
        0: _group(rng, 60),  # active, buy a lot
        1: _group(rng, 50, recency_days=300.0, sessions=5.0, purchases=2.0, monetary=200.0, views=30.0),
        2: _group(rng, 40, purchases=4.0, monetary=400.0, views=400.0, view_to_purchase=0.03),
        3: _group(rng, 30, monetary=1800.0, cat_Christmas=0.7),
    }
    features = pd.concat(groups.values(), ignore_index=True)
    features.index = pd.Index(np.arange(1000, 1000 + len(features)), name="user_id")
    labels = np.concatenate([np.full(len(frame), label) for label, frame in groups.items()])
    return features, labels


def test_profiles_give_size_share_means_and_top_categories(segments):
    features, labels = segments
    profiles = cluster_profiles(features, labels)
    assert profiles.index.tolist() == [0, 1, 2, 3]  # largest first
    assert profiles["size"].tolist() == [60, 50, 40, 30]
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert profiles.loc[1, "recency_days"] == pytest.approx(features["recency_days"][labels == 1].mean())
    assert profiles.loc[3, "top_categories"].startswith("Christmas 7")
    assert profiles.loc[0, "top_categories"].startswith("Toys 9")
    assert 0 <= profiles.loc[0, "mean_hour"] < 24
    assert {"cat_Christmas", "cat_Toys"} <= set(profiles.columns)


def test_names_follow_the_character_of_each_cluster(segments):
    features, labels = segments
    names = name_clusters(cluster_profiles(features, labels))
    assert names.to_dict() == {
        0: "loyal big spenders",
        1: "lapsed customers",
        2: "window shoppers",
        3: "seasonal gift buyers",
    }


def test_names_are_unique_when_two_clusters_look_alike(segments):
    features, labels = segments
    # A second lapsed cluster, 4, which also likes Christmas: both names it fits are taken by stronger fits.
    lapsed_again = _group(np.random.default_rng(9), 20, recency_days=200.0, sessions=4.0, purchases=2.0,
                          monetary=150.0, views=20.0, cat_Christmas=0.6)
    features = pd.concat([features, lapsed_again.set_axis(np.arange(2000, 2020))])
    labels = np.concatenate([labels, np.full(20, 4)])
    names = name_clusters(cluster_profiles(features, labels))
    assert names.is_unique
    assert names[1] == "lapsed customers" and names[3] == "seasonal gift buyers"
    assert names[4] in ("lapsed customers (Christmas)", "seasonal gift buyers (Christmas)")


def test_noise_is_named_as_such(segments):
    features, labels = segments
    labels = np.where(labels == 2, -1, labels)
    names = name_clusters(cluster_profiles(features, labels))
    assert names[-1] == "unclustered (noise)"
    assert names.is_unique


def test_clusters_no_rule_fits_get_a_plain_name():
    profiles = pd.DataFrame({"size": [10, 10, 10], "sessions": [50.0, 10.0, 12.0],
                             "top_categories": ["Toys 50%", "Garden 40%", "Party 60%"]},
                            index=pd.Index([0, 1, 2], name="cluster"))
    assert name_clusters(profiles).tolist() == ["regular customers", "occasional customers",
                                                "occasional customers (Party)"]


def test_names_stay_unique_on_arbitrary_clusters():
    rng = np.random.default_rng(0)
    features = _group(rng, 400)
    features = features * rng.lognormal(0, 0.5, size=features.shape)
    labels = rng.integers(0, 12, size=len(features))
    assert name_clusters(cluster_profiles(features, labels)).is_unique


def test_profiles_refuse_misaligned_labels(segments):
    features, _ = segments
    with pytest.raises(ValueError, match="one label per row"):
        cluster_profiles(features, [0, 1])
    with pytest.raises(ValueError, match="size column"):
        name_clusters(pd.DataFrame({"recency_days": [1.0]}))
