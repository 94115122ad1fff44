"""The DuckDB feature pipeline: exact values on a hand-made layout (windows, ties within a minute, z-scores, first
visits, usual city, labels), no leakage (a row's features do not change when later rows are cut off), Parquet
output equal to the frame, user history seen from an ``as_of`` date, and interaction counts that add up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unseen.analytics import generate_transactions, load_layout
from unseen.analytics.features import (
    FRAUD_FEATURES,
    TRANSACTION_FEATURE_COLUMNS,
    USER_HISTORY_COLUMNS,
    read_features,
    transaction_features,
    user_history_features,
    user_mcc_interactions,
    user_merchant_interactions,
    user_monthly_activity,
    write_features,
)

USERS_CSV = """id,current_age,retirement_age,birth_year,birth_month,gender,address,latitude,longitude,per_capita_income,yearly_income,total_debt,credit_score,num_credit_cards
1,40,67,1980,5,Female,1 Main Street,34.15,-117.76,$30000,$60000,$30000,700,2
2,30,67,1990,1,Male,2 Oak Avenue,40.71,-74.00,$20000,$40000,$0,650,1
"""
CARDS_CSV = """id,client_id,card_brand,card_type,card_number,expires,cvv,has_chip,num_cards_issued,credit_limit,acct_open_date,year_pin_last_changed,card_on_dark_web
10,1,Visa,Credit,4344676511950444,12/2022,623,YES,2,$1000,01/2015,2013,No
11,2,Amex,Debit,379411234567890,05/2021,111,NO,1,$500,06/2014,2014,Yes
"""
# Card 10's history, built so that each window boundary is exercised: rows 1 and 2 share a minute; row 4 comes
# exactly one hour after them (still inside the hour), row 5 one minute later (they have left it); row 6 a week
# after row 4 (exactly at the 7-day edge). Card 11 pays at row 6's minute and must not count for card 10.
TRANSACTIONS_CSV = """id,date,client_id,card_id,amount,use_chip,merchant_id,merchant_city,merchant_state,zip,mcc,errors
1,2015-03-02 10:00:00,1,10,$10.00,Swipe Transaction,100,Austin,TX,78701.0,5411,
2,2015-03-02 10:00:00,1,10,$20.00,Chip Transaction,100,Austin,TX,78701.0,5411,
3,2015-03-02 10:59:00,1,10,$30.00,Swipe Transaction,200,Dallas,TX,75201.0,5812,
4,2015-03-02 11:00:00,1,10,$-5.00,Swipe Transaction,100,Austin,TX,78701.0,5411,"Bad PIN,Insufficient Balance"
5,2015-03-02 11:01:00,1,10,$40.00,Online Transaction,300,ONLINE,,,5311,
6,2015-03-09 11:00:00,1,10,$50.00,Chip Transaction,400,Rome,Italy,,5812,
7,2015-03-09 11:00:00,2,11,$70.00,Swipe Transaction,100,Austin,TX,78701.0,5411,
8,2015-03-10 02:00:00,1,10,$9000.00,Swipe Transaction,200,Dallas,TX,75201.0,5812,Technical Glitch
"""
MCC_CODES = {"5411": "Grocery Stores, Supermarkets", "5812": "Eating Places and Restaurants",
             "5311": "Department Stores"}
LABELS = {"target": {"1": "No", "3": "Yes", "8": "Yes"}}


def write_handmade_layout(folder: Path, transactions: str = TRANSACTIONS_CSV) -> Path:
    """The five files of the layout with the rows above (two users, two cards, eight transactions)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users_data.csv").write_text(USERS_CSV)
    (folder / "cards_data.csv").write_text(CARDS_CSV)
    (folder / "transactions_data.csv").write_text(transactions)
    (folder / "mcc_codes.json").write_text(json.dumps(MCC_CODES))
    (folder / "train_fraud_labels.json").write_text(json.dumps(LABELS))
    return folder


