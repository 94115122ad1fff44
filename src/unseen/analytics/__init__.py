"""Batch analytics over card transactions in the Kaggle "Financial Transactions Dataset" layout.

The data layer: :mod:`~unseen.analytics.layout` states the five files, their columns and value formats (and the
column types DuckDB and Spark need); :mod:`~unseen.analytics.loader` reads such a folder with clear errors;
:mod:`~unseen.analytics.generate` writes realistic data in the same layout (fraud bursts on compromised cards,
online, chip and swipe payments, travel, refunds, failed attempts), streamed, reproducible, up to 13M rows.

On top of it: :mod:`~unseen.analytics.features` (per-transaction fraud features and per-user history, written once
as SQL in :mod:`~unseen.analytics._feature_sql` for DuckDB and for Spark in :mod:`~unseen.analytics.spark`),
:mod:`~unseen.analytics.merchants` (sales, segments, top and declining merchants, on either engine),
:mod:`~unseen.analytics.fraud`, :mod:`~unseen.analytics.churn` and :mod:`~unseen.analytics.recommend`.
"""

from unseen.analytics.generate import (
    DEFAULT_TRANSACTIONS_DIR,
    FRAUD_RATE,
    LABEL_SHARE,
    GeneratedLayout,
    ProgressCallback,
    generate_transactions,
)
from unseen.analytics.layout import (
    DUCKDB_AMOUNT_SQL,
    DUCKDB_TIMESTAMP_FORMAT,
    LAYOUT_FILES,
    SPARK_TIMESTAMP_FORMAT,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_DUCKDB_TYPES,
    TRANSACTIONS_SPARK_DDL,
    duckdb_read_csv_sql,
)
from unseen.analytics.loader import (
    LayoutColumnsMissing,
    LayoutError,
    LayoutFileMissing,
    LayoutValueError,
    TransactionsLayout,
    iter_transactions,
    load_layout,
    parse_date,
    parse_money,
    read_cards,
    read_fraud_labels,
    read_mcc_codes,
    read_transactions,
    read_users,
)

__all__ = [
    "DEFAULT_TRANSACTIONS_DIR",
    "DUCKDB_AMOUNT_SQL",
    "DUCKDB_TIMESTAMP_FORMAT",
    "FRAUD_RATE",
    "LABEL_SHARE",
    "LAYOUT_FILES",
    "SPARK_TIMESTAMP_FORMAT",
    "TRANSACTIONS_DUCKDB_TYPES",
    "TRANSACTIONS_SPARK_DDL",
    "TRANSACTION_COLUMNS",
    "GeneratedLayout",
    "LayoutColumnsMissing",
    "LayoutError",
    "LayoutFileMissing",
    "LayoutValueError",
    "ProgressCallback",
    "TransactionsLayout",
    "duckdb_read_csv_sql",
    "generate_transactions",
    "iter_transactions",
    "load_layout",
    "parse_date",
    "parse_money",
    "read_cards",
    "read_fraud_labels",
    "read_mcc_codes",
    "read_transactions",
    "read_users",
]
