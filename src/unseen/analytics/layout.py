"""The Kaggle "Financial Transactions Dataset" layout: five files, their columns and how their values are written.

The public data set (computingvictor/transactions-fraud-datasets on Kaggle; 13,305,915 transactions from
2010-01-01 to 2019-10-31, 2,000 users, 6,146 cards, 109 merchant category codes, 8,914,963 fraud labels of which
13,332 say "Yes") is one folder::

    transactions_data.csv    id,date,client_id,card_id,amount,use_chip,merchant_id,merchant_city,
                             merchant_state,zip,mcc,errors
    cards_data.csv           id,client_id,card_brand,card_type,card_number,expires,cvv,has_chip,
                             num_cards_issued,credit_limit,acct_open_date,year_pin_last_changed,card_on_dark_web
    users_data.csv           id,current_age,retirement_age,birth_year,birth_month,gender,address,latitude,
                             longitude,per_capita_income,yearly_income,total_debt,credit_score,num_credit_cards
    mcc_codes.json           {"5812": "Eating Places and Restaurants", ...}
    train_fraud_labels.json  {"target": {"7475327": "No", ...}}

How values are written, as in the first rows of the real files::

    7475327,2010-01-01 00:01:00,1556,2972,$-77.00,Swipe Transaction,59935,Beulah,ND,58523.0,5499,
    4524,825,Visa,Debit,4344676511950444,12/2022,623,YES,2,$24295,09/2002,2008,No
    825,53,66,1966,11,Female,462 Rose Lane,34.15,-117.76,$29278,$59696,$127613,787,5

Money is text with a dollar sign and the sign after it (``$-77.00``); ``zip`` is a float and blank for online and
foreign merchants; ``merchant_city`` is ``ONLINE`` for online transactions, whose ``merchant_state`` is blank;
``merchant_state`` is a US state code or, abroad, a country name; ``errors`` is blank or reasons joined by commas
(quoted then: ``"Bad PIN,Insufficient Balance"``); month dates are ``MM/YYYY``.
"""

from __future__ import annotations

TRANSACTIONS_FILE = "transactions_data.csv"
CARDS_FILE = "cards_data.csv"
USERS_FILE = "users_data.csv"
MCC_CODES_FILE = "mcc_codes.json"
FRAUD_LABELS_FILE = "train_fraud_labels.json"
LAYOUT_FILES: tuple[str, ...] = (TRANSACTIONS_FILE, CARDS_FILE, USERS_FILE, MCC_CODES_FILE, FRAUD_LABELS_FILE)

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "id", "date", "client_id", "card_id", "amount", "use_chip", "merchant_id", "merchant_city", "merchant_state",
    "zip", "mcc", "errors",
)
CARD_COLUMNS: tuple[str, ...] = (
    "id", "client_id", "card_brand", "card_type", "card_number", "expires", "cvv", "has_chip", "num_cards_issued",
    "credit_limit", "acct_open_date", "year_pin_last_changed", "card_on_dark_web",
)
USER_COLUMNS: tuple[str, ...] = (
    "id", "current_age", "retirement_age", "birth_year", "birth_month", "gender", "address", "latitude", "longitude",
    "per_capita_income", "yearly_income", "total_debt", "credit_score", "num_credit_cards",
)
LAYOUT_COLUMNS: dict[str, tuple[str, ...]] = {
    TRANSACTIONS_FILE: TRANSACTION_COLUMNS, CARDS_FILE: CARD_COLUMNS, USERS_FILE: USER_COLUMNS,
}
FRAUD_LABELS_KEY = "target"
"""The one top-level key of ``train_fraud_labels.json``."""

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    TRANSACTIONS_FILE: ("amount",),
    CARDS_FILE: ("credit_limit",),
    USERS_FILE: ("per_capita_income", "yearly_income", "total_debt"),
}
"""Columns written as dollars (``$24295``, ``$-77.00``) that the loader turns into floats."""
MONTH_COLUMNS: tuple[str, ...] = ("expires", "acct_open_date")
"""Card columns written ``MM/YYYY`` that the loader turns into the first day of that month."""

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
"""``transactions_data.csv`` ``date``: minute precision, seconds always ``00``."""
MONTH_FORMAT = "%m/%Y"
FIRST_DATE = "2010-01-01"
LAST_DATE = "2019-10-31"
SNAPSHOT_MONTH = "2020-02"
"""Users' ages and the last card openings are as of February 2020, after the transactions end."""

