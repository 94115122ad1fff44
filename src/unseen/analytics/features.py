"""Features from a folder in the Kaggle transactions layout, computed by DuckDB: per transaction for fraud models,
per user for churn, per user and MCC or merchant for recommendations.

Every per-transaction feature uses only the card's past: the transactions of the same card before it in
(time, id) order (see :mod:`unseen.analytics._feature_sql`). The same queries run on Apache Spark in
:mod:`unseen.analytics.spark`, with the same column names and values.

Columns of :func:`transaction_features` (one row per transaction, ordered by ``date`` then ``id``):

identifiers and raw values (not model inputs)
    ``id``, ``date`` (timestamp, for time-ordered splits), ``client_id``, ``card_id``, ``merchant_id``, ``mcc``,
    ``merchant_city``, ``merchant_state``, ``use_chip``, ``errors``; ``is_fraud``: the label of
    ``train_fraud_labels.json`` as a nullable boolean, missing for the unlabelled third.
:data:`FRAUD_FEATURES` (numbers, never missing, ready for a model)
    ``amount`` (dollars, negative for refunds), ``log_amount`` (sign(a)·ln(1+|a|)), ``is_refund``;
    ``is_online``, ``is_chip``, ``is_swipe`` (the ``use_chip`` channel); ``hour`` (0-23), ``weekday`` (Monday 0),
    ``is_weekend``, ``is_night`` (before 06:00); ``has_error``, ``error_count`` and one 0/1 column per reason of
    the ``errors`` column (``error_bad_pin``, ...);
    the card's past: ``card_prior_transactions`` (how many before), ``seconds_since_previous`` (capped at 30 days,
    which is also the value of a card's first transaction), ``card_count_1h`` / ``card_amount_1h`` and the same for
    ``24h`` and ``7d`` (earlier transactions no older than the window, and their amount sum), ``amount_zscore``
    (against the mean and standard deviation of the card's earlier amounts, 0 until two earlier amounts differ,
    clipped to ±50), ``first_at_merchant``, ``first_in_mcc``, ``first_in_city`` (first in-person payment of the card
    in this city), ``city_not_usual`` (an in-person payment in a city the card has used less often than its most
    frequent city so far), ``is_foreign`` (a country, not a US state, in ``merchant_state``);
    the card: ``card_on_dark_web``, ``has_chip``, ``chip_card_swiped``, ``credit_limit``, ``amount_to_limit``,
    ``card_is_credit``, ``card_is_debit``, ``card_is_prepaid``, ``brand_visa``, ``brand_mastercard``,
    ``brand_amex``, ``brand_discover``, ``num_cards_issued``, ``card_age_days`` (since the account was opened;
    negative when the layout's opening month is later), ``years_since_pin_change``;
    the user: ``age`` (in the transaction's year), ``yearly_income``, ``per_capita_income``, ``credit_score``,
    ``debt_to_income`` (total debt over yearly income), ``num_credit_cards``.

The layout has no coordinates for merchants, so "far from home" is told by ``city_not_usual``, ``first_in_city``,
``is_online`` and ``is_foreign``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from unseen.analytics import _feature_sql as sql
from unseen.analytics.layout import duckdb_read_csv_sql
from unseen.analytics.loader import TransactionsLayout, load_layout

ERROR_FEATURES: tuple[str, ...] = tuple(sql.ERROR_KINDS)
WINDOW_FEATURES: tuple[str, ...] = tuple(f"card_{kind}_{name}" for name in sql.WINDOWS for kind in ("count", "amount"))
FRAUD_FEATURES: tuple[str, ...] = (
    "amount", "log_amount", "is_refund",
    "is_online", "is_chip", "is_swipe",
    "hour", "weekday", "is_weekend", "is_night",
    "has_error", "error_count", *ERROR_FEATURES,
    "card_prior_transactions", "seconds_since_previous", *WINDOW_FEATURES, "amount_zscore",
    "first_at_merchant", "first_in_mcc", "first_in_city", "city_not_usual", "is_foreign",
    "card_on_dark_web", "has_chip", "chip_card_swiped", "credit_limit", "amount_to_limit",
    "card_is_credit", "card_is_debit", "card_is_prepaid",
    "brand_visa", "brand_mastercard", "brand_amex", "brand_discover", "num_cards_issued",
    "card_age_days", "years_since_pin_change",
    "age", "yearly_income", "per_capita_income", "credit_score", "debt_to_income", "num_credit_cards",
)
"""The numeric model inputs of :func:`transaction_features`, in column order; none is ever missing."""
ID_COLUMNS: tuple[str, ...] = ("id", "date", "client_id", "card_id", "merchant_id", "mcc", "merchant_city",
                               "merchant_state", "use_chip", "errors", "is_fraud")
TRANSACTION_FEATURE_COLUMNS: tuple[str, ...] = (*ID_COLUMNS, *FRAUD_FEATURES)
"""Every column of :func:`transaction_features`, in order."""

USER_HISTORY_COLUMNS: tuple[str, ...] = (
    "client_id", "transactions_total", "tenure_days", "recency_days", "cards_used", "transactions", "spend",
    "mean_amount", "active_days", "active_months", "distinct_merchants", "distinct_mccs", "online_share",
    "error_share", "refund_share", "transactions_recent", "spend_recent", "active_days_recent",
    "transactions_earlier", "spend_earlier", "transactions_trend", "spend_trend", "age", "yearly_income",
    "credit_score", "debt_to_income", "num_credit_cards",
)
"""Columns of :func:`user_history_features`; every one but ``client_id`` is a numeric model input."""

Layout = str | Path | TransactionsLayout


def connect(*, threads: int | None = None, memory_limit: str | None = None,
            temp_directory: str | Path | None = None):
    """An in-memory DuckDB connection limited to ``threads`` and ``memory_limit`` (``"8GB"``); beyond that limit
    DuckDB spills to ``temp_directory``."""
    import duckdb

    con = duckdb.connect()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads={threads}; expected 1 or more")
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        con.execute("SET memory_limit = ?", [str(memory_limit)])
    if temp_directory is not None:
        con.execute("SET temp_directory = ?", [str(temp_directory)])
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def transaction_features(folder: Layout, *, con=None, since=None, until=None) -> pd.DataFrame:
    """Per-transaction fraud features of the layout in ``folder``: the columns of
    :data:`TRANSACTION_FEATURE_COLUMNS` (see the module's docstring), ordered by ``date`` and ``id``.

    Only the rows with ``since <= date < until`` are returned (either bound may be None), but their features still
    use all earlier history. For the full 13M rows use :func:`write_features` instead.

    Examples
    --------
    >>> import tempfile
    >>> from unseen.analytics.generate import generate_transactions
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = generate_transactions(folder, rows=2_000, users=20, seed=1)
    ...     frame = transaction_features(folder, since="2015-01-01")
    >>> bool(frame["date"].min() >= pd.Timestamp("2015-01-01")), bool(frame[list(FRAUD_FEATURES)].notna().all().all())
    (True, True)
    """
    layout = _layout(folder)
    con = con if con is not None else connect()
    query = _register(con, layout, until=until) + sql.fraud_features_sql(
        "tx", "cards_side", "users_side", "labels_side", sql.DUCKDB,
        since_epoch=None if since is None else sql.epoch_seconds(since))
    frame = con.sql(f"SELECT * FROM ({query}) ORDER BY date, id").df()
    return _typed_features(frame)


@dataclass(frozen=True)
class FeatureFile:
    """What :func:`write_features` wrote."""

    path: Path
    rows: int
    labelled_rows: int
    fraud_rows: int
    seconds: float


def write_features(folder: Layout, out_path: str | Path, *, since=None, until=None, threads: int | None = None,
                   memory_limit: str | None = None, temp_directory: str | Path | None = None,
                   con=None) -> FeatureFile:
    """Write :func:`transaction_features` to the Parquet file ``out_path`` without bringing the rows into Python:
    DuckDB streams the query into ``COPY ... TO``. Rows are ordered by ``date`` and ``id``."""
    started = time.perf_counter()
    layout = _layout(folder)
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ValueError(f"{out_path} is a folder; expected a file name such as features.parquet")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    con = con if con is not None else connect(threads=threads, memory_limit=memory_limit,
                                              temp_directory=temp_directory)
    query = _register(con, layout, until=until) + sql.fraud_features_sql(
        "tx", "cards_side", "users_side", "labels_side", sql.DUCKDB,
        since_epoch=None if since is None else sql.epoch_seconds(since))
    target = str(out_path).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM ({query}) ORDER BY date, id) TO '{target}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 500000)")
    rows, labelled, fraud = con.execute(
        f"SELECT count(*), count(is_fraud), coalesce(sum(is_fraud), 0) FROM read_parquet('{target}')").fetchall()[0]
    return FeatureFile(path=out_path, rows=int(rows), labelled_rows=int(labelled), fraud_rows=int(fraud),
                       seconds=time.perf_counter() - started)


def read_features(path: str | Path, *, columns=None, labelled_only: bool = False) -> pd.DataFrame:
    """A Parquet file (or glob) written by :func:`write_features` as the frame :func:`transaction_features`
    returns: all columns or ``columns``, all rows or only those with a fraud label (``labelled_only``, which for
    the 13M-row layout leaves 8.9M rows and spares the memory of the rest)."""
    import duckdb

    chosen = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
    quoted = str(path).replace("'", "''")
    where = "WHERE is_fraud IS NOT NULL" if labelled_only else ""
    con = duckdb.connect()
    try:
        return _typed_features(con.sql(f"SELECT {chosen} FROM read_parquet('{quoted}') {where}").df())
    finally:
        con.close()


def user_monthly_activity(folder: Layout, *, con=None, until=None) -> pd.DataFrame:
    """One row per user and calendar month with a transaction before ``until``: ``client_id``, ``month`` (its
    first day), ``transactions``, ``spend``, ``active_days``, ``distinct_merchants``, ``distinct_mccs``."""
    layout = _layout(folder)
    con = con if con is not None else connect()
    query = _register(con, layout, until=until) + sql.monthly_activity_sql("tx", sql.DUCKDB)
    frame = con.sql(f"SELECT * FROM ({query}) ORDER BY client_id, month").df()
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def user_history_features(folder: Layout, *, as_of, window_days: int = 365, recent_days: int = 91,
                          con=None) -> pd.DataFrame:
    """Per-user history for churn, seen from ``as_of`` (a date): only transactions before it count.

    One row per user with a transaction before ``as_of``, ordered by ``client_id``; columns
    :data:`USER_HISTORY_COLUMNS`: ``transactions_total``, ``tenure_days`` (since the first transaction),
    ``recency_days`` (since the last), ``cards_used``; over the ``window_days`` before ``as_of``:
    ``transactions``, ``spend``, ``mean_amount``, ``active_days``, ``active_months``, ``distinct_merchants``,
    ``distinct_mccs``, ``online_share``, ``error_share``, ``refund_share``; the last ``recent_days`` (about three
    months) against the rest of the window: ``transactions_recent``, ``spend_recent``, ``active_days_recent``,
    ``transactions_earlier``, ``spend_earlier``, ``transactions_trend`` and ``spend_trend`` (the log of the recent
    rate over the earlier rate, each plus one; negative means slowing down); the user: ``age`` (in ``as_of``'s
    year), ``yearly_income``, ``credit_score``, ``debt_to_income``, ``num_credit_cards``.
    """
    if not 0 < recent_days < window_days:
        raise ValueError(f"recent_days={recent_days} and window_days={window_days}; expected "
                         "0 < recent_days < window_days")
    layout = _layout(folder)
    con = con if con is not None else connect()
    as_of_epoch = sql.epoch_seconds(as_of)
    query = _register(con, layout, until=as_of) + sql.user_history_sql(
        "tx", "users_side", sql.DUCKDB, as_of_epoch=as_of_epoch, as_of_year=pd.Timestamp(as_of).year,
        window_days=window_days, recent_days=recent_days)
    return con.sql(f"SELECT * FROM ({query}) ORDER BY client_id").df()


def user_mcc_interactions(folder: Layout, *, con=None, since=None, until=None) -> pd.DataFrame:
    """Per user and MCC with a transaction in ``[since, until)``: ``client_id``, ``mcc``, ``transactions``,
    ``spend``, ``active_days``, ``first_date``, ``last_date``; ordered by user and MCC."""
    return _interactions(folder, "mcc", con=con, since=since, until=until)


def user_merchant_interactions(folder: Layout, *, con=None, since=None, until=None) -> pd.DataFrame:
    """Per user and merchant with a transaction in ``[since, until)``: ``client_id``, ``merchant_id``, ``mcc``,
    ``merchant_city``, ``transactions``, ``spend``, ``active_days``, ``first_date``, ``last_date``."""
    return _interactions(folder, "merchant_id", con=con, since=since, until=until)


def _interactions(folder: Layout, key: str, *, con, since, until) -> pd.DataFrame:
    layout = _layout(folder)
    con = con if con is not None else connect()
    query = _register(con, layout, until=until, since=since) + sql.interactions_sql("tx", key, sql.DUCKDB)
    return con.sql(f"SELECT * FROM ({query}) ORDER BY client_id, {key}").df()


def _layout(folder: Layout) -> TransactionsLayout:
    return folder if isinstance(folder, TransactionsLayout) else load_layout(folder)


def _register(con, layout: TransactionsLayout, *, until=None, since=None) -> str:
    """Register the side tables and the table ``tx`` of the transactions on ``con``; returns "" (the queries name
    ``tx``, so that they read the same on Spark, where ``tx`` is a temporary view). ``tx`` is materialised: the
    feature query reads it twice (narrow for the windows, whole for the output) and the CSV is parsed once."""
    for name, frame in sql.side_tables(layout).items():
        con.register(f"{name}_side", frame)
    source = duckdb_read_csv_sql(str(layout.transactions_path))
    inner = sql.transactions_sql(source, sql.DUCKDB, until_epoch=None if until is None else sql.epoch_seconds(until))
    if since is not None:
        inner = f"SELECT * FROM ({inner}) WHERE ts >= {sql.epoch_seconds(since)}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE tx AS {inner}")
    return ""


def _typed_features(frame: pd.DataFrame) -> pd.DataFrame:
    if "is_fraud" in frame:
        frame["is_fraud"] = frame["is_fraud"].astype("Int8").astype("boolean")
    if "date" in frame:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame
