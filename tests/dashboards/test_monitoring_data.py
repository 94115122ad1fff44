"""What the monitoring dashboard reads and does, on a real database and without a browser: requests per bucket and
state, the newest flagged requests with the model's explanation, active decisions, undo and allowlist with clear
errors, and the running simulation's progress read from its run folder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from tests.conftest import Role, add_user
from unseen.dashboards.monitoring import STATES, MonitoringDashboard, MonitoringData, html_table
from unseen.shop.errors import Conflict, NotFound
from unseen.tables import AllowlistEntry, Decision, RequestLog, utcnow


def _request(session, *, seconds_ago: float, ip: str, category: str = "normal", blocked: bool = False,
             reasons=None) -> None:
    session.add(RequestLog(at=utcnow() - timedelta(seconds=seconds_ago), ip=ip, method="GET", path="/api/products",
                           status=403 if blocked else 200, latency_ms=3.0, category=category, blocked=blocked,
                           reasons=reasons or []))


@pytest.fixture
def data(engine, tmp_path):
    add_user(engine, email="operator@unseen.example", role=Role.operator)
    with Session(engine) as session:
        for n in range(30):
            _request(session, seconds_ago=10 + n, ip="10.0.0.1")
        _request(session, seconds_ago=12, ip="198.51.100.7", category="anomaly", reasons=["sqli:sqli-union"])
        _request(session, seconds_ago=11, ip="198.51.100.7", blocked=True, category="anomaly")
        _request(session, seconds_ago=9, ip="203.0.113.5", category="warning", reasons=["model:rate_1m"])
        _request(session, seconds_ago=3600 * 3, ip="10.0.0.2")  # outside the last hour
        session.add(Decision(kind="block_ip", target="198.51.100.7", anomaly_kind="sql_injection", reason="sqli",
                             expires_at=utcnow() + timedelta(minutes=15)))
        session.add(Decision(kind="flag_session", target="42", anomaly_kind=None, reason="model", evidence={
            "model_explanation": [{"feature": "rate_1m", "value": 80.0, "typical": 2.0, "z": 9.5, "key": "ip"}]}))
        session.add(Decision(kind="flag_session", target="203.0.113.5", reason="model", evidence={
            "model_explanation": [{"feature": "rate_1m", "value": 80.0, "typical": 2.0, "z": 9.5, "key": "ip"}]}))
        session.add(Decision(kind="block_ip", target="192.0.2.1", reason="old", expires_at=utcnow() - timedelta(1)))
        session.commit()
    return MonitoringData(engine, runs_dir=tmp_path / "runs")


def test_requests_per_bucket_and_state_cover_the_range(data):
    frame = data.requests_over_time(minutes=60, bucket_seconds=60)
    assert list(frame.columns) == list(STATES) and len(frame) in (60, 61)  # every minute of the hour, empty ones too
    assert frame.sum().to_dict() == {"normal": 30, "warning": 1, "anomaly": 1, "blocked": 1}
    assert data.requests_over_time(minutes=60, ip="198.51.100.7").sum().to_dict() == {
        "normal": 0, "warning": 0, "anomaly": 1, "blocked": 1}
    only = data.requests_over_time(minutes=60, states=["blocked"]).sum()
    assert only["blocked"] == 1 and only["normal"] == 0
    assert data.requests_over_time(minutes=360).sum()["normal"] == 31
    with pytest.raises(ValueError, match="unknown request state 'refused'; expected some of: normal"):
        data.requests_over_time(minutes=5, states=["refused"])


def test_flagged_requests_come_newest_first_with_reasons_and_the_models_explanation(data):
    flagged = data.latest_flagged(minutes=60)
    assert list(flagged["ip"]) == ["203.0.113.5", "198.51.100.7", "198.51.100.7"]
    assert flagged.iloc[0]["explanation"] == "rate_1m 80 (typical 2, z +9.5)"
    assert flagged.iloc[2]["reasons"] == "sqli:sqli-union" and flagged.iloc[2]["explanation"] == ""
    assert list(data.latest_flagged(minutes=60, categories=["warning"])["ip"]) == ["203.0.113.5"]


def test_active_decisions_undo_and_allowlist(data, engine):
    active = data.decisions()
    assert set(active["target"]) == {"198.51.100.7", "42", "203.0.113.5"}  # the expired block is not active
    block = int(active.loc[active["target"] == "198.51.100.7", "id"].iloc[0])
    undone = data.undo(block)
    assert undone.undone_at is not None and undone.undone_by is not None
    assert "198.51.100.7" not in set(data.decisions()["target"])
    with pytest.raises(Conflict, match=f"decision {block} was already undone"):
        data.undo(block)
    with pytest.raises(NotFound, match="no decision with id 9999"):
        data.undo(9999)

    entry = data.allow("203.0.113.0/24")
    assert entry.network == "203.0.113.0/24"
    with pytest.raises(Conflict, match="already on the allowlist"):
        data.allow("203.0.113.0/24")
    with pytest.raises(ValueError, match="not-an-ip"):
        data.allow("not-an-ip")
    with pytest.raises(ValueError, match="which address or network"):
        data.allow("  ")
    with Session(engine) as session:
        assert len(session.exec(select(AllowlistEntry)).all()) == 1  # nothing else was stored

    offenders = data.top_offenders(minutes=60)
    assert offenders.iloc[0]["ip"] == "198.51.100.7" and int(offenders.iloc[0]["blocked"]) == 1


def test_the_simulation_in_progress_is_read_from_its_run_folder(data, tmp_path):
    assert data.simulation() is None
    run = tmp_path / "runs" / "simulations" / "20261207T000000Z-seed1"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"run_id": run.name, "status": "running", "started_at": "now",
                                              "scenario": {"duration_s": 60}}))
    lines = [{"kind": "shopper", "blocked": False}, {"kind": "sql_injection", "blocked": False},
             {"kind": "sql_injection", "blocked": True}]
    (run / "ground_truth.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"kind": "sh')
    simulation = data.simulation()
    assert simulation["status"] == "running" and simulation["duration_s"] == 60
    assert simulation["kinds"] == {"shopper": {"requests": 1, "refused": 0},
                                   "sql_injection": {"requests": 2, "refused": 1}}  # the half-written line waits


def test_the_widgets_show_everything_and_a_failed_refresh_says_why(data, engine):
    dashboard = MonitoringDashboard(data, refresh_s=1)
    dashboard.range.value = "last hour"
    assert dashboard.ticks >= 1 and 'data-tick="' in dashboard.status.value  # a change of filter refreshes at once
    assert bytes(dashboard.chart.value).startswith(b"\x89PNG")
    assert 'data-state="blocked"' in dashboard.totals.value and "198.51.100.7" in dashboard.flagged.value
    targets = [row.children[0].value for row in dashboard.decision_rows.children]
    assert any('data-target="198.51.100.7"' in target for target in targets)
    block_row = next(row for row in dashboard.decision_rows.children if "198.51.100.7" in row.children[0].value)
    block_row.children[1].click()  # Undo
    assert "Undone: block_ip" in dashboard.message.value
    assert not any("198.51.100.7" in row.children[0].value for row in dashboard.decision_rows.children)
    dashboard.allow_input.value = "300.1.2.3"
    dashboard.allow_button.click()
    assert "Not added" in dashboard.message.value and "300.1.2.3" in dashboard.message.value

    engine.dispose()
    with Session(engine) as session:  # a broken database: the status line says so, nothing raises
        session.exec(text("DROP TABLE request_log"))
        session.commit()
    dashboard.refresh()
    assert "Refresh failed" in dashboard.status.value and "request_log" in dashboard.status.value


def test_tables_escape_what_they_show():
    import pandas as pd

    table = html_table(pd.DataFrame({"path": ["/search?q=<script>alert(1)</script>"]}), empty="-", css_class="t")
    assert "<script>" not in table and "&lt;script&gt;" in table
    assert "unseen-empty" in html_table(pd.DataFrame(), empty="nothing", css_class="t")
