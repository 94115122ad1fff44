"""Event weights, time decay and aggregation per (user, item)."""

import pandas as pd
import pytest

from unseen.ml.recommend import DEFAULT_EVENT_WEIGHTS, interaction_weights

NOW = pd.Timestamp("2024-06-30 12:00")


def events(*rows):
    return pd.DataFrame(rows, columns=["user_id", "product_id", "kind", "at"]).assign(
        at=lambda frame: pd.to_datetime(frame["at"])
    )


def weight_of(result, user, item):
    row = result[(result["user_id"] == user) & (result["item_id"] == item)]
    return float(row["weight"].iloc[0]) if len(row) else 0.0


def test_default_weights_per_kind_without_decay():
    result = interaction_weights(
        events(
            (1, 10, "view", NOW),
            (1, 11, "favourite_add", NOW),
            (1, 12, "cart_add", NOW),
            (1, 13, "purchase", NOW),
        ),
        half_life_days=None,
    )
    assert [weight_of(result, 1, item) for item in (10, 11, 12, 13)] == [1.0, 3.0, 4.0, 6.0]


def test_removals_subtract_and_the_sum_is_clipped_at_zero():
    result = interaction_weights(
        events(
            (1, 10, "cart_add", NOW),
            (1, 10, "cart_remove", NOW),  # 4 - 2 = 2
            (1, 11, "favourite_remove", NOW),  # -3 alone clips to 0 and the pair is dropped
            (1, 12, "favourite_add", NOW),
            (1, 12, "favourite_remove", NOW),  # 3 - 3 = 0, dropped
        ),
        half_life_days=None,
    )
    assert weight_of(result, 1, 10) == 2.0
    assert set(result["item_id"]) == {10}
    assert (result["weight"] > 0).all()


def test_half_life_halves_the_weight():
    result = interaction_weights(
        events(
            (1, 10, "purchase", NOW - pd.Timedelta(days=10)),
            (1, 11, "purchase", NOW - pd.Timedelta(days=20)),
            (1, 12, "purchase", NOW),
        ),
        half_life_days=10.0,
        reference_time=NOW,
    )
    assert weight_of(result, 1, 12) == pytest.approx(6.0)
    assert weight_of(result, 1, 10) == pytest.approx(3.0)
    assert weight_of(result, 1, 11) == pytest.approx(1.5)


def test_reference_time_defaults_to_the_latest_event():
    rows = events((1, 10, "view", NOW - pd.Timedelta(days=30)), (2, 11, "view", NOW))
    assert weight_of(interaction_weights(rows, half_life_days=30.0), 1, 10) == pytest.approx(0.5)


def test_events_after_the_reference_time_count_in_full():
    rows = events((1, 10, "view", NOW + pd.Timedelta(days=5)))
    assert weight_of(interaction_weights(rows, reference_time=NOW), 1, 10) == pytest.approx(1.0)


def test_events_without_a_product_are_ignored_and_ids_stay_integers():
    rows = events(
        (1, None, "login_ok", NOW),
        (1, None, "login_fail", NOW),
        (1, None, "logout", NOW),
        (1, 10, "view", NOW),
    )
    result = interaction_weights(rows)
    assert result[["user_id", "item_id"]].values.tolist() == [[1, 10]]
    assert result["item_id"].dtype.kind == "i"


def test_custom_weights_replace_the_defaults_and_item_id_column_is_accepted():
    rows = events((1, 10, "view", NOW), (1, 10, "purchase", NOW)).rename(columns={"product_id": "item_id"})
    result = interaction_weights(rows, event_weights={"view": 0.5, "purchase": 10.0}, half_life_days=None)
    assert weight_of(result, 1, 10) == 10.5
    assert DEFAULT_EVENT_WEIGHTS["view"] == 1.0


def test_aggregates_per_user_and_item_and_keeps_the_latest_time():
    rows = events((1, 10, "view", NOW - pd.Timedelta(days=1)), (1, 10, "view", NOW), (2, 10, "view", NOW))
    result = interaction_weights(rows, half_life_days=None)
    assert len(result) == 2
    assert weight_of(result, 1, 10) == 2.0
    assert result.loc[result["user_id"] == 1, "timestamp"].iloc[0] == NOW


def test_unknown_kind_is_named_in_the_error():
    with pytest.raises(ValueError, match="wishlist"):
        interaction_weights(events((1, 10, "wishlist", NOW)))


def test_missing_column_is_named_in_the_error():
    with pytest.raises(ValueError, match="kind"):
        interaction_weights(pd.DataFrame({"user_id": [1], "product_id": [2], "at": [NOW]}))


def test_mixed_time_zones_are_refused():
    rows = events((1, 10, "view", NOW))
    with pytest.raises(ValueError, match="time zone"):
        interaction_weights(rows, reference_time=pd.Timestamp("2024-07-01", tz="UTC"))


def test_no_item_events_give_an_empty_table():
    result = interaction_weights(events((1, None, "logout", NOW)))
    assert result.empty
    assert list(result.columns) == ["user_id", "item_id", "weight", "timestamp"]
