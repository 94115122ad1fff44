"""The feature queries, written once for both engines: DuckDB (:mod:`unseen.analytics.features`) and Spark SQL
(:mod:`unseen.analytics.spark`) differ only in a handful of functions, which a :class:`Dialect` spells.

One text for both engines is what makes "the same meaning on Spark" checkable: the parity test compares two engines
running one definition, not two definitions that might drift apart.

"The past" of a transaction is every transaction of the same card that comes before it in (time, id) order. Times
have minute precision, so several rows of a card can share a minute; ids grow with time in the layout, so the row
with the smaller id happened first. The sliding windows ("the last hour") are counted as all earlier rows of the card
minus those older than the window, so a row never sees a later row of its own minute.

Window sums add amounts in cents held as doubles: whole numbers below 2**53 add exactly in any order, so both engines
(which add in different orders) get the same sums, and a window with nothing left in it sums to exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass

SECONDS_CAP = 30 * 24 * 3600
"""``seconds_since_previous`` of a card's first transaction, and the largest value it takes (30 days)."""
ZSCORE_CAP = 50.0
WINDOWS: dict[str, int] = {"1h": 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600}
ERROR_KINDS: dict[str, str] = {
    "error_bad_card_number": "Bad Card Number",
    "error_bad_expiration": "Bad Expiration",
    "error_bad_cvv": "Bad CVV",
    "error_bad_pin": "Bad PIN",
    "error_bad_zipcode": "Bad Zipcode",
    "error_insufficient_balance": "Insufficient Balance",
    "error_technical_glitch": "Technical Glitch",
}


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the few functions the queries need; ``{0}`` is the argument."""

    name: str
    epoch_seconds: str
    weekday: str
    """Monday 0 to Sunday 6."""
    day_number: str
    """Whole days since 1970-01-01 (for active days and recency)."""
    month_start: str
    hash: str
    """A 64-bit hash of several columns (only compared for equality, never shown)."""


DUCKDB = Dialect(name="duckdb", epoch_seconds="CAST(epoch({0}) AS BIGINT)", weekday="(isodow({0}) - 1)",
                 day_number="(CAST(epoch({0}) AS BIGINT) // 86400)", month_start="CAST(date_trunc('month', {0}) AS DATE)",
                 hash="hash({0})")
SPARK = Dialect(name="spark", epoch_seconds="CAST(unix_timestamp({0}) AS BIGINT)", weekday="weekday({0})",
                day_number="CAST(floor(unix_timestamp({0}) / 86400) AS BIGINT)",
                month_start="CAST(date_trunc('MONTH', {0}) AS DATE)", hash="xxhash64({0})")

AMOUNT_SQL = "CAST(replace(amount, '$', '') AS DECIMAL(12, 2))"


def transactions_sql(source: str, dialect: Dialect, *, until_epoch: int | None = None) -> str:
    """The transactions of ``source`` (a relation with the layout's columns, ``amount`` still text) with the
    amount as a decimal and the time in epoch seconds, before ``until_epoch`` only."""
    until = "" if until_epoch is None else f"WHERE {dialect.epoch_seconds.format('date')} < {int(until_epoch)}"
    return f"""
        SELECT id, date, client_id, card_id, merchant_id, merchant_city, merchant_state, mcc, use_chip, errors,
               {AMOUNT_SQL} AS amount_exact, {dialect.epoch_seconds.format('date')} AS ts
        FROM {source} {until}"""


def merchant_transactions_sql(source: str, dialect: Dialect) -> str:
    """The transactions of ``source`` (the layout's columns, ``amount`` still text) as the merchant analytics read
    them: amount as an exact decimal, ``channel`` Swipe, Chip or Online, ``month``, ``weekday`` (Monday 0), ``hour``."""
    return f"""
        SELECT id, date, client_id, card_id, merchant_id, merchant_city, merchant_state, mcc, errors,
               {AMOUNT_SQL} AS amount,
               CASE use_chip WHEN 'Online Transaction' THEN 'Online' WHEN 'Chip Transaction' THEN 'Chip'
                             ELSE 'Swipe' END AS channel,
               {dialect.month_start.format('date')} AS month,
               CAST({dialect.weekday.format('date')} AS INTEGER) AS weekday, CAST(hour(date) AS INTEGER) AS hour
        FROM {source}"""


def fraud_features_sql(transactions: str, cards: str, users: str, labels: str, dialect: Dialect, *,
                       since_epoch: int | None = None) -> str:
    """One row per transaction of ``transactions`` (the output of :func:`transactions_sql`), the rows from
    ``since_epoch`` on, with the columns of :data:`unseen.analytics.features.TRANSACTION_FEATURE_COLUMNS`."""
    older = ",\n".join(
        f"count(*) OVER older_{name} AS older_count_{name}, sum(cents) OVER older_{name} AS older_sum_{name}"
        for name in WINDOWS)
    older_windows = ",\n".join(
        f"older_{name} AS (PARTITION BY card_id ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND {seconds + 1} "
        "PRECEDING)" for name, seconds in WINDOWS.items())
    window_features = ",\n".join(
        f"CAST(prior_count - older_count_{name} AS BIGINT) AS card_count_{name}, "
        f"(coalesce(prior_sum, 0) - coalesce(older_sum_{name}, 0)) / 100.0 AS card_amount_{name}"
        for name in WINDOWS)
    errors = ",\n".join(f"CAST(coalesce(errors LIKE '%{text}%', false) AS INTEGER) AS {column}"
                        for column, text in ERROR_KINDS.items())
    error_count = " + ".join(f"CAST(coalesce(errors LIKE '%{text}%', false) AS INTEGER)" for text in ERROR_KINDS.values())
    since = "" if since_epoch is None else f"WHERE t.ts >= {int(since_epoch)}"
    # The windows run over a narrow projection (numbers only) and the result is joined back to the full rows by id:
    # every window sorts its whole input, and carrying the text columns through five sorts costs more than a join.
    city_key = dialect.hash.format("merchant_city, merchant_state")
    return f"""
    WITH core AS (
        SELECT id, ts, card_id, merchant_id, mcc, CAST(amount_exact * 100 AS DOUBLE) AS cents,
               use_chip = 'Online Transaction' AS online,
               {city_key} AS city_key
        FROM {transactions}
    ),
    ordered AS (
        SELECT id, ts, card_id, online,
               row_number() OVER card_order - 1 AS prior_count,
               ts - lag(ts) OVER card_order AS gap,
               sum(cents) OVER card_past AS prior_sum,
               sum(cents * cents) OVER card_past AS prior_sum_squares,
               {older},
               row_number() OVER (PARTITION BY card_id, merchant_id ORDER BY ts, id) AS merchant_visit,
               row_number() OVER (PARTITION BY card_id, mcc ORDER BY ts, id) AS mcc_visit,
               row_number() OVER (PARTITION BY card_id, city_key ORDER BY ts, id) AS city_visit
        FROM core
        WINDOW card_order AS (PARTITION BY card_id ORDER BY ts, id),
               card_past AS (PARTITION BY card_id ORDER BY ts, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
               {older_windows}
    ),
    past AS (
        SELECT o.*,
               max(CASE WHEN online THEN NULL ELSE city_visit END) OVER (
                   PARTITION BY card_id ORDER BY ts, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ) AS usual_city_visits,
               prior_sum / nullif(prior_count, 0) / 100.0 AS prior_mean,
               sqrt(greatest((prior_sum_squares - prior_sum * prior_sum / nullif(prior_count, 0))
                             / nullif(prior_count - 1, 0), 0)) / 100.0 AS prior_std
        FROM ordered AS o
    ),
    rows AS (
        SELECT t.id, t.date, t.ts, t.client_id, t.card_id, t.merchant_id, t.mcc, t.merchant_city,
               t.merchant_state, t.use_chip, t.errors, CAST(t.amount_exact AS DOUBLE) AS amount, w.online,
               w.prior_count, w.gap, w.prior_sum, w.prior_mean, w.prior_std, w.usual_city_visits, w.merchant_visit,
               w.mcc_visit, w.city_visit, {", ".join(f"w.older_count_{n}, w.older_sum_{n}" for n in WINDOWS)}
        FROM {transactions} AS t JOIN past AS w ON w.id = t.id
        {since}
    )
    SELECT u.id, u.date, u.client_id, u.card_id, u.merchant_id, u.mcc, u.merchant_city, u.merchant_state,
           u.use_chip, u.errors, l.is_fraud,
           u.amount,
           sign(u.amount) * ln(1 + abs(u.amount)) AS log_amount,
           CAST(u.amount < 0 AS INTEGER) AS is_refund,
           CAST(u.online AS INTEGER) AS is_online,
           CAST(u.use_chip = 'Chip Transaction' AS INTEGER) AS is_chip,
           CAST(u.use_chip = 'Swipe Transaction' AS INTEGER) AS is_swipe,
           hour(u.date) AS hour,
           {dialect.weekday.format('u.date')} AS weekday,
           CAST({dialect.weekday.format('u.date')} >= 5 AS INTEGER) AS is_weekend,
           CAST(hour(u.date) < 6 AS INTEGER) AS is_night,
           CAST(u.errors IS NOT NULL AS INTEGER) AS has_error,
           {error_count} AS error_count,
           {errors},
           CAST(u.prior_count AS BIGINT) AS card_prior_transactions,
           CAST(least(coalesce(u.gap, {SECONDS_CAP}), {SECONDS_CAP}) AS BIGINT) AS seconds_since_previous,
           {window_features},
           CASE WHEN u.prior_count >= 2 AND u.prior_std > 0.01
                THEN greatest(least((u.amount - u.prior_mean) / u.prior_std, {ZSCORE_CAP}), -{ZSCORE_CAP})
                ELSE 0.0 END AS amount_zscore,
           CAST(u.merchant_visit = 1 AS INTEGER) AS first_at_merchant,
           CAST(u.mcc_visit = 1 AS INTEGER) AS first_in_mcc,
           CAST(NOT u.online AND u.city_visit = 1 AS INTEGER) AS first_in_city,
           CAST(NOT u.online AND u.city_visit - 1 < coalesce(u.usual_city_visits, 0) AS INTEGER) AS city_not_usual,
           CAST(coalesce(length(u.merchant_state) > 2, false) AS INTEGER) AS is_foreign,
           c.card_on_dark_web, c.has_chip,
           CAST(c.has_chip = 1 AND u.use_chip = 'Swipe Transaction' AS INTEGER) AS chip_card_swiped,
           c.credit_limit,
           u.amount / greatest(c.credit_limit, 1.0) AS amount_to_limit,
           c.card_is_credit, c.card_is_debit, c.card_is_prepaid,
           c.brand_visa, c.brand_mastercard, c.brand_amex, c.brand_discover,
           c.num_cards_issued,
           CAST(u.ts - c.acct_open_ts AS DOUBLE) / 86400.0 AS card_age_days,
           CAST(year(u.date) - c.year_pin_last_changed AS INTEGER) AS years_since_pin_change,
           CAST(year(u.date) - p.birth_year AS INTEGER) AS age,
           p.yearly_income, p.per_capita_income, p.credit_score, p.debt_to_income, p.num_credit_cards
    FROM rows AS u
    LEFT JOIN {cards} AS c ON c.card_id = u.card_id
    LEFT JOIN {users} AS p ON p.client_id = u.client_id
    LEFT JOIN {labels} AS l ON l.id = u.id
    """


def monthly_activity_sql(transactions: str, dialect: Dialect) -> str:
    """One row per user and calendar month with a transaction: the monthly history behind churn."""
    return f"""
    SELECT client_id, {dialect.month_start.format('date')} AS month,
           count(*) AS transactions,
           CAST(sum(amount_exact) AS DOUBLE) AS spend,
           count(DISTINCT {dialect.day_number.format('date')}) AS active_days,
           count(DISTINCT merchant_id) AS distinct_merchants,
           count(DISTINCT mcc) AS distinct_mccs
    FROM {transactions}
    GROUP BY client_id, {dialect.month_start.format('date')}
    """


def user_history_sql(transactions: str, users: str, dialect: Dialect, *, as_of_epoch: int, as_of_year: int,
                     window_days: int, recent_days: int) -> str:
    """One row per user with a transaction before ``as_of_epoch`` (``transactions`` holds only those): activity
    over the ``window_days`` before it, the last ``recent_days`` against the rest of that window."""
    day = dialect.day_number.format("date")
    window_start = as_of_epoch - window_days * 86400
    recent_start = as_of_epoch - recent_days * 86400
    earlier_days = window_days - recent_days
    ratio = f"CAST({recent_days / earlier_days!r} AS DOUBLE)"  # a bare 0.33 would be a DECIMAL in Spark SQL
    in_window = f"ts >= {window_start}"
    recent = f"ts >= {recent_start}"
    earlier = f"ts >= {window_start} AND ts < {recent_start}"
    return f"""
    WITH per_user AS (
        SELECT client_id,
               count(*) AS transactions_total,
               CAST(({as_of_epoch} - min(ts)) AS DOUBLE) / 86400.0 AS tenure_days,
               CAST(({as_of_epoch} - max(ts)) AS DOUBLE) / 86400.0 AS recency_days,
               count(DISTINCT card_id) AS cards_used,
               count(CASE WHEN {in_window} THEN 1 END) AS transactions,
               CAST(coalesce(sum(CASE WHEN {in_window} THEN amount_exact END), 0) AS DOUBLE) AS spend,
               count(DISTINCT CASE WHEN {in_window} THEN {day} END) AS active_days,
               count(DISTINCT CASE WHEN {in_window} THEN {dialect.month_start.format('date')} END) AS active_months,
               count(DISTINCT CASE WHEN {in_window} THEN merchant_id END) AS distinct_merchants,
               count(DISTINCT CASE WHEN {in_window} THEN mcc END) AS distinct_mccs,
               count(CASE WHEN {in_window} AND use_chip = 'Online Transaction' THEN 1 END) AS online_transactions,
               count(CASE WHEN {in_window} AND errors IS NOT NULL THEN 1 END) AS error_transactions,
               count(CASE WHEN {in_window} AND amount_exact < 0 THEN 1 END) AS refunds,
               count(CASE WHEN {recent} THEN 1 END) AS transactions_recent,
               CAST(coalesce(sum(CASE WHEN {recent} THEN amount_exact END), 0) AS DOUBLE) AS spend_recent,
               count(DISTINCT CASE WHEN {recent} THEN {day} END) AS active_days_recent,
               count(CASE WHEN {earlier} THEN 1 END) AS transactions_earlier,
               CAST(coalesce(sum(CASE WHEN {earlier} THEN amount_exact END), 0) AS DOUBLE) AS spend_earlier
        FROM {transactions}
        GROUP BY client_id
    )
    SELECT h.client_id, h.transactions_total, h.tenure_days, h.recency_days, h.cards_used,
           h.transactions, h.spend,
           CASE WHEN h.transactions > 0 THEN h.spend / h.transactions ELSE 0.0 END AS mean_amount,
           h.active_days, h.active_months, h.distinct_merchants, h.distinct_mccs,
           CASE WHEN h.transactions > 0 THEN CAST(h.online_transactions AS DOUBLE) / h.transactions ELSE 0.0 END
               AS online_share,
           CASE WHEN h.transactions > 0 THEN CAST(h.error_transactions AS DOUBLE) / h.transactions ELSE 0.0 END
               AS error_share,
           CASE WHEN h.transactions > 0 THEN CAST(h.refunds AS DOUBLE) / h.transactions ELSE 0.0 END
               AS refund_share,
           h.transactions_recent, h.spend_recent, h.active_days_recent, h.transactions_earlier, h.spend_earlier,
           ln((CAST(h.transactions_recent AS DOUBLE) + 1)
              / (CAST(h.transactions_earlier AS DOUBLE) * {ratio} + 1)) AS transactions_trend,
           ln((greatest(h.spend_recent, 0.0) + 1)
              / (greatest(h.spend_earlier, 0.0) * {ratio} + 1)) AS spend_trend,
           {as_of_year} - p.birth_year AS age, p.yearly_income, p.credit_score, p.debt_to_income,
           p.num_credit_cards
    FROM per_user AS h
    LEFT JOIN {users} AS p ON p.client_id = h.client_id
    """


def interactions_sql(transactions: str, key: str, dialect: Dialect) -> str:
    """Per user and ``key`` (``mcc`` or ``merchant_id``): how often, how much, how many days, first and last."""
    extra = ", min(mcc) AS mcc, min(merchant_city) AS merchant_city" if key == "merchant_id" else ""
    return f"""
    SELECT client_id, {key}{extra},
           count(*) AS transactions,
           CAST(sum(amount_exact) AS DOUBLE) AS spend,
           count(DISTINCT {dialect.day_number.format('date')}) AS active_days,
           min(date) AS first_date, max(date) AS last_date
    FROM {transactions}
    GROUP BY client_id, {key}
    """


def epoch_seconds(moment) -> int:
    """Seconds since 1970-01-01 of a naive time (a string, date, datetime or Timestamp), as the layout's times are."""
    import pandas as pd

    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int((stamp - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1))


def side_tables(layout) -> dict[str, "pd.DataFrame"]:
    """The cards, users and labels of a :class:`~unseen.analytics.loader.TransactionsLayout` as the feature
    queries join them: numbers only (flags 0/1, one column per card type and brand, months as epoch seconds), so
    that both engines receive identical values."""
    import numpy as np
    import pandas as pd

    cards = layout.cards
    month_seconds = (cards["acct_open_date"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    card_table = pd.DataFrame({
        "card_id": cards["id"].astype("int64"),
        "card_on_dark_web": cards["card_on_dark_web"].astype("int32"),
        "has_chip": cards["has_chip"].astype("int32"),
        "credit_limit": cards["credit_limit"].astype("float64"),
        "card_is_credit": (cards["card_type"] == "Credit").astype("int32"),
        "card_is_debit": (cards["card_type"] == "Debit").astype("int32"),
        "card_is_prepaid": (cards["card_type"] == "Debit (Prepaid)").astype("int32"),
        "brand_visa": (cards["card_brand"] == "Visa").astype("int32"),
        "brand_mastercard": (cards["card_brand"] == "Mastercard").astype("int32"),
        "brand_amex": (cards["card_brand"] == "Amex").astype("int32"),
        "brand_discover": (cards["card_brand"] == "Discover").astype("int32"),
        "num_cards_issued": cards["num_cards_issued"].astype("int32"),
        "acct_open_ts": month_seconds.astype("int64"),
        "year_pin_last_changed": cards["year_pin_last_changed"].astype("int32"),
    })
    users = layout.users
    income = users["yearly_income"].astype("float64")
    user_table = pd.DataFrame({
        "client_id": users["id"].astype("int64"),
        "birth_year": users["birth_year"].astype("int32"),
        "yearly_income": income,
        "per_capita_income": users["per_capita_income"].astype("float64"),
        "credit_score": users["credit_score"].astype("int32"),
        "debt_to_income": (users["total_debt"].astype("float64") / income.where(income > 0, np.nan)).fillna(0.0),
        "num_credit_cards": users["num_credit_cards"].astype("int32"),
    })
    labels = layout.fraud_labels
    if labels is None:
        labels = pd.DataFrame({"id": np.array([], dtype=np.int64), "is_fraud": np.array([], dtype=bool)})
    label_table = pd.DataFrame({"id": labels["id"].astype("int64"), "is_fraud": labels["is_fraud"].astype("int8")})
    return {"cards": card_table, "users": user_table, "labels": label_table}
