"""Generated transactions: the Kaggle layout exactly, reproducible from a seed, with fraud that looks like fraud."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pandas as pd
import pytest

import unseen.analytics.generate as generate_module
from unseen.analytics import FRAUD_RATE, LABEL_SHARE, LAYOUT_FILES, generate_transactions, load_layout
from unseen.analytics.layout import (
    CARD_BRANDS,
    CARD_COLUMNS,
    CARD_TYPES,
    ERROR_VALUES,
    TRANSACTION_COLUMNS,
    USE_CHIP_VALUES,
    USER_COLUMNS,
)

from tests.analytics.conftest import ROWS


@pytest.fixture(scope="module")
def data(generated):
    """The generated transactions with labels (``is_fraud`` missing where unlabelled) and each user's home state."""
    folder, result = generated
    layout = load_layout(folder)
    tx = layout.read_transactions().merge(layout.fraud_labels, on="id", how="left")
    in_person = tx["use_chip"] != "Online Transaction"
    home = tx[in_person].groupby("client_id")["merchant_state"].agg(lambda s: s.mode().iat[0])
    tx["away"] = in_person & (tx["merchant_state"] != tx["client_id"].map(home))
    return layout, tx, result


def _raw(folder, name):
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    def files(seed, name):
        folder = tmp_path / name
        generate_transactions(folder, rows=20_000, users=150, seed=seed, chunk_rows=4_000)
        return {file: (folder / file).read_bytes() for file in LAYOUT_FILES}

    first, again, other = files(11, "a"), files(11, "b"), files(12, "c")
    assert first == again
    assert first["transactions_data.csv"] != other["transactions_data.csv"]
    assert first["users_data.csv"] != other["users_data.csv"]
    assert first["mcc_codes.json"] == other["mcc_codes.json"]


def test_headers_are_the_kaggle_columns_in_order(generated):
    folder, _ = generated
    for name, columns in [("transactions_data.csv", TRANSACTION_COLUMNS), ("cards_data.csv", CARD_COLUMNS),
                          ("users_data.csv", USER_COLUMNS)]:
        assert (folder / name).open().readline().rstrip("\n").split(",") == list(columns)
    labels = json.loads((folder / "train_fraud_labels.json").read_text())
    assert list(labels) == ["target"] and set(labels["target"].values()) == {"Yes", "No"}
    codes = json.loads((folder / "mcc_codes.json").read_text())
    assert len(codes) == 109 and all(code.isdigit() and len(code) == 4 for code in codes)
    assert codes["5812"] == "Eating Places and Restaurants" and codes["5541"] == "Service Stations"


def test_values_are_written_as_the_real_files_write_them(generated):
    folder, _ = generated
    tx = _raw(folder, "transactions_data.csv")
    assert tx["date"].str.fullmatch(r"20(1\d)-\d\d-\d\d \d\d:\d\d:00").all()
    assert tx["amount"].str.fullmatch(r"\$-?\d+\.\d\d").all() and tx["amount"].str.startswith("$-").any()
    assert set(tx["use_chip"]) == set(USE_CHIP_VALUES)
    online = tx["use_chip"] == "Online Transaction"
    assert (tx.loc[online, "merchant_city"] == "ONLINE").all()
    assert (tx.loc[online, ["merchant_state", "zip"]] == "").all().all()
    us = tx["merchant_state"].str.fullmatch(r"[A-Z]{2}")
    abroad = ~online & ~us
    assert abroad.any() and (tx.loc[abroad, "zip"] == "").all() and tx.loc[abroad, "merchant_state"].str.len().min() > 2
    assert tx.loc[us, "zip"].str.fullmatch(r"\d{3,5}\.0").all()
    reasons = set(tx.loc[tx["errors"] != "", "errors"].str.split(",").explode())
    assert reasons <= set(ERROR_VALUES) and {"Insufficient Balance", "Bad PIN", "Technical Glitch"} <= reasons
    cards = _raw(folder, "cards_data.csv")
    assert set(cards["card_brand"]) == set(CARD_BRANDS) and set(cards["card_type"]) == set(CARD_TYPES)
    assert cards["expires"].str.fullmatch(r"(0[1-9]|1[0-2])/\d{4}").all()
    assert cards["acct_open_date"].str.fullmatch(r"(0[1-9]|1[0-2])/(199\d|20[01]\d|2020)").all()
    assert cards["credit_limit"].str.fullmatch(r"\$\d+").all()
    assert cards["card_number"].str.fullmatch(r"\d{15,16}").all()
    assert set(cards["has_chip"]) == {"YES", "NO"} and set(cards["card_on_dark_web"]) <= {"Yes", "No"}
    users = _raw(folder, "users_data.csv")
    assert users["yearly_income"].str.fullmatch(r"\$\d+").all() and set(users["gender"]) == {"Female", "Male"}
    assert users["address"].str.fullmatch(r"\d+ [A-Za-z ]+").all()


def test_the_loader_reads_back_a_consistent_data_set(data):
    layout, tx, result = data
    assert len(tx) == ROWS == result.rows
    assert tx["id"].is_monotonic_increasing and tx["id"].is_unique and tx["id"].iloc[0] == 7_475_327
    assert tx["date"].is_monotonic_increasing
    assert tx["date"].min() >= pd.Timestamp("2010-01-01") and tx["date"].max() < pd.Timestamp("2019-11-01")
    owner = layout.cards.set_index("id")["client_id"]
    assert (tx["card_id"].map(owner) == tx["client_id"]).all()
    assert set(tx["mcc"]) <= set(layout.mcc_codes["mcc"])
    assert set(layout.fraud_labels["id"]) <= set(tx["id"])
    cards_per_user = layout.cards.groupby("client_id").size()
    assert (layout.users.set_index("id")["num_credit_cards"] == cards_per_user).all()
    assert layout.users["id"].tolist() == list(range(2000)) and 2.7 < cards_per_user.mean() < 3.5
    born = pd.to_datetime(dict(year=layout.users["birth_year"], month=layout.users["birth_month"], day=1))
    age_in_feb_2020 = 2020 - born.dt.year - (born.dt.month > 2)
    assert (age_in_feb_2020 == layout.users["current_age"]).all()


def test_fraud_share_has_the_binomial_spread(data):
    _, tx, result = data
    # The generator draws the number of fraudulent rows as Binomial(rows, 0.15%): 4 standard deviations is
    # about 69 rows on 200k, so this fails by chance less than once in 15,000 seeds.
    spread = 4 * math.sqrt(ROWS * FRAUD_RATE * (1 - FRAUD_RATE))
    assert abs(result.fraud_rows - ROWS * FRAUD_RATE) < spread
    # Labels go to a random two thirds of rows, independently of fraud; the share among them has the spread of a
    # binomial share on the labelled count (about 0.011 percentage points, so 0.042 at 4 sigma).
    labelled = tx["is_fraud"].notna()
    assert abs(labelled.mean() - LABEL_SHARE) < 4 * math.sqrt(LABEL_SHARE * (1 - LABEL_SHARE) / ROWS)
    share = tx.loc[labelled, "is_fraud"].astype(bool).mean()
    assert abs(share - FRAUD_RATE) < 4 * math.sqrt(FRAUD_RATE * (1 - FRAUD_RATE) / labelled.sum())


