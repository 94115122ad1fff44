"""The feature pipeline of :mod:`unseen.analytics.features` on Apache Spark: the same queries, the same columns,
the same values, for data that outgrows one machine.

The queries are Spark SQL over temporary views: ``tx`` (the transactions CSV read with the layout's schema) and the
cards, users and labels side tables. The side tables travel to Spark as Parquet files that DuckDB writes from the
loader's frames (no pyarrow needed, and 8.9M labels are not pickled row by row through py4j).

The master comes from the ``master`` argument, else ``UNSEEN_SPARK_MASTER``, else ``local[*]``; the session runs
in UTC, as the layout's times are naive.

Examples
--------
>>> import tempfile
>>> from unseen.analytics.generate import generate_transactions
>>> from unseen.analytics.features import FRAUD_FEATURES
>>> spark = spark_session("local[1]")  # doctest: +SKIP
>>> with tempfile.TemporaryDirectory() as folder:  # doctest: +SKIP
...     _ = generate_transactions(folder, rows=2_000, users=20, seed=1)
...     frame = transaction_features(folder, spark=spark)
>>> list(frame.columns[11:]) == list(FRAUD_FEATURES)  # doctest: +SKIP
True
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from unseen.analytics import _feature_sql as sql
from unseen.analytics.features import Layout, _layout, _typed_features
from unseen.analytics.layout import SPARK_TIMESTAMP_FORMAT, TRANSACTIONS_SPARK_DDL

DEFAULT_MASTER = "local[*]"
MASTER_ENV = "UNSEEN_SPARK_MASTER"


DRIVER_MEMORY_ENV = "UNSEEN_SPARK_DRIVER_MEMORY"


class SparkFailed(RuntimeError):
    """Spark gave up on a job (the JVM's error, such as running out of heap, is in the message)."""


def driver_memory_for(master: str, *, total_bytes: int | None = None) -> str | None:
    """The driver heap to ask for: ``UNSEEN_SPARK_DRIVER_MEMORY`` when set; in local mode, where the driver also
    does all the work, a third of the machine's memory between 1 and 16 GiB (Spark's own 1 GiB runs out of heap
    on the full 13M-row data set); on a cluster, Spark's default."""
    if os.environ.get(DRIVER_MEMORY_ENV):
        return os.environ[DRIVER_MEMORY_ENV]
    if not master.startswith("local"):
        return None
    if total_bytes is None:
        total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, min(16, total_bytes // 3 // 2**30))}g"


def spark_master(master: str | None = None) -> str:
    """``master``, else ``UNSEEN_SPARK_MASTER``, else ``local[*]``."""
    return master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def spark_session(master: str | None = None, *, app_name: str = "unseen-analytics", shuffle_partitions: int = 8,
                  driver_memory: str | None = None, local_dir: str | Path | None = None):
    """A Spark session for the analytics (an existing one is reused and given these SQL settings). The driver's
    heap is ``driver_memory``, else :func:`driver_memory_for` the master.

    ``shuffle_partitions`` is kept small because a feature query shuffles by card once per window; Spark's
    default of 200 partitions costs seconds of task overhead on a sample. Raise it on a cluster.
    """
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(spark_master(master)).appName(app_name)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
               .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.execution.arrow.pyspark.enabled", "false")
               # No tables are saved; without this Spark leaves an empty spark-warehouse/ in the caller's folder.
               .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "unseen-spark-warehouse")))
    driver_memory = driver_memory or driver_memory_for(spark_master(master))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    if local_dir:
        builder = builder.config("spark.local.dir", str(local_dir))
    spark = builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "false")  # pyarrow is not a dependency
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def transaction_features_frame(folder: Layout, *, spark=None, since=None, until=None):
    """:func:`unseen.analytics.features.transaction_features` as a lazy Spark DataFrame, ordered by date and id."""
    spark = spark or spark_session()
    layout = _layout(folder)
    _register(spark, layout, until=until)
    query = sql.fraud_features_sql("tx", "cards_side", "users_side", "labels_side", sql.SPARK,
                                   since_epoch=None if since is None else sql.epoch_seconds(since))
    return _naive_dates(spark.sql(query)).orderBy("date", "id")


