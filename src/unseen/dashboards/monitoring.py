"""The live monitoring dashboard: what ``dashboards/monitoring.ipynb`` shows, as plain functions over the shop's
database (:class:`MonitoringData`) and the widgets that refresh them in place (:class:`MonitoringDashboard`).

The dashboard reads the request log and the decisions the running shop writes; undo and allowlist write the same
rows the operator API does, and the shop's monitor re-reads blocks and the allowlist every two seconds, so an undo
here unblocks the address in the running shop within that time (no restart, no call into the shop's process).

>>> from unseen.db import create_schema, make_engine
>>> engine = make_engine("sqlite://")
>>> create_schema(engine)
>>> data = MonitoringData(engine)
>>> data.requests_over_time(minutes=5).sum().to_dict()
{'normal': 0, 'warning': 0, 'anomaly': 0, 'blocked': 0}
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from unseen.monitor import operations
from unseen.monitor.network import parse_networks
from unseen.shop.errors import Conflict, NotFound
from unseen.tables import Decision, RequestLog, User, utcnow

log = logging.getLogger(__name__)

STATES = ("normal", "warning", "anomaly", "blocked")
"""What a request became: its rule-and-model category, or ``blocked`` when the shop refused it as blocked."""
COLOURS = {"normal": "#9ecae1", "warning": "#fdae6b", "anomaly": "#e6550d", "blocked": "#636363"}
RANGES = {"last 5 minutes": 5, "last 15 minutes": 15, "last hour": 60, "last 6 hours": 360, "last 24 hours": 1440}
ACTIVE_KINDS = ("block_ip", "terminate_session", "flag_session", "flag_account")


def _bucket_seconds(minutes: float) -> int:
    """About 60 bars over the range, in round steps: 5 s for five minutes, 1 min for an hour."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if minutes * 60 / step <= 75:
            return step
    return 3600


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class MonitoringData:
    """Queries behind the monitoring dashboard, on the shop's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, operator_email: str = "operator@unseen.example",
                 runs_dir: Path | None = None):
        self.engine = engine
        self.operator_email = operator_email
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None

    # --- reading -----------------------------------------------------------------------------------------------

    def _epoch(self):
        if self.engine.dialect.name == "sqlite":
            return cast(func.strftime("%s", RequestLog.at), Integer)
        return cast(func.floor(func.extract("epoch", RequestLog.at)), Integer)

    @staticmethod
    def _filtered(statement, *, since: datetime, ip: str | None):
        statement = statement.where(RequestLog.at >= since)
        if ip:
            statement = statement.where(RequestLog.ip == ip.strip())
        return statement

    def requests_over_time(self, *, minutes: float = 15, bucket_seconds: int | None = None, ip: str | None = None,
                           states: Sequence[str] = STATES, now: datetime | None = None) -> pd.DataFrame:
        """Requests per time bucket (rows, bucket start in UTC) and state (columns ``normal``, ``warning``,
        ``anomaly``, ``blocked``; the states not asked for are zero), every bucket of the range present."""
        unknown = sorted(set(states) - set(STATES))
        if unknown:
            raise ValueError(f"unknown request state {unknown[0]!r}; expected some of: {', '.join(STATES)}")
        now = _aware(now) or utcnow()
        bucket = int(bucket_seconds or _bucket_seconds(minutes))
        since = now - timedelta(minutes=minutes)
        epoch = self._epoch()
        statement = self._filtered(select((epoch / bucket).label("b"), RequestLog.category, RequestLog.blocked,
                                          func.count()), since=since, ip=ip)
        with self.engine.connect() as conn:
            rows = conn.execute(statement.group_by("b", RequestLog.category, RequestLog.blocked)).all()
        first, last = int(since.timestamp()) // bucket, int(now.timestamp()) // bucket
        index = pd.DatetimeIndex([datetime.fromtimestamp(b * bucket, UTC) for b in range(first, last + 1)],
                                 name="bucket")
        counts = np.zeros((len(index), len(STATES)), dtype=np.int64)
        for b, category, blocked, n in rows:
            position = int(b) - first
            state = "blocked" if blocked else str(category)
            if 0 <= position < len(index) and state in STATES:
                counts[position, STATES.index(state)] += int(n)
        frame = pd.DataFrame(counts, index=index, columns=list(STATES))
        for state in STATES:
            if state not in states:
                frame[state] = 0
        return frame

    def latest_flagged(self, *, minutes: float = 15, ip: str | None = None,
                       categories: Sequence[str] = ("anomaly", "warning"), limit: int = 20) -> pd.DataFrame:
        """The newest warning and anomaly requests with their reason codes, and for an address the model acted on,
        the features that were most unusual (from the decision's evidence)."""
        since = utcnow() - timedelta(minutes=minutes)
        statement = self._filtered(select(RequestLog.id, RequestLog.at, RequestLog.ip, RequestLog.method,
                                          RequestLog.path, RequestLog.query, RequestLog.status, RequestLog.category,
                                          RequestLog.anomaly_kind, RequestLog.reasons, RequestLog.model_score,
                                          RequestLog.blocked), since=since, ip=ip)
        statement = statement.where(col(RequestLog.category).in_(list(categories)))
        with self.engine.connect() as conn:
            rows = conn.execute(statement.order_by(col(RequestLog.id).desc()).limit(limit)).all()
        frame = pd.DataFrame(rows, columns=["id", "at", "ip", "method", "path", "query", "status", "category",
                                            "anomaly_kind", "reasons", "model_score", "blocked"])
        explanations = self.model_explanations({str(ip) for ip in frame["ip"]}) if len(frame) else {}
        frame["explanation"] = [explanations.get(str(ip), "") if any(str(r).startswith("model:") for r in reasons or [])
                                else "" for ip, reasons in zip(frame["ip"], frame["reasons"], strict=True)]
        frame["reasons"] = [", ".join(reasons or []) for reasons in frame["reasons"]]
        frame["at"] = [_aware(moment) for moment in frame["at"]]
        return frame

    def model_explanations(self, targets: set[str]) -> dict[str, str]:
        """``target -> "feature value (typical t, z z)"`` from the newest decision against it that has them."""
        if not targets:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(Decision.target, Decision.evidence)
                                .where(col(Decision.target).in_(sorted(targets)))
                                .order_by(col(Decision.id).desc()).limit(200)).all()
        found: dict[str, str] = {}
        for target, evidence in rows:
            parts = (evidence or {}).get("model_explanation") or []
            if target not in found and parts:
                found[target] = "; ".join(f"{p['feature']} {p['value']:g} (typical {p['typical']:g}, z {p['z']:+.1f})"
                                          for p in parts)
        return found

    def decisions(self, *, active: bool = True, ip: str | None = None, limit: int = 50) -> pd.DataFrame:
        """Actions newest first (only those neither undone nor expired when ``active``), notifications left out."""
        with Session(self.engine) as session:
            rows = operations.list_decisions(session=session, active=active, limit=limit * 4)
        rows = [d for d in rows if d.kind in ACTIVE_KINDS and (not ip or d.target == ip.strip())][:limit]
        return pd.DataFrame([{"id": d.id, "kind": d.kind, "target": d.target, "anomaly_kind": d.anomaly_kind,
                              "reason": d.reason, "offence": d.offence, "created_at": _aware(d.created_at),
                              "expires_at": _aware(d.expires_at), "undone_at": _aware(d.undone_at)} for d in rows],
                            columns=["id", "kind", "target", "anomaly_kind", "reason", "offence", "created_at",
                                     "expires_at", "undone_at"])

    def top_offenders(self, *, minutes: float = 15, limit: int = 10) -> pd.DataFrame:
        with Session(self.engine) as session:
            rows = operations.top_offenders(session=session, since=utcnow() - timedelta(minutes=minutes), limit=limit)
        return pd.DataFrame(rows, columns=["ip", "flagged", "blocked"])

    def simulation(self) -> dict[str, Any] | None:
        """The newest simulation run under ``runs_dir/simulations`` (the one running, if any): its status, how
        long it has run, and per client kind the requests sent so far and how many the shop refused."""
        if self.runs_dir is None:
            return None
        folders = sorted((p for p in (self.runs_dir / "simulations").glob("*/run.json")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        if not folders:
            return None
        run_file = folders[0]
        try:
            run = json.loads(run_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        kinds: dict[str, dict[str, int]] = {}
        truth = run_file.parent / "ground_truth.jsonl"
        if truth.is_file():
            with open(truth) as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # the line being written
                    stats = kinds.setdefault(row.get("kind") or "?", {"requests": 0, "refused": 0})
                    stats["requests"] += 1
                    stats["refused"] += bool(row.get("blocked"))
        started = run.get("started_at")
        return {"run_id": run.get("run_id", run_file.parent.name), "status": run.get("status", "?"),
                "started_at": started, "ended_at": run.get("ended_at"),
                "duration_s": (run.get("scenario") or {}).get("duration_s"), "kinds": kinds}

    # --- acting ------------------------------------------------------------------------------------------------

    def _operator_id(self, session: Session) -> int | None:
        return session.exec(select(User.id).where(User.email == self.operator_email)).scalars().first()

    def undo(self, decision_id: int) -> Decision:
        """Undo an action as the configured operator; the running shop drops the block at its next refresh."""
        with Session(self.engine, expire_on_commit=False) as session:
            return operations.undo_decision(session=session, decision_id=int(decision_id),
                                            operator_id=self._operator_id(session), monitor=None)

    def allow(self, network: str, note: str = "from the monitoring dashboard"):
        """Put an address or network on the allowlist (never blocked from then on)."""
        network = (network or "").strip()
        if not network:
            raise ValueError("which address or network? expected an IP such as 203.0.113.7 or a network such as "
                             "203.0.113.0/24")
        parse_networks([network])  # a clear ValueError for anything else
        with Session(self.engine, expire_on_commit=False) as session:
            return operations.add_allowlist(session=session, network=network, note=note,
                                            operator_id=self._operator_id(session), monitor=None)


# --- figures -------------------------------------------------------------------------------------------------------


def requests_figure_png(frame: pd.DataFrame, *, title: str, bucket_seconds: int) -> bytes:
    """Stacked bars of requests per second by state, as PNG bytes (matplotlib's Agg, no display needed)."""
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.2), dpi=96)
    axis = figure.subplots()
    x = frame.index.tz_convert("UTC").tz_localize(None) if len(frame) else frame.index
    width = bucket_seconds / 86_400 * 0.9
    bottom = np.zeros(len(frame))
    for state in STATES:
        values = frame[state].to_numpy() / bucket_seconds
        axis.bar(x, values, width=width, bottom=bottom, color=COLOURS[state], label=state, align="edge")
        bottom += values
    axis.set_ylabel("requests per second")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="upper left", ncol=4, fontsize=8, framealpha=0.8)
    axis.grid(axis="y", alpha=0.3)
    axis.xaxis.set_major_formatter(DateFormatter("%H:%M:%S" if bucket_seconds < 60 else "%d %b %H:%M"))
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def html_table(frame: pd.DataFrame, *, empty: str, css_class: str) -> str:
    """A small escaped HTML table (what the dashboard shows), or ``empty`` in a paragraph."""
    if frame.empty:
        return f'<p class="{css_class} unseen-empty">{html.escape(empty)}</p>'
    cell = 'style="padding:2px 10px 2px 0;text-align:left;vertical-align:top"'
    head = "".join(f"<th {cell}>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f'<table class="{css_class}" style="border-collapse:collapse;font-size:12px">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return f"{_aware(value):%H:%M:%S}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# --- the widgets ---------------------------------------------------------------------------------------------------


class MonitoringDashboard:
    """Controls, figure and tables of the monitoring dashboard, refreshed in place every ``refresh_s`` seconds.

    Display :attr:`view` in a notebook and call :meth:`start`: an asyncio task on the kernel's loop re-reads the
    database and updates the widgets, so the page never reloads. Every refresh stamps the status line with its
    count and time (``data-tick``, ``data-at``), which the browser tests and the benchmark read.
    """

    def __init__(self, data: MonitoringData, *, refresh_s: float = 1.5):
        import ipywidgets as w

        self.data = data
        self.refresh_s = float(refresh_s)
        self.ticks = 0
        self._task: asyncio.Task | None = None
        self._decision_ids: tuple | None = None  # what the rows show; None: rebuild them
        self.range = w.Dropdown(options=list(RANGES), value="last 15 minutes", description="Time")
        self.states = w.SelectMultiple(options=list(STATES), value=list(STATES), description="Show", rows=4)
        self.ip = w.Text(placeholder="all addresses", description="IP", continuous_update=False)
        self.paused = w.ToggleButton(value=False, description="Pause", icon="pause")
        self.status = w.HTML()
        self.status.add_class("unseen-status")
        self.totals = w.HTML()
        self.totals.add_class("unseen-totals")
        self.chart = w.Image(format="png")
        self.chart.add_class("unseen-requests-chart")
        self.flagged = w.HTML()
        self.flagged.add_class("unseen-flagged")
        self.decision_rows = w.VBox()
        self.decision_rows.add_class("unseen-decisions")
        self.offenders = w.HTML()
        self.offenders.add_class("unseen-offenders")
        self.simulation_view = w.HTML()
        self.simulation_view.add_class("unseen-simulation")
        self.allow_input = w.Text(placeholder="203.0.113.7 or 203.0.113.0/24", description="Allowlist")
        self.allow_button = w.Button(description="Add", button_style="info")
        self.allow_button.add_class("unseen-allow-add")
        self.message = w.HTML()
        self.message.add_class("unseen-message")
        self.allow_button.on_click(lambda _b: self._allow(self.allow_input.value))
        for control in (self.range, self.states, self.ip):
            control.observe(lambda _change: self.refresh(), names="value")
        heading = w.HTML
        self.view = w.VBox([
            w.HBox([self.range, self.states, w.VBox([self.ip, self.paused])]),
            self.status, self.totals, self.chart,
            w.HBox([w.VBox([heading("<h3>Active decisions</h3>"), self.decision_rows,
                            w.HBox([self.allow_input, self.allow_button]), self.message],
                           layout=w.Layout(width="60%")),
                    w.VBox([heading("<h3>Top offending addresses</h3>"), self.offenders,
                            heading("<h3>Simulation</h3>"), self.simulation_view], layout=w.Layout(width="40%"))]),
            heading("<h3>Latest anomalies and warnings</h3>"), self.flagged,
        ])

    # --- one refresh ---------------------------------------------------------------------------------------------

    @property
    def minutes(self) -> float:
        return float(RANGES[self.range.value])

    def refresh(self) -> None:
        """Re-read everything and update the widgets; a failure is shown in the status line, never raised."""
        started = time.perf_counter()
        ip = self.ip.value.strip() or None
        try:
            bucket = _bucket_seconds(self.minutes)
            frame = self.data.requests_over_time(minutes=self.minutes, ip=ip, states=self.states.value,
                                                 bucket_seconds=bucket)
            totals = frame.sum()
            self.totals.value = " · ".join(
                f'<span class="unseen-total" data-state="{s}" style="color:{COLOURS[s] if s != "normal" else "#3182bd"}">'
                f"<b>{s}</b> {int(totals[s]):,}</span>" for s in STATES)
            title = f"Requests per second, {self.range.value}" + (f", {ip}" if ip else "")
            self.chart.value = requests_figure_png(frame, title=title, bucket_seconds=bucket)
            flagged = self.data.latest_flagged(minutes=self.minutes, ip=ip,
                                               categories=[s for s in ("anomaly", "warning") if s in self.states.value])
            self.flagged.value = html_table(
                flagged[["at", "ip", "method", "path", "status", "category", "anomaly_kind", "reasons", "explanation"]],
                empty="No warnings or anomalies in this range.", css_class="unseen-flagged-table")
            self._show_decisions(self.data.decisions(active=True, ip=ip))
            self.offenders.value = html_table(self.data.top_offenders(minutes=self.minutes),
                                              empty="No flagged address in this range.", css_class="unseen-offenders-table")
            self.simulation_view.value = self._simulation_html(self.data.simulation())
        except Exception as exc:  # a dashboard that stops refreshing is worse than one that says why
            log.exception("monitoring dashboard refresh failed")
            self.status.value = f'<span class="unseen-error" style="color:#e6550d">Refresh failed: ' \
                                f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"
            return
        self.ticks += 1
        now = time.time()
        self.status.value = (f'<span class="unseen-refreshed" data-tick="{self.ticks}" data-at="{now:.3f}">'
                             f"updated {datetime.now(UTC):%H:%M:%S} UTC (every {self.refresh_s:g} s; "
                             f"{(time.perf_counter() - started) * 1000:.0f} ms)</span>")

    def _show_decisions(self, decisions: pd.DataFrame) -> None:
        import ipywidgets as w

        ids = tuple(decisions["id"])
        if ids == self._decision_ids:
            return
        rows = []
        for d in decisions.itertuples(index=False):
            expires = f", until {d.expires_at:%H:%M:%S}" if d.expires_at is not None and pd.notna(d.expires_at) else ""
            target, kind = html.escape(_cell(d.target)), html.escape(_cell(d.kind))
            label = w.HTML(f'<span class="unseen-decision" data-id="{d.id}" data-kind="{kind}" '
                           f'data-target="{target}"><b>{kind}</b> <code>{target}</code> '
                           f"{html.escape(_cell(d.anomaly_kind))} (offence {d.offence}{expires}): "
                           f"{html.escape(_cell(d.reason)[:120])}</span>",
                           layout=w.Layout(width="70%"))
            undo = w.Button(description="Undo", button_style="warning", layout=w.Layout(width="70px"))
            undo.add_class("unseen-undo")
            undo.on_click(lambda _b, decision_id=d.id: self._undo(decision_id))
            buttons = [undo]
            if d.kind == "block_ip":
                allow = w.Button(description="Allowlist", layout=w.Layout(width="90px"))
                allow.add_class("unseen-allow")
                allow.on_click(lambda _b, target=d.target: self._allow(target))
                buttons.append(allow)
            row = w.HBox([label, *buttons])
            row.add_class("unseen-decision-row")
            rows.append(row)
        if not rows:
            rows = [w.HTML('<p class="unseen-empty">No active decision.</p>')]
        self.decision_rows.children = rows
        self._decision_ids = ids

    @staticmethod
    def _simulation_html(simulation: dict[str, Any] | None) -> str:
        if simulation is None:
            return '<p class="unseen-empty">No simulation run found (start one with <code>unseen simulate</code>).</p>'
        kinds = pd.DataFrame([{"kind": kind, **stats} for kind, stats in sorted(simulation["kinds"].items())],
                             columns=["kind", "requests", "refused"])
        state = html.escape(str(simulation["status"]))
        header = (f'<p class="unseen-simulation-status" data-status="{state}">run <code>'
                  f'{html.escape(str(simulation["run_id"]))}</code>: <b>{state}</b>, started '
                  f'{html.escape(str(simulation["started_at"] or "-"))}</p>')
        return header + html_table(kinds, empty="No request sent yet.", css_class="unseen-simulation-table")

    def _undo(self, decision_id: int) -> None:
        try:
            decision = self.data.undo(decision_id)
        except (NotFound, Conflict) as exc:
            self.message.value = f'<span style="color:#e6550d">{html.escape(str(exc))}</span>'
        else:
            self.message.value = (f'<span class="unseen-undone" data-id="{decision.id}">Undone: {decision.kind} '
                                  f"<code>{html.escape(decision.target)}</code> (the shop drops it within its "
                                  "refresh, about 2 s).</span>")
        self._decision_ids = None
        self.refresh()

    def _allow(self, network: str) -> None:
        try:
            entry = self.data.allow(network)
        except (ValueError, Conflict) as exc:
            self.message.value = f'<span style="color:#e6550d">Not added: {html.escape(str(exc))}</span>'
        else:
            self.message.value = (f'<span class="unseen-allowed">Allowlisted <code>{html.escape(entry.network)}'
                                  "</code>: never blocked from now on (undo its active block too).</span>")
            self.allow_input.value = ""

    # --- the loop ------------------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        # A fixed rate, not a fixed pause: the next refresh is due refresh_s after the last one started, so the
        # period the operator sees stays refresh_s however long the queries take (a slow one is not caught up).
        due = time.monotonic()
        while True:
            if not self.paused.value:
                self.refresh()
            due = max(due + self.refresh_s, time.monotonic())
            await asyncio.sleep(due - time.monotonic())

    def start(self) -> asyncio.Task:
        """Refresh now and then every ``refresh_s`` seconds on the kernel's event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._loop())
        return self._task

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def from_settings(settings=None) -> MonitoringDashboard:
    """The dashboard on the configured database (``UNSEEN_DATABASE_URL``), refreshing as the settings say."""
    from unseen.config import Settings
    from unseen.db import make_engine

    settings = settings or Settings()
    data = MonitoringData(make_engine(settings.resolved_database_url), operator_email=settings.operator_email,
                          runs_dir=settings.runs_dir)
    return MonitoringDashboard(data, refresh_s=settings.dashboard_refresh_seconds)
