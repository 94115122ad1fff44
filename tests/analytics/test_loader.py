"""Reading the Kaggle layout: values parsed as the real files write them, clear errors on a broken folder."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

import unseen.analytics.loader as loader_module
from unseen.analytics import (
    TRANSACTION_COLUMNS,
    TRANSACTIONS_DUCKDB_TYPES,
    TRANSACTIONS_SPARK_DDL,
    LayoutColumnsMissing,
    LayoutError,
    LayoutFileMissing,
    LayoutValueError,
    duckdb_read_csv_sql,
    iter_transactions,
    load_layout,
    parse_money,
    read_fraud_labels,
)

# The first rows of the real files (as public data dictionaries show them), plus a few of our own.
TRANSACTIONS = """id,date,client_id,card_id,amount,use_chip,merchant_id,merchant_city,merchant_state,zip,mcc,errors
7475327,2010-01-01 00:01:00,1556,2972,$-77.00,Swipe Transaction,59935,Beulah,ND,58523.0,5499,
7475328,2010-01-01 00:02:00,561,4575,$14.57,Swipe Transaction,67570,Bettendorf,IA,52722.0,5311,
7475329,2010-01-01 00:02:00,1129,102,$80.00,Online Transaction,27092,ONLINE,,,4829,"Bad PIN,Insufficient Balance"
7475331,2010-01-01 00:05:00,430,2860,$200.00,Chip Transaction,27092,Rome,Italy,,4829,Technical Glitch
"""
CARDS = """id,client_id,card_brand,card_type,card_number,expires,cvv,has_chip,num_cards_issued,credit_limit,\
acct_open_date,year_pin_last_changed,card_on_dark_web
4524,825,Visa,Debit,4344676511950444,12/2022,623,YES,2,$24295,09/2002,2008,No
2731,825,Visa,Debit,4956965974959986,12/2020,393,YES,2,$21968,04/2014,2014,No
3701,1746,Amex,Credit,379292145112233,06/2021,91,NO,1,$55,11/2011,2012,Yes
"""
USERS = """id,current_age,retirement_age,birth_year,birth_month,gender,address,latitude,longitude,\
per_capita_income,yearly_income,total_debt,credit_score,num_credit_cards
825,53,66,1966,11,Female,462 Rose Lane,34.15,-117.76,$29278,$59696,$127613,787,5
1746,53,68,1966,12,Female,3606 Federal Boulevard,40.76,-73.74,$37891,$77254,$191349,701,5
"""
MCC_CODES = {"5812": "Eating Places and Restaurants", "5541": "Service Stations", "5311": "Department Stores"}
LABELS = {"target": {"7475327": "No", "7475328": "Yes", "7475331": "No"}}


@pytest.fixture
def layout_folder(tmp_path):
    (tmp_path / "transactions_data.csv").write_text(TRANSACTIONS)
    (tmp_path / "cards_data.csv").write_text(CARDS)
    (tmp_path / "users_data.csv").write_text(USERS)
    (tmp_path / "mcc_codes.json").write_text(json.dumps(MCC_CODES, indent=4))
    (tmp_path / "train_fraud_labels.json").write_text(json.dumps(LABELS))
    return tmp_path


def test_reads_money_dates_flags_and_labels_as_the_real_files_write_them(layout_folder):
    layout = load_layout(layout_folder)
    tx = layout.read_transactions()
    assert list(tx.columns) == list(TRANSACTION_COLUMNS)
    assert tx["amount"].tolist() == [-77.0, 14.57, 80.0, 200.0]
    assert tx["date"].iloc[0] == pd.Timestamp("2010-01-01 00:01:00")
    assert tx["zip"].iloc[0] == 58523.0 and np.isnan(tx["zip"].iloc[2])
    assert tx["merchant_city"].iloc[2] == "ONLINE" and pd.isna(tx["merchant_state"].iloc[2])
    assert pd.isna(tx["errors"].iloc[0]) and tx["errors"].iloc[2] == "Bad PIN,Insufficient Balance"
    cards = layout.cards
    assert cards["credit_limit"].tolist() == [24295.0, 21968.0, 55.0]
    assert cards["expires"].iloc[0] == pd.Timestamp("2022-12-01")
    assert cards["acct_open_date"].iloc[0] == pd.Timestamp("2002-09-01")
    assert cards["has_chip"].tolist() == [True, True, False]
    assert cards["card_on_dark_web"].tolist() == [False, False, True]
    assert layout.users["yearly_income"].tolist() == [59696.0, 77254.0]
    assert layout.mcc_codes.set_index("mcc")["description"][5541] == "Service Stations"
    assert layout.fraud_labels.to_dict("list") == {"id": [7475327, 7475328, 7475331], "is_fraud": [False, True, False]}
    assert layout.transactions_path == layout_folder / "transactions_data.csv"


def test_a_missing_file_is_named_with_what_was_expected(layout_folder):
    (layout_folder / "users_data.csv").unlink()
    (layout_folder / "mcc_codes.json").unlink()
    with pytest.raises(LayoutFileMissing) as caught:
        load_layout(layout_folder)
    message = str(caught.value)
    assert "users_data.csv" in message and "mcc_codes.json" in message and "transactions_data.csv" in message
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, LayoutError)


def test_a_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(LayoutFileMissing, match="not a folder"):
        load_layout(tmp_path / "nowhere")


def test_a_missing_column_is_named_with_the_file_and_the_expected_columns(layout_folder):
    path = layout_folder / "transactions_data.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in lines) + "\n")
    with pytest.raises(LayoutColumnsMissing) as caught:
        load_layout(layout_folder)
    message = str(caught.value)
    assert "transactions_data.csv" in message and "lacks the columns mcc" in message
    assert ",".join(TRANSACTION_COLUMNS) in message and isinstance(caught.value, ValueError)


def test_a_card_file_without_its_limit_column_is_refused(layout_folder):
    path = layout_folder / "cards_data.csv"
    path.write_text(path.read_text().replace("credit_limit", "limit"))
    with pytest.raises(LayoutColumnsMissing, match=r"cards_data.csv lacks the columns credit_limit"):
        load_layout(layout_folder)


def test_a_bad_money_value_names_file_column_row_and_value(layout_folder):
    path = layout_folder / "users_data.csv"
    path.write_text(path.read_text().replace("$77254", "$77k54"))
    with pytest.raises(LayoutValueError) as caught:
        load_layout(layout_folder)
    message = str(caught.value)
    assert "users_data.csv" in message and "'yearly_income'" in message and "row 2" in message
    assert "'$77k54'" in message and "$-77.00" in message


def test_a_bad_amount_in_the_big_file_names_its_row(layout_folder):
    path = layout_folder / "transactions_data.csv"
    path.write_text(path.read_text().replace("$14.57", "14.57 USD"))
    with pytest.raises(LayoutValueError, match=r"'amount' data row 2 has '14.57 USD'"):
        load_layout(layout_folder).read_transactions()


def test_a_row_with_too_many_fields_is_refused(layout_folder):
    path = layout_folder / "transactions_data.csv"
    path.write_text(path.read_text().replace("Technical Glitch", "Technical Glitch,extra"))
    with pytest.raises(LayoutValueError, match=r"transactions_data.csv, in the rows from data row 1: .*fields"):
        load_layout(layout_folder).read_transactions()


def test_bad_dates_flags_and_labels_are_named(layout_folder):
    tx = layout_folder / "transactions_data.csv"
    tx.write_text(tx.read_text().replace("2010-01-01 00:05:00", "01/01/2010 00:05"))
    with pytest.raises(LayoutValueError, match=r"'date' data row 4 has '01/01/2010 00:05'"):
        next(iter_transactions(tx))
    cards = layout_folder / "cards_data.csv"
    cards.write_text(cards.read_text().replace(",NO,", ",MAYBE,"))
    with pytest.raises(LayoutValueError, match=r"'has_chip' data row 3 has 'MAYBE'; expected 'YES' or 'NO'"):
        load_layout(layout_folder)
    labels = layout_folder / "train_fraud_labels.json"
    labels.write_text(json.dumps({"target": {"7475327": "No", "7475328": "Perhaps"}}))
    with pytest.raises(LayoutValueError, match=r"label data row 2 has 'Perhaps'; expected 'No' or 'Yes'"):
        read_fraud_labels(labels)
    labels.write_text(json.dumps({"target": {"7475327": "No", "tx-9": "Yes"}}))
    with pytest.raises(LayoutValueError, match=r"key data row 2 has 'tx-9'"):
        read_fraud_labels(labels)
    labels.write_text(json.dumps({"7475327": "No"}))
    with pytest.raises(LayoutValueError, match=r'expected \{"target"'):
        read_fraud_labels(labels)


def test_mcc_codes_must_be_an_object_of_codes(layout_folder):
    (layout_folder / "mcc_codes.json").write_text('["5812", "5541"]')
    with pytest.raises(LayoutValueError, match="mcc_codes.json is not an object"):
        load_layout(layout_folder)
    (layout_folder / "mcc_codes.json").write_text("{not json")
    with pytest.raises(LayoutValueError, match="not valid JSON"):
        load_layout(layout_folder)


def test_money_parses_signs_commas_and_blanks():
    parsed = parse_money(pd.Series(["$24295", "$-77.00", "$1,234.56", None, "0"]))
    assert parsed.iloc[:3].tolist() == [24295.0, -77.0, 1234.56] and np.isnan(parsed.iloc[3]) and parsed.iloc[4] == 0


def test_the_big_file_reads_the_same_in_chunks(generated):
    folder, _ = generated
    whole = load_layout(folder, fraud_labels=False).read_transactions(nrows=30_000)
    pieces = pd.concat(iter_transactions(folder / "transactions_data.csv", chunk_rows=7_000, nrows=30_000),
                       ignore_index=True)
    pd.testing.assert_frame_equal(whole, pieces)


def test_duckdb_and_spark_schemas_follow_the_file_order():
    assert tuple(TRANSACTIONS_DUCKDB_TYPES) == TRANSACTION_COLUMNS
    assert [part.split()[0] for part in TRANSACTIONS_SPARK_DDL.split(", ")] == list(TRANSACTION_COLUMNS)
    sql = duckdb_read_csv_sql("/data/it's here/transactions_data.csv")
    assert sql.startswith("read_csv('/data/it''s here/transactions_data.csv'")
    assert "'date': 'TIMESTAMP'" in sql and "timestampformat = '%Y-%m-%d %H:%M:%S'" in sql


def test_examples_run_as_doctests():
    result = doctest.testmod(loader_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {loader_module.__name__}"
