"""notebooks/09-merchant-analytics.ipynb runs top to bottom with its small parameters and writes the run folder a
researcher reads: sales tables that add up to the data, chip payments replacing swipes from 2015, segments that
cover every customer, declining merchants confirmed from the raw rows, and DuckDB and Spark giving the same
features on the same sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.run import run_small

NAME = "09-merchant-analytics"
FIGURES = ("sales_by_month", "weekday_hour", "channels_by_month", "top_mccs", "top_cities", "segments",
           "declining_merchants", "engines")
TABLES = ("sales_by_month", "sales_by_weekday", "sales_by_weekday_hour", "sales_by_channel", "channel_by_year",
          "sales_by_mcc", "sales_by_city", "segments_rfm", "segments_kmeans", "segments_k_selection",
          "segments_rfm_by_kmeans", "top_merchants", "declining_merchants", "declining_check", "engines",
          "engine_parity")


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.timeout(600)
def test_merchant_analytics_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    summary, data = meta["summary"], meta["data"]
    assert data["transactions"] == small["rows"] and data["generated"]

    # Every breakdown adds up to the data: rows and net sales.
    for table in ("sales_by_month", "sales_by_weekday", "sales_by_channel", "sales_by_mcc"):
        assert sum(row["transactions"] for row in tables[table]) == small["rows"], table
        assert sum(row["amount"] for row in tables[table]) == pytest.approx(data["amount"], abs=0.05), table
    assert sum(row["share"] for row in tables["sales_by_channel"]) == pytest.approx(1.0)
    assert len(tables["sales_by_weekday_hour"]) <= 7 * 24

    # The chip roll-out the generated data carries: no chip payment before 2015, most payments by chip at the end.
    assert summary["chip_share_before_2015"] == 0.0
    assert summary["chip_share_last_year"] > 0.5
    assert summary["december_lift"] > 0  # the season: December sells more than the average month
    assert summary["night_share"] < 0.1

    # Segments cover every customer once, in RFM and in k-means alike; one k was chosen.
    customers = data["customers"]
    assert sum(row["customers"] for row in tables["segments_rfm"]) == customers
    assert sum(row["customers"] for row in tables["segments_kmeans"]) == customers
    assert sum(row["chosen"] for row in tables["segments_k_selection"]) == 1

    # Top merchants are ranked; every declining merchant was recomputed from the raw rows and fell by at least
    # min_drop more than the platform.
    amounts = [row["amount"] for row in tables["top_merchants"]]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) == meta["parameters"]["top_n"]
    assert tables["declining_check"] and all(row["agrees"] for row in tables["declining_check"])
    assert all(row["relative_change"] <= -meta["parameters"]["min_drop"] for row in tables["declining_merchants"])
    assert summary["declining_all_checked"]

    # DuckDB and Spark: the same frame on the same sample, both engines timed twice.
    parity = tables["engine_parity"][0]
    assert parity["rows_duckdb"] == parity["rows_spark"] == small["spark_rows"]
    assert parity["same_columns"] and parity["other_columns_equal"] and parity["max_abs_difference"] <= 1e-9
    assert summary["engines_identical"]
    assert len(tables["engines"]) == 4 and all(row["seconds"] > 0 for row in tables["engines"])