SWIPE, CHIP, ONLINE = "Swipe Transaction", "Chip Transaction", "Online Transaction"
USE_CHIP_VALUES: tuple[str, ...] = (SWIPE, CHIP, ONLINE)
ONLINE_CITY = "ONLINE"
ERROR_VALUES: tuple[str, ...] = (
    "Bad Card Number", "Bad Expiration", "Bad CVV", "Bad PIN", "Bad Zipcode", "Insufficient Balance",
    "Technical Glitch",
)
"""Every reason the ``errors`` column names, in the order they appear when a row has several."""
CARD_BRANDS: tuple[str, ...] = ("Visa", "Mastercard", "Amex", "Discover")
CARD_TYPES: tuple[str, ...] = ("Debit", "Credit", "Debit (Prepaid)")
GENDERS: tuple[str, ...] = ("Female", "Male")
FRAUD_LABEL_VALUES: tuple[str, ...] = ("No", "Yes")

KAGGLE_ROWS = 13_305_915
KAGGLE_USERS = 2_000
KAGGLE_CARDS = 6_146
KAGGLE_LABELS = 8_914_963
KAGGLE_FRAUD_LABELS = 13_332

TRANSACTIONS_DUCKDB_TYPES: dict[str, str] = {
    "id": "BIGINT",
    "date": "TIMESTAMP",
    "client_id": "INTEGER",
    "card_id": "INTEGER",
    "amount": "VARCHAR",
    "use_chip": "VARCHAR",
    "merchant_id": "INTEGER",
    "merchant_city": "VARCHAR",
    "merchant_state": "VARCHAR",
    "zip": "DOUBLE",
    "mcc": "INTEGER",
    "errors": "VARCHAR",
}
"""Column types for DuckDB's CSV reader, in file order: ``duckdb.read_csv(path, header=True,
dtype=TRANSACTIONS_DUCKDB_TYPES, timestamp_format=DUCKDB_TIMESTAMP_FORMAT)`` or, in SQL,
:func:`duckdb_read_csv_sql`. ``amount`` stays text (``$-77.00``); :data:`DUCKDB_AMOUNT_SQL` turns it into a number.
Stating the types matters: the sniffer guesses from a sample and can trip over the quoted, comma-joined ``errors``."""
DUCKDB_TIMESTAMP_FORMAT = DATE_FORMAT
DUCKDB_AMOUNT_SQL = "CAST(replace(amount, '$', '') AS DECIMAL(12, 2))"
"""SQL expression for the transaction amount in dollars, negative for refunds."""

TRANSACTIONS_SPARK_DDL = ", ".join(
    f"{name} {'STRING' if kind == 'VARCHAR' else 'INT' if kind == 'INTEGER' else kind}"
    for name, kind in TRANSACTIONS_DUCKDB_TYPES.items()
)
"""The same schema as a Spark DDL string: ``spark.read.csv(path, header=True, schema=TRANSACTIONS_SPARK_DDL,
timestampFormat=SPARK_TIMESTAMP_FORMAT)``."""
SPARK_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"


def duckdb_read_csv_sql(path: str) -> str:
    """The ``read_csv(...)`` table function that reads ``transactions_data.csv`` at ``path`` with stated types.

    Use it in a query: ``f"SELECT count(*) FROM {duckdb_read_csv_sql(path)}"``.
    """
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in TRANSACTIONS_DUCKDB_TYPES.items())
    quoted = str(path).replace("'", "''")
    return (f"read_csv('{quoted}', header = true, delim = ',', quote = '\"', escape = '\"', "
            f"columns = {{{columns}}}, timestampformat = '{DUCKDB_TIMESTAMP_FORMAT}')")
