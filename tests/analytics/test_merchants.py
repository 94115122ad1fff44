"""Merchant analytics: every breakdown adds up to the raw totals, declining merchants really declined (recomputed
from the raw rows, and a merchant built to decline is found), top merchants are ordered, segments are sensible, the
report writes its tables and figures, and ``unseen analytics merchants`` ends in a summary or a clear exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.analytics.test_features import write_handmade_layout
from unseen.analytics import load_layout
from unseen.analytics.merchants import (
    DIMENSIONS,
    declining_merchants,
    merchant_report,
    merchant_trends,
    open_transactions,
    sales_by,
    top_merchants,
    write_report,
)
from unseen.cli import app


@pytest.fixture(scope="module")
def store(generated):
    folder, _ = generated
    layout = load_layout(folder)
    raw = layout.read_transactions()
    raw["month"] = raw["date"].dt.to_period("M").dt.to_timestamp()
    return open_transactions(layout, threads=2), raw


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_every_breakdown_adds_up_to_the_raw_totals(store, dimension) -> None:
    con, raw = store
    table = sales_by(con, dimension)
    assert table["transactions"].sum() == len(raw)
    assert table["amount"].sum() == pytest.approx(raw["amount"].sum(), abs=0.01)
    assert table["refunds"].sum() == int((raw["amount"] < 0).sum())
    assert table["share"].sum() == pytest.approx(1.0)
    assert not table.duplicated(list(DIMENSIONS[dimension])).any()


def test_breakdowns_match_pandas(store) -> None:
    con, raw = store
    channel = sales_by(con, "channel").set_index("channel")["amount"]
    expected = raw.groupby(raw["use_chip"].str.split(" ").str[0])["amount"].sum()
    assert channel.to_dict() == pytest.approx(expected.to_dict())
    hours = sales_by(con, "hour")
    assert hours["hour"].tolist() == list(range(24))
    assert hours["transactions"].tolist() == raw.groupby(raw["date"].dt.hour).size().tolist()
    weekdays = sales_by(con, "weekday")
    assert weekdays["transactions"].tolist() == raw.groupby(raw["date"].dt.day_of_week).size().tolist()
    mcc = sales_by(con, "mcc")
    assert (mcc["description"] != "unknown").all()
    assert mcc["amount"].is_monotonic_decreasing
    city = sales_by(con, "city").set_index(["merchant_city", "merchant_state"])
    assert city.loc[("ONLINE", ""), "transactions"] == int((raw["merchant_city"] == "ONLINE").sum())


def test_unknown_breakdown_is_refused(store) -> None:
    with pytest.raises(ValueError, match="cannot break sales down by 'colour'"):
        sales_by(store[0], "colour")


def test_declining_merchants_really_declined(store) -> None:
    con, raw = store
    months, minimum = 6, 10
    declining = declining_merchants(con, months=months, min_transactions=minimum, n=50, min_drop=0.2)
    assert len(declining) > 0
    last = raw["month"].max()
    recent_start = last - pd.DateOffset(months=months - 1)
    before_start = last - pd.DateOffset(months=2 * months - 1)
    purchases = raw[raw["amount"] > 0]
    platform = (purchases.loc[purchases["month"] >= recent_start, "amount"].sum()
                / purchases.loc[(purchases["month"] >= before_start) & (purchases["month"] < recent_start),
                                "amount"].sum())
    assert declining["platform_change"].iloc[0] == pytest.approx(platform - 1)
    for row in declining.itertuples():
        rows = raw[raw["merchant_id"] == row.merchant_id]
        before = rows[(rows["month"] >= before_start) & (rows["month"] < recent_start)]
        recent = rows[rows["month"] >= recent_start]
        sales_before = purchases.loc[before.index.intersection(purchases.index), "amount"].sum()
        sales_recent = purchases.loc[recent.index.intersection(purchases.index), "amount"].sum()
        assert len(before) == row.transactions_before and len(recent) == row.transactions_recent
        assert len(before) + len(recent) >= minimum
        assert (sales_before, sales_recent) == pytest.approx((row.sales_before, row.sales_recent))
        assert sales_recent <= 0.8 * platform * sales_before  # fell by a fifth more than the whole platform
    assert declining["relative_change"].is_monotonic_increasing
    absolute = declining_merchants(con, months=months, min_transactions=minimum, n=50, against_platform=False)
    assert (absolute["sales_recent"] <= 0.8 * absolute["sales_before"]).all()


def test_a_merchant_built_to_decline_is_found(tmp_path) -> None:
    """Merchant 100 sells 40 times a month and then 5 times; merchant 200 stays steady; 300 is too small. The
    platform as a whole falls with merchant 100, so the steady merchant does better than the market."""
    lines = ["id,date,client_id,card_id,amount,use_chip,merchant_id,merchant_city,merchant_state,zip,mcc,errors"]
    next_id = 1
    for month in pd.period_range("2018-01", "2018-12", freq="M"):
        plan = {100: 40 if month < pd.Period("2018-07", "M") else 5, 200: 20, 300: 0 if month.month % 3 else 1}
        for merchant, count in plan.items():
            for i in range(count):
                day = month.to_timestamp() + pd.Timedelta(days=i % 28, hours=10)
                lines.append(f"{next_id},{day:%Y-%m-%d %H:%M:%S},1,10,$25.00,Chip Transaction,{merchant},Austin,TX,"
                             "78701.0,5411,")
                next_id += 1
    folder = write_handmade_layout(tmp_path / "decline", "\n".join(lines) + "\n")
    con = open_transactions(folder)
    trends = merchant_trends(con, months=6, min_transactions=10).set_index("merchant_id")
    assert sorted(trends.index) == [100, 200]
    assert trends.loc[100, "sales_change"] == pytest.approx(5 / 40 - 1)
    assert trends.loc[200, "sales_change"] == pytest.approx(0.0)
    platform = (6 * 5 + 6 * 20 + 2) / (6 * 40 + 6 * 20 + 2)  # merchant 300 pays in months 3, 6, 9 and 12
    assert trends["platform_change"].tolist() == pytest.approx([platform - 1] * 2)
    assert trends.loc[100, "relative_change"] == pytest.approx(5 / 40 / platform - 1)
    assert trends.loc[200, "relative_change"] > 0
    assert declining_merchants(con, months=6, min_transactions=10)["merchant_id"].tolist() == [100]
    assert declining_merchants(con, months=6, min_transactions=10, against_platform=False)["merchant_id"].tolist() \
        == [100]
    with pytest.raises(ValueError, match="months=0"):
        merchant_trends(con, months=0)


def test_top_merchants_are_ordered_and_match_pandas(store) -> None:
    con, raw = store
    top = top_merchants(con, n=10, months=12)
    assert len(top) == 10 and top["amount"].is_monotonic_decreasing
    since = raw["month"].max() - pd.DateOffset(months=11)
    expected = raw[raw["month"] >= since].groupby("merchant_id")["amount"].sum().nlargest(10)
    assert top["merchant_id"].tolist() == expected.index.tolist()
    assert top["amount"].tolist() == pytest.approx(expected.tolist())
    everything = top_merchants(con, n=5, months=None)
    assert everything["transactions"].sum() <= len(raw)


@pytest.fixture(scope="module")
def report(generated):
    folder, _ = generated
    return merchant_report(folder, min_transactions=10, seed=0)


def test_segments_cover_every_customer_and_mean_something(report) -> None:
    segments = report.segments
    assert len(segments) == report.totals["customers"] == segments["client_id"].nunique()
    assert set(segments[["r_score", "f_score", "m_score"]].stack().unique()) == {1, 2, 3, 4, 5}
    by_rfm = segments.groupby("rfm_segment")["amount"].median()
    assert by_rfm["champions"] > by_rfm["hibernating"]
    assert segments.loc[segments["rfm_segment"] == "champions", "r_score"].min() >= 4
    assert report.rfm_summary["customers"].sum() == report.kmeans_summary["customers"].sum() == len(segments)
    assert report.k_selection["chosen"].sum() == 1
    by_kmeans = segments.groupby("kmeans_segment")["amount"].median()
    assert by_kmeans.iloc[0] < by_kmeans.iloc[-1]  # segments are numbered from the smallest spenders up


def test_report_writes_tables_and_figures(report, tmp_path) -> None:
    files = write_report(report, tmp_path / "report")
    names = {path.name for path in files}
    for table in report.tables():
        assert f"{table}.csv" in names
    for figure in ("sales_by_month", "weekday_hour", "channels_by_month", "top_mccs", "top_cities", "segments",
                   "declining_merchants"):
        assert (tmp_path / "report" / f"{figure}.png").read_bytes().startswith(b"\x89PNG")
        assert "<svg" in (tmp_path / "report" / f"{figure}.svg").read_text()[:1000]
    monthly = pd.read_csv(tmp_path / "report" / "sales_by_month.csv")
    assert monthly["transactions"].sum() == report.totals["transactions"]


def test_cli_merchants_prints_a_summary(generated, tmp_path) -> None:
    folder, _ = generated
    result = CliRunner().invoke(app, ["analytics", "merchants", "--data", str(folder), "--out",
                                      str(tmp_path / "m"), "--min-transactions", "10"])
    assert result.exit_code == 0, result.output
    assert "200,000" in result.output and "declining merchants" in result.output
    assert (tmp_path / "m" / "sales_by_channel.csv").is_file()


def test_cli_merchants_refuses_a_broken_folder(tmp_path) -> None:
    folder = write_handmade_layout(tmp_path / "broken")
    (folder / "cards_data.csv").unlink()
    result = CliRunner().invoke(app, ["analytics", "merchants", "--data", str(folder), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "cards_data.csv" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["analytics", "merchants", "--data", str(tmp_path / "nowhere"), "--out",
                                       str(tmp_path / "m")])
    assert missing.exit_code == 2 and "is not a folder" in " ".join(missing.output.split())