def transaction_features(folder: Layout, *, spark=None, since=None, until=None) -> pd.DataFrame:
    """The per-transaction fraud features computed by Spark, collected into the frame that
    :func:`unseen.analytics.features.transaction_features` returns (same columns, same order)."""
    frame = transaction_features_frame(folder, spark=spark, since=since, until=until).toPandas()
    return _typed_features(frame)


def write_features(folder: Layout, out_path: str | Path, *, spark=None, since=None, until=None) -> Path:
    """Write the features as a Parquet folder (Spark's part files) at ``out_path``, replacing it."""
    frame = transaction_features_frame(folder, spark=spark, since=since, until=until)
    frame.write.mode("overwrite").parquet(str(out_path))
    return Path(out_path)


def user_history_features(folder: Layout, *, as_of, window_days: int = 365, recent_days: int = 91,
                          spark=None) -> pd.DataFrame:
    """:func:`unseen.analytics.features.user_history_features` computed by Spark."""
    if not 0 < recent_days < window_days:
        raise ValueError(f"recent_days={recent_days} and window_days={window_days}; expected "
                         "0 < recent_days < window_days")
    spark = spark or spark_session()
    _register(spark, _layout(folder), until=as_of)
    query = sql.user_history_sql("tx", "users_side", sql.SPARK, as_of_epoch=sql.epoch_seconds(as_of),
                                 as_of_year=pd.Timestamp(as_of).year, window_days=window_days,
                                 recent_days=recent_days)
    return spark.sql(query).orderBy("client_id").toPandas()


def user_monthly_activity(folder: Layout, *, spark=None, until=None) -> pd.DataFrame:
    """:func:`unseen.analytics.features.user_monthly_activity` computed by Spark."""
    spark = spark or spark_session()
    _register(spark, _layout(folder), until=until)
    frame = spark.sql(sql.monthly_activity_sql("tx", sql.SPARK)).orderBy("client_id", "month").toPandas()
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def user_mcc_interactions(folder: Layout, *, spark=None, since=None, until=None) -> pd.DataFrame:
    """:func:`unseen.analytics.features.user_mcc_interactions` computed by Spark."""
    return _interactions(folder, "mcc", spark=spark, since=since, until=until)


def user_merchant_interactions(folder: Layout, *, spark=None, since=None, until=None) -> pd.DataFrame:
    """:func:`unseen.analytics.features.user_merchant_interactions` computed by Spark."""
    return _interactions(folder, "merchant_id", spark=spark, since=since, until=until)


def _interactions(folder: Layout, key: str, *, spark, since, until) -> pd.DataFrame:
    spark = spark or spark_session()
    _register(spark, _layout(folder), until=until, since=since)
    frame = _naive_dates(spark.sql(sql.interactions_sql("tx", key, sql.SPARK)), ("first_date", "last_date"))
    return frame.orderBy("client_id", key).toPandas()


def _register(spark, layout, *, until=None, since=None) -> None:
    """Temporary views ``tx``, ``cards_side``, ``users_side`` and ``labels_side`` on ``spark``."""
    raw = spark.read.csv(str(layout.transactions_path), header=True, schema=TRANSACTIONS_SPARK_DDL,
                         timestampFormat=SPARK_TIMESTAMP_FORMAT, quote='"', escape='"', mode="FAILFAST")
    raw.createOrReplaceTempView("transactions_raw")
    inner = sql.transactions_sql("transactions_raw", sql.SPARK,
                                 until_epoch=None if until is None else sql.epoch_seconds(until))
    if since is not None:
        inner = f"SELECT * FROM ({inner}) AS t WHERE ts >= {sql.epoch_seconds(since)}"
    spark.sql(inner).createOrReplaceTempView("tx")
    folder = _scratch()
    for name, table in _side_parquet(layout, folder).items():
        spark.read.parquet(str(table)).createOrReplaceTempView(f"{name}_side")


