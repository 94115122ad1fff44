"""notebooks/07-attack-simulation-results.ipynb runs top to bottom with its small parameters: it seeds a shop, plays
a mixed simulation over real HTTP against a real shop process, evaluates it from the ground truth, and writes the
run folder whose tables say how fast each attack was acted on and what it cost the shoppers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.run import run_small
from unseen.simulate.attacks import ATTACK_KINDS

NAME = "07-attack-simulation-results"
FIGURES = ("timeline", "time_to_action")
TABLES = ("detection", "criteria", "join", "false_positive_reasons", "flag_split")


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_attack_simulation_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    assert small["warmup_s"] == 0 and meta["model_versions"]["anomaly"] is None  # the rules act alone here
    assert meta["data"]["requests"] > 0 and meta["data"]["first_request"] < meta["data"]["last_request"]

    detection = {row["kind"]: row for row in tables["detection"]}
    assert list(detection) == [*sorted(ATTACK_KINDS), "all_attacks", "shopper"]
    assert detection["shopper"]["shoppers"] == small["shoppers"]
    join = tables["join"][0]
    assert join["unmatched_ground_truth"] == 0 and join["unmatched_log_rows"] == 0  # nothing lost, nothing misjoined
    assert join["matched"] == join["ground_truth_requests"] == meta["data"]["requests"]

    # The targets the rules meet on their own, at the attacks' default rates.
    criteria = {row["target"]: row for row in tables["criteria"]}
    assert criteria["sql_injection: payloads sent until the block"]["measured"] == 1  # blocked at its first payload
    assert criteria["password_guessing: failed logins until the block"]["met"]
    assert criteria["flood_single: seconds to the block"]["met"]
    assert criteria["normal shoppers blocked"]["measured"] == 0
    assert criteria["request records lost"]["measured"] == 0
    for kind in ("flood_single", "sql_injection", "password_guessing", "scraping", "enumeration"):
        assert detection[kind]["first_action"] == "block_ip" and detection[kind]["clients_blocked"] == 1, kind
    # Blocked clients are refused from then on: nothing an IP-blocked attacker sent afterwards was served.
    assert all(detection[kind]["served_after_block"] == 0 for kind in ("flood_single", "sql_injection", "scraping"))
    summary = meta["summary"]
    assert summary["shoppers_blocked"] == 0 and summary["records_lost"] == 0
    assert summary["criteria_met"] == sum(row["met"] for row in tables["criteria"])
