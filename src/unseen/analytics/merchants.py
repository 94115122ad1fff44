"""Merchant analytics on DuckDB: when, how and where card holders pay, who they are, which merchants lead and which
are losing sales.

:func:`open_transactions` loads a layout folder into a DuckDB table once (about 10 s for 13M rows); the functions
below query it and return pandas frames; :func:`merchant_report` runs them all and :func:`report_figures` draws
them with matplotlib. Amounts are net sales in dollars: refunds are negative rows and lower the total, so every
breakdown of :func:`sales_by` adds up to the sum of the ``amount`` column and its row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from unseen.analytics import _feature_sql as sql
from unseen.analytics.features import Layout, _layout, connect
from unseen.analytics.layout import duckdb_read_csv_sql

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "month": ("month",),
    "weekday": ("weekday",),
    "hour": ("hour",),
    "weekday_hour": ("weekday", "hour"),
    "channel": ("channel",),
    "mcc": ("mcc", "description"),
    "city": ("merchant_city", "merchant_state"),
    "state": ("merchant_state",),
    "channel_month": ("month", "channel"),
}
"""What :func:`sales_by` can break sales down by, and the key columns of each table."""
_KEY_SQL = {
    "month": "month", "weekday": "weekday", "hour": "hour", "channel": "channel", "mcc": "t.mcc",
    "description": "coalesce(m.description, 'unknown')", "merchant_city": "merchant_city",
    "merchant_state": "coalesce(merchant_state, '')",
}
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("champions", "recent, frequent and big spenders (R and F and M scores 4-5)"),
    ("loyal", "frequent (F 4-5), still active (R 3-5)"),
    ("big spenders", "high spend (M 4-5), active (R 3-5)"),
    ("at risk", "were frequent or big (F or M 4-5), quiet lately (R 1-2)"),
    ("hibernating", "quiet lately (R 1-2), small and rare"),
    ("new or occasional", "active (R 3-5), small and rare"),
)


def open_transactions(folder: Layout, *, con=None, threads: int | None = None, memory_limit: str | None = None):
    """A DuckDB connection holding the table ``transactions`` of ``folder`` (amount as an exact decimal, ``channel``
    Swipe, Chip or Online, ``month``, ``weekday`` Monday 0, ``hour``) and ``mcc_codes``."""
    layout = _layout(folder)
    con = con if con is not None else connect(threads=threads, memory_limit=memory_limit)
    con.register("mcc_codes_frame", layout.mcc_codes)
    con.execute("CREATE OR REPLACE TABLE mcc_codes AS SELECT mcc, CAST(description AS VARCHAR) AS description "
                "FROM mcc_codes_frame")
    con.execute("CREATE OR REPLACE TABLE transactions AS "
                + sql.merchant_transactions_sql(duckdb_read_csv_sql(str(layout.transactions_path)), sql.DUCKDB))
    return con


def sales_by(con, dimension: str) -> pd.DataFrame:
    """Sales broken down by ``dimension`` (a key of :data:`DIMENSIONS`): its key columns, then ``transactions``,
    ``amount`` (net dollars), ``refunds`` (rows with a negative amount), ``customers``, ``merchants``,
    ``mean_amount`` and ``share`` of all net sales; ordered by the key (``mcc`` and ``city`` by amount, largest
    first)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"cannot break sales down by {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
    keys = DIMENSIONS[dimension]
    select = ", ".join(f"{_KEY_SQL[key]} AS {key}" for key in keys)
    group = ", ".join(_KEY_SQL[key] for key in keys)
    join = "LEFT JOIN mcc_codes AS m ON m.mcc = t.mcc" if "description" in keys else ""
    order = "amount DESC" if dimension in ("mcc", "city", "state") else ", ".join(keys)
    frame = con.sql(f"""
        SELECT {select}, count(*) AS transactions, CAST(sum(amount) AS DOUBLE) AS amount,
               count(CASE WHEN amount < 0 THEN 1 END) AS refunds,
               count(DISTINCT client_id) AS customers, count(DISTINCT merchant_id) AS merchants,
               CAST(sum(amount) AS DOUBLE) / count(*) AS mean_amount,
               CAST(sum(amount) AS DOUBLE) / CAST(sum(sum(amount)) OVER () AS DOUBLE) AS share
        FROM transactions AS t {join}
        GROUP BY {group}
        ORDER BY {order}""").df()
    if "month" in frame:
        frame["month"] = pd.to_datetime(frame["month"])
    return frame