EXPECTED = pd.DataFrame({
    "id": [1, 2, 3, 4, 5, 6, 7, 8],
    "card_prior_transactions": [0, 1, 2, 3, 4, 5, 0, 6],
    "seconds_since_previous": [30 * 86400, 0, 59 * 60, 60, 60, 7 * 86400 - 60, 30 * 86400, 15 * 3600],
    "card_count_1h": [0, 1, 2, 3, 2, 0, 0, 0],
    "card_amount_1h": [0.0, 10.0, 30.0, 60.0, 25.0, 0.0, 0.0, 0.0],
    "card_count_24h": [0, 1, 2, 3, 4, 0, 0, 1],
    "card_amount_24h": [0.0, 10.0, 30.0, 60.0, 55.0, 0.0, 0.0, 50.0],
    "card_count_7d": [0, 1, 2, 3, 4, 2, 0, 1],
    "card_amount_7d": [0.0, 10.0, 30.0, 60.0, 55.0, 35.0, 0.0, 50.0],
    "first_at_merchant": [1, 0, 1, 0, 1, 1, 1, 0],
    "first_in_mcc": [1, 0, 1, 0, 1, 0, 1, 0],
    "first_in_city": [1, 0, 1, 0, 0, 1, 1, 0],
    "city_not_usual": [0, 0, 1, 0, 0, 1, 0, 1],
    "is_foreign": [0, 0, 0, 0, 0, 1, 0, 0],
    "is_online": [0, 0, 0, 0, 1, 0, 0, 0],
    "is_refund": [0, 0, 0, 1, 0, 0, 0, 0],
    "error_count": [0, 0, 0, 2, 0, 0, 0, 1],
    "error_bad_pin": [0, 0, 0, 1, 0, 0, 0, 0],
    "error_technical_glitch": [0, 0, 0, 0, 0, 0, 0, 1],
    "hour": [10, 10, 10, 11, 11, 11, 11, 2],
    "weekday": [0, 0, 0, 0, 0, 0, 0, 1],
    "is_night": [0, 0, 0, 0, 0, 0, 0, 1],
    "chip_card_swiped": [1, 0, 1, 1, 0, 0, 0, 1],
    "card_on_dark_web": [0, 0, 0, 0, 0, 0, 1, 0],
    "age": [35, 35, 35, 35, 35, 35, 25, 35],
    "debt_to_income": [0.5] * 6 + [0.0, 0.5],
    "years_since_pin_change": [2] * 6 + [1, 2],
})


def _zscores() -> list[float]:
    """Each amount against the mean and sample standard deviation of the card's earlier amounts."""
    history = {10: [], 11: []}
    amounts = [(10, 10.0), (10, 20.0), (10, 30.0), (10, -5.0), (10, 40.0), (10, 50.0), (11, 70.0), (10, 9000.0)]
    scores = []
    for card, amount in amounts:
        past = history[card]
        scores.append(float(np.clip((amount - np.mean(past)) / np.std(past, ddof=1), -50, 50)) if len(past) >= 2
                      else 0.0)
        past.append(amount)
    return scores


def check_handmade(frame: pd.DataFrame) -> None:
    """The exact feature values of the hand-made layout; shared with the Spark tests."""
    assert list(frame.columns) == list(TRANSACTION_FEATURE_COLUMNS)
    assert frame["id"].tolist() == EXPECTED["id"].tolist()
    for column in EXPECTED.columns:
        assert frame[column].tolist() == pytest.approx(EXPECTED[column].tolist()), column
    assert frame["amount_zscore"].tolist() == pytest.approx(_zscores())
    assert frame["amount_zscore"].iloc[-1] == 50.0  # 9000 dollars is clipped
    assert frame["is_fraud"].tolist() == [False, pd.NA, True, pd.NA, pd.NA, pd.NA, pd.NA, True]
    assert frame["log_amount"].tolist() == pytest.approx(np.sign(frame["amount"]) * np.log1p(frame["amount"].abs()))
    assert frame["amount_to_limit"].tolist() == pytest.approx([a / (1000 if c == 10 else 500) for a, c in
                                                                zip(frame["amount"], frame["card_id"])])
    assert frame[list(FRAUD_FEATURES)].notna().all().all()


@pytest.fixture(scope="module")
def handmade(tmp_path_factory) -> Path:
    return write_handmade_layout(tmp_path_factory.mktemp("handmade"))


def test_exact_values_on_a_handmade_layout(handmade) -> None:
    check_handmade(transaction_features(handmade))


def test_later_rows_do_not_change_earlier_features(handmade, tmp_path) -> None:
    """Row 8 spends 9000 dollars at Dallas; without it rows 1-7 keep every feature (the past alone decides)."""
    lines = TRANSACTIONS_CSV.strip().splitlines()
    cut = write_handmade_layout(tmp_path / "cut", "\n".join(lines[:-1]) + "\n")
    full = transaction_features(handmade).iloc[:7].reset_index(drop=True)
    pd.testing.assert_frame_equal(transaction_features(cut), full)


def test_no_leakage_on_generated_data(tmp_path) -> None:
    """Cut a generated file at a row: every earlier row's features are the same as with the whole file."""
    folder = tmp_path / "data"
    generate_transactions(folder, rows=6_000, users=30, seed=11)
    lines = (folder / "transactions_data.csv").read_text().splitlines()
    cut = tmp_path / "cut"
    cut.mkdir()
    for name in ("users_data.csv", "cards_data.csv", "mcc_codes.json", "train_fraud_labels.json"):
        (cut / name).write_bytes((folder / name).read_bytes())
    (cut / "transactions_data.csv").write_text("\n".join(lines[:3_001]) + "\n")
    whole = transaction_features(folder)
    part = transaction_features(cut)
    assert len(part) == 3_000
    pd.testing.assert_frame_equal(part, whole[whole["id"].isin(part["id"])].reset_index(drop=True))


def test_since_and_until_keep_the_history(handmade) -> None:
    """``since`` drops rows from the output, not from the past of the rows kept; ``until`` is exclusive."""
    everything = transaction_features(handmade)
    window = transaction_features(handmade, since="2015-03-02 11:00", until="2015-03-09 11:00")
    assert window["id"].tolist() == [4, 5]
    pd.testing.assert_frame_equal(window, everything[everything["id"].isin([4, 5])].reset_index(drop=True))


def test_parquet_file_holds_the_same_frame(handmade, tmp_path) -> None:
    written = write_features(handmade, tmp_path / "out" / "features.parquet", threads=1, memory_limit="512MB")
    assert (written.rows, written.labelled_rows, written.fraud_rows) == (8, 3, 2)
    pd.testing.assert_frame_equal(read_features(written.path), transaction_features(handmade), check_dtype=False)


