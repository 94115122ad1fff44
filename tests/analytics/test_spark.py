"""Spark and DuckDB give the same features: on a generated 20k-row sample (every column, every row), on the
hand-made layout (the exact values the DuckDB tests check), and for the user history, monthly activity and
interactions. One local[2] Spark session serves the module (it takes a few seconds to start)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.analytics.test_features import check_handmade, write_handmade_layout
from unseen.analytics import features as duck
from unseen.analytics import generate_transactions, load_layout

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # inside PySpark's toPandas
    pytest.mark.timeout(240),
]


@pytest.fixture(scope="module")
def spark():
    from unseen.analytics.spark import spark_session

    # A small heap: the samples are tiny, and the JVM keeps what it was given for the rest of the suite.
    session = spark_session("local[2]", shuffle_partitions=4, driver_memory="1g")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark_sample")
    generate_transactions(folder, rows=20_000, users=60, seed=21)
    return load_layout(folder)


def assert_same_frames(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same columns in the same order and the same values: integers and text exactly, floats to 1e-9."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9, err_msg=column)
        elif pd.api.types.is_datetime64_any_dtype(a):
            assert (a.astype("datetime64[us]") == b.astype("datetime64[us]")).all(), column
        else:
            assert a.astype(object).where(a.notna(), None).tolist() == \
                b.astype(object).where(b.notna(), None).tolist(), column


def test_spark_gives_the_duckdb_features_on_a_sample(spark, sample) -> None:
    from unseen.analytics.spark import transaction_features

    on_duckdb = duck.transaction_features(sample)
    on_spark = transaction_features(sample, spark=spark)
    assert len(on_spark) == 20_000
    assert on_spark["is_fraud"].notna().sum() == on_duckdb["is_fraud"].notna().sum() > 10_000
    assert on_spark["card_count_24h"].max() > 0 and on_spark["first_at_merchant"].sum() > 0
    assert_same_frames(on_duckdb, on_spark)


def test_spark_gives_the_exact_values_on_the_handmade_layout(spark, tmp_path) -> None:
    from unseen.analytics.spark import transaction_features

    folder = write_handmade_layout(tmp_path / "handmade")
    check_handmade(transaction_features(folder, spark=spark))
    window = transaction_features(folder, spark=spark, since="2015-03-02 11:00", until="2015-03-09 11:00")
    assert window["id"].tolist() == [4, 5]


def test_spark_gives_the_duckdb_user_history(spark, sample) -> None:
    from unseen.analytics.spark import user_history_features, user_monthly_activity

    as_of = "2018-06-01"
    assert_same_frames(duck.user_history_features(sample, as_of=as_of),
                       user_history_features(sample, as_of=as_of, spark=spark))
    assert_same_frames(duck.user_monthly_activity(sample, until=as_of),
                       user_monthly_activity(sample, until=as_of, spark=spark))


def test_spark_gives_the_duckdb_interactions(spark, sample) -> None:
    from unseen.analytics.spark import user_merchant_interactions

    since = "2017-01-01"
    assert_same_frames(duck.user_merchant_interactions(sample, since=since),
                       user_merchant_interactions(sample, since=since, spark=spark))


def test_master_comes_from_the_environment(monkeypatch) -> None:
    from unseen.analytics.spark import spark_master

    monkeypatch.delenv("UNSEEN_SPARK_MASTER", raising=False)
    assert spark_master() == "local[*]"
    monkeypatch.setenv("UNSEEN_SPARK_MASTER", "spark://cluster:7077")
    assert spark_master() == "spark://cluster:7077"
    assert spark_master("local[2]") == "local[2]"


def test_cli_features_on_spark_writes_parquet_parts(spark, tmp_path) -> None:
    from unseen.cli import app

    folder = write_handmade_layout(tmp_path / "handmade")
    out = tmp_path / "features"
    result = CliRunner().invoke(app, ["analytics", "features", "--data", str(folder), "--out", str(out),
                                      "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert "transactions" in result.output and list(out.glob("*.parquet"))
    written = duck.read_features(out / "*.parquet")
    assert sorted(written["id"]) == list(range(1, 9))


def test_spark_gives_the_duckdb_merchant_report(spark, sample) -> None:
    """The merchant analytics' queries run unchanged on Spark: every sales table, the customer profiles and so the
    segments, the top and the declining merchants are the DuckDB ones."""
    from unseen.analytics.merchants import merchant_report

    options = dict(top_n=10, trend_months=6, min_transactions=10, seed=3)
    on_duckdb = merchant_report(sample, **options)
    on_spark = merchant_report(sample, engine="spark", spark=spark, **options)
    assert on_spark.totals == on_duckdb.totals and on_spark.totals["transactions"] == 20_000
    for name, table in on_duckdb.sales.items():
        assert_same_frames(table, on_spark.sales[name])
    assert_same_frames(on_duckdb.segments, on_spark.segments)
    assert_same_frames(on_duckdb.top, on_spark.top)
    assert len(on_duckdb.declining) > 0
    assert_same_frames(on_duckdb.declining, on_spark.declining)


def test_cli_merchants_on_spark(spark, sample, tmp_path) -> None:
    from unseen.cli import app

    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["analytics", "merchants", "--data", str(sample.folder), "--out", str(out),
                                      "--engine", "spark", "--min-transactions", "10"])
    assert result.exit_code == 0, result.output
    assert "(spark)" in result.output and (out / "sales_by_month.csv").is_file()
    refused = CliRunner().invoke(app, ["analytics", "merchants", "--data", str(sample.folder), "--out", str(out),
                                       "--engine", "polars"])
    assert refused.exit_code == 2 and "unknown engine 'polars'; expected duckdb or spark" in refused.output


def test_the_driver_gets_a_third_of_the_memory_in_local_mode(monkeypatch) -> None:
    from unseen.analytics.spark import driver_memory_for

    monkeypatch.delenv("UNSEEN_SPARK_DRIVER_MEMORY", raising=False)
    assert driver_memory_for("local[*]", total_bytes=24 * 2**30) == "8g"
    assert driver_memory_for("local[2]", total_bytes=2 * 2**30) == "1g"
    assert driver_memory_for("local[*]", total_bytes=256 * 2**30) == "16g"
    assert driver_memory_for("spark://cluster:7077", total_bytes=24 * 2**30) is None  # the cluster's own setting
    monkeypatch.setenv("UNSEEN_SPARK_DRIVER_MEMORY", "3g")
    assert driver_memory_for("local[*]") == "3g"


def test_a_spark_error_becomes_one_line_that_names_it(spark) -> None:
    from unseen.analytics.spark import SparkFailed, spark_failure

    with pytest.raises(Exception) as raised:
        spark.sql("SELECT * FROM no_such_view").collect()
    failure = spark_failure(raised.value)
    assert isinstance(failure, SparkFailed)
    assert str(failure).startswith("Spark failed: ") and "no_such_view" in str(failure) and "\n" not in str(failure)
    assert spark_failure(ValueError("ours")) is None