def customer_profiles(con) -> pd.DataFrame:
    """One row per card holder: RFM (``recency_days`` before the day after the last transaction of the data,
    ``transactions``, ``amount``), ``mean_amount``, ``online_share``, ``merchants``, ``mccs``, ``active_months``."""
    epoch = _dialect(con).epoch_seconds
    return con.sql(f"""
        WITH ends AS (SELECT max(date) + INTERVAL 1 DAY AS reference FROM transactions)
        SELECT client_id,
               CAST({epoch.format("any_value(reference)")} - {epoch.format("max(date)")} AS DOUBLE) / 86400.0
                   AS recency_days,
               count(*) AS transactions, CAST(sum(amount) AS DOUBLE) AS amount,
               CAST(sum(amount) AS DOUBLE) / count(*) AS mean_amount,
               avg(CASE WHEN channel = 'Online' THEN 1 ELSE 0 END) AS online_share,
               count(DISTINCT merchant_id) AS merchants, count(DISTINCT mcc) AS mccs,
               count(DISTINCT month) AS active_months
        FROM transactions, ends
        GROUP BY client_id
        ORDER BY client_id""").df()


def rfm_segments(profiles: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with quintile scores ``r_score``, ``f_score``, ``m_score`` (5 is best: most recent, most
    frequent, biggest spender) and a named ``rfm_segment`` (:data:`RFM_SEGMENTS`)."""
    frame = profiles.copy()
    frame["r_score"] = _quintile(-frame["recency_days"])
    frame["f_score"] = _quintile(frame["transactions"])
    frame["m_score"] = _quintile(frame["amount"])
    r, f, m = frame["r_score"], frame["f_score"], frame["m_score"]
    active, frequent, big = r >= 3, f >= 4, m >= 4
    frame["rfm_segment"] = np.select(
        [(r >= 4) & frequent & big, active & frequent, active & big, ~active & (frequent | big), ~active],
        ["champions", "loyal", "big spenders", "at risk", "hibernating"], default="new or occasional")
    return frame


def kmeans_segments(profiles: pd.DataFrame, *, k: int | None = None, k_range: range = range(2, 9),
                    seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """k-means on the standardised spend profile (log transactions, log net amount, log mean amount, recency,
    online share, log merchants and MCCs); ``k`` by silhouette over ``k_range`` when not given.

    Returns ``(profiles with a kmeans_segment column, one row per k tried with its silhouette and chosen)``.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    columns = _profile_matrix(profiles)
    x = StandardScaler().fit_transform(columns)
    candidates = [k] if k is not None else [c for c in k_range if 2 <= c < len(x)]
    if not candidates:
        raise ValueError(f"{len(x)} customers cannot be split into segments; expected at least 3")
    tried, best = [], None
    for count in candidates:
        model = KMeans(n_clusters=count, n_init=10, random_state=seed).fit(x)
        score = float(silhouette_score(x, model.labels_, sample_size=min(len(x), 5000), random_state=seed))
        tried.append({"k": count, "silhouette": score, "inertia": float(model.inertia_)})
        if best is None or score > best[0]:
            best = (score, count, model)
    _, chosen, model = best
    ranked = pd.Series(model.cluster_centers_[:, 1]).rank(method="first").astype(int).to_numpy() - 1
    frame = profiles.copy()
    frame["kmeans_segment"] = ranked[model.labels_]  # 0 spends least, k-1 most: stable names across seeds
    selection = pd.DataFrame(tried)
    selection["chosen"] = selection["k"] == chosen
    return frame, selection


def segment_summary(segments: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per segment in ``column``: customers, their share, and the median profile."""
    grouped = segments.groupby(column)
    summary = grouped[["recency_days", "transactions", "amount", "mean_amount", "online_share", "merchants"]].median()
    summary.insert(0, "customers", grouped.size())
    summary.insert(1, "share", summary["customers"] / len(segments))
    return summary.reset_index()


def top_merchants(con, *, n: int = 20, months: int | None = 12) -> pd.DataFrame:
    """The ``n`` merchants with the highest net sales over the last ``months`` months of the data (all of it
    when None): ``merchant_id``, ``mcc``, ``description``, ``merchant_city``, ``merchant_state``, ``transactions``,
    ``amount``, ``customers``, ``share`` of all sales in that span."""
    since = "" if months is None else f"WHERE t.month >= {_months_before_end(months)}"
    return con.sql(f"""
        SELECT t.merchant_id, min(t.mcc) AS mcc, coalesce(min(m.description), 'unknown') AS description,
               mode(t.merchant_city) AS merchant_city, coalesce(mode(t.merchant_state), '') AS merchant_state,
               count(*) AS transactions, CAST(sum(t.amount) AS DOUBLE) AS amount,
               count(DISTINCT t.client_id) AS customers,
               CAST(sum(t.amount) AS DOUBLE) / CAST(sum(sum(t.amount)) OVER () AS DOUBLE) AS share
        FROM transactions AS t LEFT JOIN mcc_codes AS m ON m.mcc = t.mcc
        {since}
        GROUP BY t.merchant_id
        ORDER BY amount DESC, t.merchant_id
        LIMIT {int(n)}""").df()


def merchant_trends(con, *, months: int = 6, min_transactions: int = 30) -> pd.DataFrame:
    """Every merchant with at least ``min_transactions`` in the last ``2 * months`` months, split into the last
    ``months`` ("recent") and the ``months`` before them ("before"): ``transactions_before``, ``sales_before``,
    ``customers_before``, the same three ``_recent``; ``sales_change`` (recent over before, minus one; -1 means no
    sales left); ``platform_change``, the same ratio for all merchants together; and ``relative_change``, the
    merchant's ratio over the platform's, minus one: how much worse the merchant did than the market.

    Sales here are purchases only (refunds left out), so that a burst of refunds cannot make a fall look bigger
    than all the sales there were. The volume counts both spans: asking it of the earlier span alone would favour
    merchants that happened to have a busy earlier span, and most of them would then "decline" by chance alone.
    Comparing with the platform takes out what every merchant shares: the season (six months with December against
    six without) and a thinner last month. The last month of the data counts as a whole month; the two spans are
    calendar months, equally long."""
    if months < 1 or min_transactions < 1:
        raise ValueError(f"months={months}, min_transactions={min_transactions}; expected both 1 or more")
    recent_start, before_start = _months_before_end(months), _months_before_end(2 * months)
    return con.sql(f"""
        WITH spans AS (
            SELECT merchant_id, mcc, amount, client_id,
                   CASE WHEN month >= {recent_start} THEN 'recent' ELSE 'before' END AS span
            FROM transactions WHERE month >= {before_start}
        ),
        per_merchant AS (
            SELECT merchant_id, min(mcc) AS mcc,
                   count(CASE WHEN span = 'before' THEN 1 END) AS transactions_before,
                   CAST(coalesce(sum(CASE WHEN span = 'before' AND amount > 0 THEN amount END), 0) AS DOUBLE)
                       AS sales_before,
                   count(DISTINCT CASE WHEN span = 'before' THEN client_id END) AS customers_before,
                   count(CASE WHEN span = 'recent' THEN 1 END) AS transactions_recent,
                   CAST(coalesce(sum(CASE WHEN span = 'recent' AND amount > 0 THEN amount END), 0) AS DOUBLE)
                       AS sales_recent,
                   count(DISTINCT CASE WHEN span = 'recent' THEN client_id END) AS customers_recent
            FROM spans GROUP BY merchant_id
        ),
        platform AS (
            SELECT sum(sales_recent) / nullif(sum(sales_before), 0) AS ratio FROM per_merchant
        )
        SELECT p.*, coalesce(m.description, 'unknown') AS description,
               CASE WHEN sales_before > 0 THEN sales_recent / sales_before - 1 END AS sales_change,
               platform.ratio - 1 AS platform_change,
               CASE WHEN sales_before > 0 AND platform.ratio > 0
                    THEN sales_recent / sales_before / platform.ratio - 1 END AS relative_change
        FROM per_merchant AS p CROSS JOIN platform LEFT JOIN mcc_codes AS m ON m.mcc = p.mcc
        WHERE transactions_before + transactions_recent >= {int(min_transactions)}
        ORDER BY merchant_id""").df()


def declining_merchants(con, *, months: int = 6, min_transactions: int = 30, n: int = 20, min_drop: float = 0.2,
                        against_platform: bool = True) -> pd.DataFrame:
    """The ``n`` merchants of :func:`merchant_trends` whose sales fell most, by at least ``min_drop`` (0.2: a
    fifth), biggest fall first; measured against the platform's own change (``relative_change``) unless
    ``against_platform`` is False (``sales_change``)."""
    trends = merchant_trends(con, months=months, min_transactions=min_transactions)
    change = "relative_change" if against_platform else "sales_change"
    falling = trends[trends[change].notna() & (trends[change] <= -min_drop)]
    return falling.sort_values([change, "merchant_id"]).head(n).reset_index(drop=True)


@dataclass
class MerchantReport:
    """Every table of the merchant analytics of one data set."""

    totals: dict
    sales: dict[str, pd.DataFrame]
    segments: pd.DataFrame
    rfm_summary: pd.DataFrame
    kmeans_summary: pd.DataFrame
    k_selection: pd.DataFrame
    top: pd.DataFrame
    declining: pd.DataFrame
    parameters: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file name (without extension)."""
        return {**{f"sales_by_{name}": frame for name, frame in self.sales.items()},
                "segments_rfm": self.rfm_summary, "segments_kmeans": self.kmeans_summary,
                "segments_k_selection": self.k_selection, "top_merchants": self.top,
                "declining_merchants": self.declining}


ENGINES = ("duckdb", "spark")


def merchant_report(folder: Layout, *, con=None, top_n: int = 20, top_months: int | None = 12,
                    trend_months: int = 6, min_transactions: int = 30, k: int | None = None,
                    seed: int = 0, engine: str = "duckdb", spark=None) -> MerchantReport:
    """Run every analysis of this module on ``folder``, on DuckDB (``con``, or a new in-memory database) or on
    Spark (``engine="spark"``: ``spark``, or a session from :func:`unseen.analytics.spark.spark_session`). The
    queries are the same on both; only the loading of the table and the epoch function differ."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected {' or '.join(ENGINES)}")
    if engine == "spark":
        from unseen.analytics.spark import open_transactions as open_on_spark

        con = open_on_spark(folder, spark=spark)
    else:
        con = open_transactions(folder, con=con)
    rows, amount, first, last = con.execute(
        "SELECT count(*), CAST(sum(amount) AS DOUBLE), min(date), max(date) FROM transactions").fetchall()[0]
    profiles = customer_profiles(con)
    segments, selection = kmeans_segments(profiles, k=k, seed=seed)
    segments = rfm_segments(segments)
    return MerchantReport(
        totals={"transactions": int(rows), "amount": float(amount or 0.0), "first": str(first), "last": str(last),
                "customers": len(profiles),
                "merchants": int(con.execute("SELECT count(DISTINCT merchant_id) FROM transactions").fetchall()[0][0])},
        sales={name: sales_by(con, name) for name in ("month", "weekday", "hour", "weekday_hour", "channel",
                                                       "channel_month", "mcc", "city")},
        segments=segments,
        rfm_summary=segment_summary(segments, "rfm_segment"),
        kmeans_summary=segment_summary(segments, "kmeans_segment"),
        k_selection=selection,
        top=top_merchants(con, n=top_n, months=top_months),
        declining=declining_merchants(con, months=trend_months, min_transactions=min_transactions, n=top_n),
        parameters={"top_n": top_n, "top_months": top_months, "trend_months": trend_months,
                    "min_transactions": min_transactions, "k": k, "seed": seed},
    )


def report_figures(report: MerchantReport) -> dict:
    """Matplotlib figures of a report, by name: monthly sales, the weekday-by-hour heat map, channels over time,
    top MCCs, top cities, segments and declining merchants."""
    from unseen.analytics._merchant_figures import draw_report

    return draw_report(report)


def write_report(report: MerchantReport, out_dir: str | Path) -> list[Path]:
    """Each table as CSV and each figure as PNG and SVG in ``out_dir``; returns the files written."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in report.tables().items():
        path = out_dir / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    for name, figure in report_figures(report).items():
        for suffix in ("png", "svg"):
            path = out_dir / f"{name}.{suffix}"
            figure.savefig(path, dpi=120, bbox_inches="tight")
            written.append(path)
        plt.close(figure)
    return written


def _quintile(values: pd.Series) -> pd.Series:
    """Scores 1-5 by rank, so that ties and small populations still spread over five groups."""
    ranks = values.rank(method="first", pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype(int)


def _profile_matrix(profiles: pd.DataFrame) -> np.ndarray:
    return np.column_stack([
        np.log1p(profiles["transactions"]), np.sign(profiles["amount"]) * np.log1p(profiles["amount"].abs()),
        np.sign(profiles["mean_amount"]) * np.log1p(profiles["mean_amount"].abs()),
        np.log1p(profiles["recency_days"]), profiles["online_share"], np.log1p(profiles["merchants"]),
        np.log1p(profiles["mccs"]),
    ])


def _dialect(con) -> sql.Dialect:
    """The SQL dialect of ``con``: Spark for :class:`unseen.analytics.spark.SparkSQL`, DuckDB otherwise."""
    return getattr(con, "dialect", sql.DUCKDB)


def _months_before_end(months: int) -> str:
    """SQL for the first day of the month ``months - 1`` months before the data's last month."""
    return f"(SELECT CAST(date_trunc('month', max(date)) AS DATE) - INTERVAL {int(months) - 1} MONTH " \
           "FROM transactions)"
