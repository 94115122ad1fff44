"""Behaviour features and transition matrices on a hand-built clickstream with known answers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from tests.ml.clustering.conftest import REFERENCE_TIME
from unseen.ml.clustering import (
    STATES,
    BehaviourFeatures,
    BehaviourKMeans,
    behaviour_features,
    transition_matrix,
)


@pytest.fixture
def features(clickstream):
    return behaviour_features(clickstream, reference_time=REFERENCE_TIME)


def test_one_row_per_known_user(features):
    assert features.index.tolist() == [1, 2]  # the anonymous view is left out
    assert features.index.name == "user_id"
    assert features.notna().all().all()


def test_sessions_and_their_length(features):
    one, two = features.loc[1], features.loc[2]
    assert one["sessions"] == 2 and two["sessions"] == 1
    assert one["session_length_mean"] == 360.0 and one["session_length_median"] == 360.0  # 600 s and 120 s
    assert two["session_length_mean"] == 60.0
    assert one["events_per_session"] == 5.0 and two["events_per_session"] == 3.0
    assert one["events"] == 10 and one["views"] == 3


def test_recency_frequency_and_money_from_events(features):
    one, two = features.loc[1], features.loc[2]
    assert one["recency_days"] == pytest.approx(3.0)  # last event 7 March 22:02
    assert two["recency_days"] == pytest.approx(7 + (8 * 60 + 1) / 1440)
    assert one["purchases"] == 1 and one["monetary"] == 20.0 and one["basket_value"] == 20.0
    assert two["purchases"] == 0 and two["monetary"] == 0.0 and two["basket_value"] == 0.0


def test_orders_give_purchases_and_money(clickstream):
    orders = pd.DataFrame({"order_id": [100, 101], "user_id": [1, 1], "value_cents": [2000, 500]})
    features = behaviour_features(clickstream, orders=orders, reference_time=REFERENCE_TIME)
    assert features.loc[1, "purchases"] == 2 and features.loc[1, "monetary"] == 25.0
    assert features.loc[1, "basket_value"] == 12.5
    assert features.loc[2, "purchases"] == 0


def test_funnel_ratios(features):
    one, two = features.loc[1], features.loc[2]
    assert one["view_to_cart"] == pytest.approx(2 / 3)
    assert one["cart_to_purchase"] == pytest.approx(1 / 2)
    assert one["view_to_purchase"] == pytest.approx(1 / 3)
    assert one["favourite_rate"] == pytest.approx(1 / 3)
    assert one["cart_remove_rate"] == pytest.approx(1 / 2)
    # No cart adds: the ratios are 0, not NaN.
    assert two["view_to_cart"] == 0 and two["cart_to_purchase"] == 0 and two["cart_remove_rate"] == 0


def test_category_shares_of_views(features):
    assert features.loc[1, "cat_Toys"] == pytest.approx(2 / 3)
    assert features.loc[1, "cat_Garden"] == pytest.approx(1 / 3)
    assert features.loc[2, "cat_Toys"] == 1.0 and features.loc[2, "cat_Garden"] == 0.0


def test_time_of_day_and_weekday(features):
    one, two = features.loc[1], features.loc[2]
    shares = ["share_night", "share_morning", "share_afternoon", "share_evening"]
    assert one[shares].tolist() == pytest.approx([0.0, 0.6, 0.0, 0.4])
    assert two[shares].tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0])
    assert one["weekday_share"] == pytest.approx(0.6)  # six events on a Monday, four on a Saturday
    mean_hour = 14 + 0.5 / 60  # 14:00:00, 14:00:30, 14:01:00
    assert two["hour_sin"] == pytest.approx(np.sin(2 * np.pi * mean_hour / 24))
    assert two["hour_cos"] == pytest.approx(np.cos(2 * np.pi * mean_hour / 24))
    assert one["hour_sin"] ** 2 + one["hour_cos"] ** 2 == pytest.approx(1.0)


def test_mean_hour_is_circular():
    events = pd.DataFrame({
        "at": pd.to_datetime(["2026-03-02 23:00", "2026-03-03 01:00"], utc=True),
        "kind": "view", "user_id": 1, "session_id": [1, 2],
    })
    features = behaviour_features(events)
    # 23:00 and 01:00 average to midnight, not to noon.
    assert features.loc[1, "hour_sin"] == pytest.approx(0.0, abs=1e-12)
    assert features.loc[1, "hour_cos"] == pytest.approx(1.0)


def test_events_without_a_session_are_cut_by_silence():
    events = pd.DataFrame({
        "at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 10:10", "2026-03-02 11:00"], utc=True),
        "kind": ["view", "view", "view"], "user_id": [5, 5, 5], "session_id": pd.array([None] * 3, dtype="Int64"),
    })
    features = behaviour_features(events)
    assert features.loc[5, "sessions"] == 2  # 50 minutes of silence start a new session
    assert features.loc[5, "session_length_mean"] == 300.0  # 600 s and 0 s


def test_reference_time_defaults_to_the_last_event(clickstream):
    features = behaviour_features(clickstream)
    assert features.loc[1, "recency_days"] == 0.0


def test_reference_time_before_the_data_is_refused(clickstream):
    with pytest.raises(ValueError, match="before the last event"):
        behaviour_features(clickstream, reference_time="2026-03-01")


def test_bad_input_is_named(clickstream):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['kind'\]"):
        behaviour_features(clickstream.drop(columns="kind"))
    with pytest.raises(ValueError, match="unknown kind"):
        behaviour_features(clickstream.assign(kind="teleport"))
    with pytest.raises(ValueError, match="value_cents"):
        behaviour_features(clickstream, orders=pd.DataFrame({"user_id": [1]}))


def test_transition_matrix_counts_and_rows(clickstream):
    counts = transition_matrix(clickstream, normalize=False)
    assert counts.index.tolist() == list(STATES) and counts.columns.tolist() == list(STATES)
    assert counts.loc["view", "cart_add"] == 2
    assert counts.loc["start", "login_ok"] == 3  # one per session
    assert counts.loc["purchase", "end"] == 1 and counts.loc["logout", "end"] == 1
    assert counts["start"].sum() == 0

    matrix = transition_matrix(clickstream)
    left = counts.sum(axis=1) > 0
    np.testing.assert_allclose(matrix[left].sum(axis=1), 1.0)
    assert matrix.loc["end", "end"] == 1.0  # absorbing
    assert matrix.loc["view"].loc[["view", "cart_add", "logout"]].tolist() == [0.25, 0.5, 0.25]
    assert matrix.loc["cart_add", "favourite_add"] == 0.5 and matrix.loc["cart_add", "cart_remove"] == 0.5
    assert (matrix.loc[~left & (matrix.index != "end")] == 0).all().all()


def test_transition_matrix_per_user(clickstream):
    per_user = transition_matrix(clickstream, by="user")
    assert per_user.index.tolist() == [1, 2]
    assert per_user.shape[1] == (len(STATES) - 1) ** 2
    assert per_user.loc[1, "tr_view__cart_add"] == pytest.approx(2 / 3)
    assert per_user.loc[2, "tr_view__logout"] == 1.0
    assert per_user.loc[2, "tr_start__login_ok"] == 1.0
    assert per_user.loc[1, "tr_cart_add__favourite_add"] == 0.5
    counts = transition_matrix(clickstream, by="user", normalize=False)
    assert counts.loc[1, "tr_view__cart_add"] == 2


def test_transitions_can_join_the_features(clickstream):
    features = behaviour_features(clickstream, reference_time=REFERENCE_TIME, transitions=True)
    assert features.loc[1, "tr_view__cart_add"] == pytest.approx(2 / 3)
    assert "sessions" in features


def test_unknown_grouping_is_refused(clickstream):
    with pytest.raises(ValueError, match="by must be None or 'user'"):
        transition_matrix(clickstream, by="session")


def test_behaviour_features_transformer_logs_counts_and_standardises(features):
    transformer = BehaviourFeatures().fit(features)
    logged = set(features.columns[transformer.log_mask_])
    assert {"sessions", "monetary", "recency_days", "session_length_mean"} <= logged
    assert not logged & {"view_to_cart", "share_evening", "cat_Toys", "hour_sin"}
    Z = transformer.transform(features)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    assert set(np.round(Z.std(axis=0), 12)) <= {0.0, 1.0}  # columns that do not vary stay at 0
    expected = np.log1p(features["sessions"])
    expected = (expected - expected.mean()) / expected.std(ddof=0)
    np.testing.assert_allclose(Z[:, features.columns.get_loc("sessions")], expected)


def test_behaviour_features_transformer_by_name_or_position():
    X = pd.DataFrame({"a": [1.0, 3.0, 7.0], "b": [2.0, 4.0, 9.0]})
    assert BehaviourFeatures(log_columns=["b"]).fit(X).log_mask_.tolist() == [False, True]
    assert BehaviourFeatures(log_columns=[0]).fit(X.to_numpy()).log_mask_.tolist() == [True, False]
    assert BehaviourFeatures().fit(X.to_numpy()).log_mask_.tolist() == [False, False]  # no names, nothing known
    unscaled = BehaviourFeatures(log_columns=["a"], scale=False).fit_transform(X)
    np.testing.assert_allclose(unscaled[:, 0], np.log1p([1.0, 3.0, 7.0]))


def test_behaviour_features_transformer_refuses_bad_columns():
    X = pd.DataFrame({"sessions": [1.0, -2.0], "b": [0.0, 1.0]})
    with pytest.raises(ValueError, match="sessions is log-scaled and must be non-negative"):
        BehaviourFeatures().fit(X)
    with pytest.raises(ValueError, match="'nope', which is not a column"):
        BehaviourFeatures(log_columns=["nope"]).fit(X.abs())


def test_behaviour_features_transformer_in_a_pipeline_keeps_names(features):
    transformer = BehaviourFeatures().set_output(transform="pandas")
    assert transformer.fit_transform(features).columns.tolist() == features.columns.tolist()
    pipeline = make_pipeline(BehaviourFeatures(), BehaviourKMeans(k=2, random_state=0))
    assert sorted(set(pipeline.fit_predict(features))) == [0, 1]