def test_write_features_refuses_a_folder_as_output(handmade, tmp_path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        write_features(handmade, tmp_path)


def test_features_separate_fraud_on_generated_data(generated) -> None:
    """On the generated 200k rows the features carry the fraud signal the generator planted: bursts on a card,
    new merchants, other cities, bigger amounts."""
    folder, _ = generated
    frame = transaction_features(folder, since="2016-01-01")
    labelled = frame[frame["is_fraud"].notna()]
    fraud, normal = labelled[labelled["is_fraud"].astype(bool)], labelled[~labelled["is_fraud"].astype(bool)]
    assert len(fraud) > 20
    assert fraud["card_count_24h"].mean() > 2 * normal["card_count_24h"].mean()
    assert fraud["first_at_merchant"].mean() > 2 * normal["first_at_merchant"].mean()
    assert fraud["amount_zscore"].median() > normal["amount_zscore"].median()


def test_user_history_uses_only_the_past(handmade) -> None:
    history = user_history_features(handmade, as_of="2015-03-09 11:00", window_days=30, recent_days=3)
    assert list(history.columns) == list(USER_HISTORY_COLUMNS)
    assert history["client_id"].tolist() == [1]  # user 2 pays first at as_of itself: no history yet
    row = history.iloc[0]
    assert row["transactions_total"] == 5 and row["transactions"] == 5
    assert row["spend"] == pytest.approx(95.0) and row["mean_amount"] == pytest.approx(19.0)
    assert row["recency_days"] == pytest.approx((7 * 86400 - 60) / 86400)
    assert row["tenure_days"] == pytest.approx(7 + 1 / 24)
    assert (row["active_days"], row["distinct_merchants"], row["distinct_mccs"]) == (1, 3, 3)
    assert row["online_share"] == pytest.approx(0.2) and row["refund_share"] == pytest.approx(0.2)
    assert (row["transactions_recent"], row["transactions_earlier"]) == (0, 5)
    assert row["transactions_trend"] == pytest.approx(np.log(1 / (5 * 3 / 27 + 1)))
    assert row["transactions_trend"] < 0  # quiet in the last three days
    assert row["age"] == 35 and row["debt_to_income"] == pytest.approx(0.5)
    later = user_history_features(handmade, as_of="2015-03-11", window_days=30, recent_days=3)
    assert later.set_index("client_id")["transactions_recent"].to_dict() == {1: 2, 2: 1}


def test_user_history_refuses_a_recent_span_longer_than_the_window(handmade) -> None:
    with pytest.raises(ValueError, match="recent_days"):
        user_history_features(handmade, as_of="2016-01-01", window_days=30, recent_days=30)


def test_monthly_activity_and_interactions_add_up(generated) -> None:
    folder, result = generated
    layout = load_layout(folder)
    raw = layout.read_transactions()
    monthly = user_monthly_activity(layout)
    assert monthly["transactions"].sum() == result.rows
    assert monthly["spend"].sum() == pytest.approx(raw["amount"].sum())
    assert (monthly["active_days"] <= 31).all() and (monthly["month"].dt.day == 1).all()
    by_mcc = user_mcc_interactions(layout)
    by_merchant = user_merchant_interactions(layout)
    assert by_mcc["transactions"].sum() == by_merchant["transactions"].sum() == result.rows
    expected = raw.groupby(["client_id", "mcc"]).size()
    assert by_mcc.set_index(["client_id", "mcc"])["transactions"].sort_index().tolist() == expected.tolist()
    assert by_merchant["spend"].sum() == pytest.approx(raw["amount"].sum())
    recent = user_mcc_interactions(layout, since="2019-01-01")
    assert recent["transactions"].sum() == int((raw["date"] >= "2019-01-01").sum())
    assert (recent["first_date"] >= pd.Timestamp("2019-01-01")).all()


def test_cli_features_writes_parquet_and_a_summary(handmade, tmp_path) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(app, ["analytics", "features", "--data", str(handmade), "--out", str(out),
                                      "--threads", "1", "--memory-limit", "1GB"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert "transactions 8" in text and "3 / 2" in text and f"numeric features {len(FRAUD_FEATURES)}" in text
    assert read_features(out)["id"].tolist() == list(range(1, 9))


@pytest.mark.parametrize(("change", "message"), [
    ("missing", "is not a folder"),
    ("no_labels", "lacks train_fraud_labels.json"),
    ("bad_columns", "transactions_data.csv lacks the columns amount"),
    ("engine", "unknown engine 'pandas'"),
])
def test_cli_features_refuses_bad_input_with_exit_2(tmp_path, change, message) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    folder = write_handmade_layout(tmp_path / "layout")
    engine = "duckdb"
    if change == "missing":
        folder = tmp_path / "nowhere"
    elif change == "no_labels":
        (folder / "train_fraud_labels.json").unlink()
    elif change == "bad_columns":
        (folder / "transactions_data.csv").write_text(TRANSACTIONS_CSV.replace(",amount,", ",amt,"))
    else:
        engine = "pandas"
    result = CliRunner().invoke(app, ["analytics", "features", "--data", str(folder), "--out",
                                      str(tmp_path / "f.parquet"), "--engine", engine])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