def test_fraud_comes_in_bursts_on_few_cards(data):
    layout, tx, result = data
    fraud = tx["is_fraud"] == True  # noqa: E712  (missing labels are not fraud)
    per_card = tx[fraud].groupby("card_id").size()
    assert len(per_card) <= fraud.sum() / 3 and len(per_card) < 0.01 * len(layout.cards)
    assert len(per_card) <= result.compromised_cards <= result.fraud_rows / 3

    def median_gap_hours(rows):
        gaps = rows.sort_values("date").groupby("card_id")["date"].diff().dropna()
        return gaps.median() / pd.Timedelta(hours=1)

    fraud_gap, normal_gap = median_gap_hours(tx[fraud]), median_gap_hours(tx[tx["is_fraud"] == False])  # noqa: E712
    assert fraud_gap < 6 and fraud_gap < normal_gap / 20
    compromised = layout.cards["id"].isin(per_card.index)
    dark_web = layout.cards.groupby(compromised)["card_on_dark_web"].mean()
    assert dark_web[True] > 10 * dark_web[False]


def test_fraud_is_more_often_online_far_from_home_large_and_failing(data):
    _, tx, _ = data
    fraud, normal = tx[tx["is_fraud"] == True], tx[tx["is_fraud"] == False]  # noqa: E712
    # A burst is online or in person as a whole, so with about thirty bursts the online share of fraud swings a
    # lot between seeds; "online or away from home" is what holds for nearly every burst.
    online = lambda rows: rows["use_chip"] == "Online Transaction"  # noqa: E731
    assert online(fraud).mean() > online(normal).mean()
    assert (online(fraud) | fraud["away"]).mean() > 3 * (online(normal) | normal["away"]).mean()
    assert fraud["away"].mean() > 5 * normal["away"].mean() and normal["away"].mean() > 0.005
    assert fraud["amount"].median() > 2.5 * normal["amount"].median()
    assert fraud["amount"].quantile(0.95) > 3 * normal["amount"].quantile(0.95)
    assert fraud["errors"].notna().mean() > 5 * normal["errors"].notna().mean()
    assert (fraud["amount"] < 0).mean() == 0 and (normal["amount"] < 0).mean() > 0.02


def test_ordinary_habits_look_like_card_data(data):
    _, tx, _ = data
    channels = tx["use_chip"].value_counts(normalize=True)
    assert 0.08 < channels["Online Transaction"] < 0.2 and channels["Chip Transaction"] > 0.2
    assert tx.loc[tx["date"] < "2015-01-01", "use_chip"].ne("Chip Transaction").all()
    assert 0.008 < tx["errors"].notna().mean() < 0.025
    assert {5411, 5499, 5541, 5812, 5814} <= set(tx["mcc"].value_counts().index[:8])
    hours = tx["date"].dt.hour.value_counts(normalize=True)
    assert hours[[12, 17, 18]].min() > 4 * hours[[2, 3, 4]].max()


def test_arguments_are_checked_before_anything_is_written(tmp_path):
    for arguments, named in [({"rows": 0}, "rows"), ({"users": 0}, "users"), ({"seed": -1}, "seed"),
                             ({"chunk_rows": 10}, "chunk_rows"), ({"fraud_rate": 0.5}, "fraud_rate"),
                             ({"label_share": 0}, "label_share"), ({"rows": 10.5}, "rows")]:
        with pytest.raises(ValueError, match=named):
            generate_transactions(tmp_path / "out", **{"rows": 1000, "users": 10, **arguments})
    assert not (tmp_path / "out").exists()


def test_progress_is_reported_and_no_partial_files_are_left(tmp_path):
    calls = []
    result = generate_transactions(tmp_path, rows=12_000, users=40, seed=5, chunk_rows=3_000,
                                   progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3 and calls[-1] == (12_000, 12_000)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(LAYOUT_FILES)
    assert result.seconds > 0 and 0 < result.labelled_rows < result.rows


def test_a_single_user_still_gets_a_layout(tmp_path):
    result = generate_transactions(tmp_path, rows=500, users=1, seed=0)
    tx = load_layout(tmp_path).read_transactions()
    assert len(tx) == 500 and tx["client_id"].nunique() == 1 and result.users == 1
    assert np.all(np.diff(tx["id"].to_numpy()) > 0)


def test_examples_run_as_doctests():
    result = doctest.testmod(generate_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {generate_module.__name__}"