def _side_parquet(layout, folder: Path) -> dict[str, Path]:
    """The side tables written by DuckDB as Parquet files in ``folder``."""
    import duckdb

    con = duckdb.connect()
    written = {}
    for name, frame in sql.side_tables(layout).items():
        path = folder / f"{name}.parquet"
        con.register("side", frame)
        con.execute(f"COPY side TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
        con.unregister("side")
        written[name] = path
    con.close()
    return written


def _scratch() -> Path:
    """A fresh folder for side tables, removed when the process ends (Spark reads them lazily)."""
    folder = Path(tempfile.mkdtemp(prefix="unseen-spark-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _naive_dates(frame, columns=("date",)):
    """Timestamps as TIMESTAMP_NTZ, so that pandas receives the layout's naive times whatever the local zone."""
    from pyspark.sql import functions as F

    for column in columns:
        frame = frame.withColumn(column, F.col(column).cast("timestamp_ntz"))
    return frame


class SparkSQL:
    """A DuckDB-connection look-alike over a Spark session, so that the merchant analytics' queries run unchanged:
    ``sql(query).df()`` and ``execute(query).fetchall()``. Timestamps come back naive (the layout's local times)."""

    dialect = sql.SPARK

    def __init__(self, spark) -> None:
        self.spark = spark

    def sql(self, query: str) -> _SparkResult:
        return _SparkResult(self.spark.sql(query))

    execute = sql


class _SparkResult:
    def __init__(self, frame) -> None:
        self.frame = frame

    def df(self) -> pd.DataFrame:
        timestamps = [f.name for f in self.frame.schema.fields if f.dataType.typeName() == "timestamp"]
        frame = (_naive_dates(self.frame, timestamps) if timestamps else self.frame).toPandas()
        for field in self.frame.schema.fields:  # DATE columns arrive as Python dates; DuckDB gives datetime64
            if field.dataType.typeName() == "date":
                frame[field.name] = pd.to_datetime(frame[field.name])
        return frame

    def fetchall(self) -> list[tuple]:
        timestamps = [f.name for f in self.frame.schema.fields if f.dataType.typeName() == "timestamp"]
        frame = _naive_dates(self.frame, timestamps) if timestamps else self.frame
        return [tuple(row) for row in frame.collect()]


def open_transactions(folder: Layout, *, spark=None) -> SparkSQL:
    """:func:`unseen.analytics.merchants.open_transactions` on Spark: the temporary views ``transactions`` (the
    same columns: amount as an exact decimal, ``channel``, ``month``, ``weekday`` Monday 0, ``hour``) and
    ``mcc_codes``, cached, behind a :class:`SparkSQL`."""
    spark = spark or spark_session()
    layout = _layout(folder)
    raw = spark.read.csv(str(layout.transactions_path), header=True, schema=TRANSACTIONS_SPARK_DDL,
                         timestampFormat=SPARK_TIMESTAMP_FORMAT, quote='"', escape='"', mode="FAILFAST")
    raw.createOrReplaceTempView("transactions_raw")
    table = spark.sql(sql.merchant_transactions_sql("transactions_raw", sql.SPARK))
    table.cache().createOrReplaceTempView("transactions")
    codes = layout.mcc_codes[["mcc", "description"]]
    spark.createDataFrame([(int(m), str(d)) for m, d in codes.itertuples(index=False)],
                          "mcc INT, description STRING").createOrReplaceTempView("mcc_codes")
    return SparkSQL(spark)


def spark_failure(exc: BaseException) -> SparkFailed | None:
    """A :class:`SparkFailed` naming what went wrong when ``exc`` came from Spark or its JVM, else None."""
    if not type(exc).__module__.startswith(("pyspark", "py4j")):
        return None
    text = ""
    java = getattr(exc, "java_exception", None)
    try:
        text = str(java.toString()) if java is not None else str(exc)
    except Exception:  # noqa: BLE001 - a JVM that died cannot describe its error
        text = type(exc).__name__
    if "OutOfMemoryError" in text or "Connection reset" in text or "Py4JNetworkError" in type(exc).__name__:
        text += f" (the JVM ran out of memory or died; give the driver more heap with {DRIVER_MEMORY_ENV}, e.g. 8g)"
    return SparkFailed(f"Spark failed: {text.splitlines()[0] if text else type(exc).__name__}")
