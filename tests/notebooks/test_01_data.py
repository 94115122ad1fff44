"""notebooks/01-the-data.ipynb runs top to bottom with its small parameters and writes the run folder that describes
the three streams the models learn from (events, requests, sales) and the reference sets, with the properties the
later notebooks' choices rest on: a funnel that narrows, sales concentrated on few products and mostly intermittent
per product, attacks that differ from shoppers in rate and error share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.run import run_small

NAME = "01-the-data"
FIGURES = ("events", "sales", "requests", "reference")
TABLES = ("events_by_kind", "funnel", "sales_overview", "demand_classes", "requests_by_label", "quality",
          "reference_data")


@pytest.mark.timeout(600)
def test_data_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    assert meta["data"]["first_event"] < meta["data"]["last_event"] and meta["data"]["orders"] > 0

    kinds = {row["kind"]: row for row in tables["events_by_kind"]}
    assert {"view", "cart_add", "purchase", "login_ok"} <= set(kinds)
    assert sum(row["events"] for row in kinds.values()) == meta["summary"]["events"] == meta["data"]["events"]
    sessions = [row["sessions"] for row in tables["funnel"]]
    assert sessions == sorted(sessions, reverse=True) and sessions[-1] > 0  # each step keeps fewer sessions

    # What notebook 05's choice of methods rests on: concentrated, mostly intermittent sales per product.
    sales = tables["sales_overview"][0]
    assert sales["revenue_share_of_top_20pct_products"] > 0.5
    assert meta["summary"]["intermittent_or_lumpy_share"] > 0.5
    # The seeded year has the gift retailer's shape (positively correlated month by month).
    assert meta["summary"]["season_correlation_with_uci"] > 0

    # The synthetic request log: shoppers and every attack kind, password guessing failing almost always.
    by_label = {row["attack"]: row for row in tables["requests_by_label"]}
    assert {"normal", "flood", "password_guessing", "sql_injection", "scraping", "cart_spam"} <= set(by_label)
    assert by_label["normal"]["addresses"] == small["synthetic_shoppers"]
    assert by_label["password_guessing"]["status_4xx_share"] > 0.9 > 0.05 > by_label["normal"]["status_4xx_share"]

    reference = {row["set"]: row for row in tables["reference_data"]}
    movielens = reference["MovieLens 100k"]
    assert (movielens["rows"], movielens["users"], movielens["entities"]) == (100_000, 943, 1682)
    assert reference["UCI Online Retail sample"]["rows"] == 40_000
    assert {row["check"]: row["rows"] for row in tables["quality"]}["orders without lines"] == 0
