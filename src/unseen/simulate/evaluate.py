"""``unseen evaluate detection RUN``: how well the shop's monitor caught a simulated run, per attack kind.

The simulator's ground truth (``ground_truth.jsonl``) is joined with what the shop recorded: every request with its
``request_log`` row (same simulated address, method, path, query and status, the row's arrival time within the
request's round trip), and every ``decision`` with the clients it was against (an address, a session the log saw
the client in, or an account the client used or targeted).

Per attack kind the report gives:

``recall``
    flagged requests of the kind / its requests, where flagged means the log categorised the request ``warning`` or
    ``anomaly``, or refused it as blocked; ``malicious_recall`` counts only the requests that are the attack itself.
``precision``
    flagged requests of the kind / (those + flagged shopper requests): the kind against the normal traffic.
``time_to_first_action_s``, ``requests_before_action``, ``malicious_before_action``
    from the kind's first request to the first decision against any of its clients, and how many of its requests
    (and of those, how many were the attack itself) were sent before that decision.
``served_after_block``
    requests the kind's clients sent after their first block (IP block or ended session) that the shop still
    served, i.e. did not refuse as blocked (or, for an ended session, with 401).

For shoppers: how many were blocked (or refused at least once), how many of their requests were refused, the
false-positive rate (shopper requests categorised warning or anomaly / shopper requests) and its parts: the rules'
(flagged with a rule's reason code) and the anomaly model's (flagged with a ``model:`` reason).

IP blocks still in force when the run starts (a replay on the same database) count as actions at the run's start;
``blocked_before_run`` says how many clients met one.
The join itself is reported too: every request sent should have exactly one log row (``unmatched_*`` = 0).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.tables import Decision, RequestLog

GROUND_TRUTH_FILE = "ground_truth.jsonl"
RUN_FILE = "run.json"
REPORT_JSON = "detection.json"
REPORT_CSV = "detection.csv"
FLAGGED = ("warning", "anomaly")
MODEL_REASON = "model:"
"""Reason codes of the anomaly model start with this; the others are the rules'."""
BLOCKING = ("block_ip", "terminate_session")
_KEY = ["ip", "method", "path", "query"]


@dataclass
class KindDetection:
    kind: str
    clients: int = 0
    """Clients the run had of this kind (from ``run.json``), including any that never got to send a request."""
    clients_with_requests: int = 0
    requests: int = 0
    malicious_requests: int = 0
    flagged: int = 0
    flagged_warning: int = 0
    flagged_anomaly: int = 0
    refused: int = 0
    recall: float | None = None
    malicious_recall: float | None = None
    precision: float | None = None
    first_request_at: str | None = None
    first_action_at: str | None = None
    first_action: str | None = None
    time_to_first_action_s: float | None = None
    requests_before_action: int | None = None
    malicious_before_action: int | None = None
    time_to_first_refusal_s: float | None = None
    clients_acted_on: int = 0
    clients_blocked: int = 0
    time_to_all_blocked_s: float | None = None
    served_after_block: int = 0
    flagged_by_model: int = 0
    """Requests the anomaly model had a part in flagging (a ``model:`` reason)."""
    blocked_before_run: int = 0
    """Clients whose address was still blocked from before the run (a replay on the same database)."""
    decisions: dict[str, int] = field(default_factory=dict)
    anomaly_kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class ShopperImpact:
    shoppers: int = 0
    shoppers_with_requests: int = 0
    shoppers_blocked: int = 0
    shoppers_refused: int = 0
    shoppers_flagged: int = 0
    requests: int = 0
    requests_refused: int = 0
    flagged: int = 0
    flagged_warning: int = 0
    flagged_anomaly: int = 0
    false_positive_rate: float | None = None
    flagged_by_rules: int = 0
    rule_false_positive_rate: float | None = None
    """Shopper requests flagged with a rule's reason among the reasons / shopper requests."""
    flagged_by_model: int = 0
    blocked_before_run: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    false_positive_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class JoinStats:
    ground_truth_requests: int = 0
    log_rows: int = 0
    matched: int = 0
    unmatched_ground_truth: int = 0
    unmatched_log_rows: int = 0
    transport_errors: int = 0
    unmatched_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class DetectionReport:
    run_id: str
    run_dir: str
    evaluated_at: str
    started_at: str
    ended_at: str
    attacks: list[KindDetection]
    all_attacks: KindDetection
    shoppers: ShopperImpact
    join: JoinStats
    decisions_elsewhere: int = 0
    """Decisions in the run's window against targets that none of its clients had."""

    def to_dict(self) -> dict:
        return asdict(self)

    def rows(self) -> list[dict]:
        """One flat row per attack kind, one for all attacks, one for shoppers (for CSV and data frames)."""
        rows = [{"role": "attacker", **asdict(k)} for k in (*self.attacks, self.all_attacks)]
        rows.append({"role": "shopper", "kind": "shopper", **asdict(self.shoppers)})
        for row in rows:
            row["run_id"] = self.run_id
            for key, value in row.items():
                if isinstance(value, dict):
                    row[key] = json.dumps(value, sort_keys=True)
        return rows


# --- loading ----------------------------------------------------------------------------------------------------


def _epoch(values: pd.Series) -> pd.Series:
    """Seconds since the epoch; naive datetimes (SQLite) are UTC."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601") if values.dtype == object else \
        pd.to_datetime(values, utc=True)
    return (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)


def _iso(moment: float | None) -> str | None:
    return None if moment is None or pd.isna(moment) else \
        datetime.fromtimestamp(float(moment), UTC).isoformat(timespec="milliseconds")


def load_run(run_dir: Path) -> tuple[dict, pd.DataFrame]:
    """``run.json`` and the ground truth (with ``sent`` and ``received`` as epoch seconds)."""
    run_dir = Path(run_dir)
    truth_path = run_dir / GROUND_TRUTH_FILE
    if not truth_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a simulation run: it has no {GROUND_TRUTH_FILE} "
                                "(expected a folder made by `unseen simulate`, such as runs/simulations/<run-id>)")
    run = json.loads((run_dir / RUN_FILE).read_text()) if (run_dir / RUN_FILE).is_file() else {}
    truth = pd.read_json(truth_path, lines=True, dtype={"query": str, "path": str, "session": str, "account": str})
    if truth.empty:
        raise ValueError(f"the ground truth of {run_dir} is empty: the run sent no request")
    truth["query"] = truth["query"].fillna("").astype(str).str.slice(0, 1000)
    truth["path"] = truth["path"].astype(str).str.slice(0, 500)
    truth["sent"], truth["received"] = _epoch(truth["sent_at"]), _epoch(truth["received_at"])
    truth["status"] = truth["status"].astype("Int64")
    return run, truth


def load_request_log(engine: Engine, start: float, end: float) -> pd.DataFrame:
    bounds = [datetime.fromtimestamp(t, UTC) for t in (start, end)]
    columns = [RequestLog.id, RequestLog.at, RequestLog.ip, RequestLog.method, RequestLog.path, RequestLog.query,
               RequestLog.status, RequestLog.user_id, RequestLog.session_id, RequestLog.category,
               RequestLog.anomaly_kind, RequestLog.reasons, RequestLog.blocked]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(RequestLog.at >= bounds[0], RequestLog.at <= bounds[1])
                            .order_by(RequestLog.id)).all()
    log = pd.DataFrame(rows, columns=[c.key for c in columns])
    log["t"] = _epoch(log["at"]) if len(log) else pd.Series(dtype=float)
    log["status"] = log["status"].astype("Int64")
    log["query"] = log["query"].fillna("")
    return log


def load_decisions(engine: Engine, start: float, end: float) -> pd.DataFrame:
    """Decisions made from ``start`` to ``end``, and before them the IP blocks still in force at ``start`` (a run
    replayed on the same database meets the attackers of the run before still blocked): those have ``t = start``
    and ``before_run`` set."""
    bounds = [datetime.fromtimestamp(t, UTC) for t in (start, end)]
    columns = [Decision.id, Decision.kind, Decision.target, Decision.anomaly_kind, Decision.created_at,
               Decision.expires_at, Decision.undone_at]
    with engine.connect() as conn:
        earlier = conn.execute(select(*columns).where(
            Decision.kind == "block_ip", Decision.created_at < bounds[0],
            (Decision.expires_at.is_(None)) | (Decision.expires_at > bounds[0]),
            (Decision.undone_at.is_(None)) | (Decision.undone_at > bounds[0])).order_by(Decision.id)).all()
        rows = conn.execute(select(*columns).where(Decision.created_at >= bounds[0], Decision.created_at <= bounds[1])
                            .order_by(Decision.created_at, Decision.id)).all()
    names = [c.key for c in columns]
    before = pd.DataFrame(earlier, columns=names).assign(t=start, before_run=True)
    during = pd.DataFrame(rows, columns=names)
    during["t"] = _epoch(during["created_at"]) if len(during) else pd.Series(dtype=float)
    during["before_run"] = False
    return pd.concat([before, during], ignore_index=True) if len(before) else during


# --- the join ---------------------------------------------------------------------------------------------------


def match_requests(truth: pd.DataFrame, log: pd.DataFrame, tolerance_s: float = 2.0) -> np.ndarray:
    """For each ground-truth row, the position of its log row in ``log`` (-1 when none), one to one.

    Requests of one client with the same method, path, query and status are told apart by time: each takes the
    earliest unused log row that arrived within its round trip (widened by ``tolerance_s``). A second pass without
    the status pairs requests whose answer the simulator never saw (a transport error).
    """
    matched = np.full(len(truth), -1)
    used = np.zeros(len(log), dtype=bool)
    if not len(truth) or not len(log):
        return matched
    for keys in (_KEY + ["status"], _KEY):
        left = truth.iloc[np.flatnonzero(matched < 0)].assign(_pos=np.flatnonzero(matched < 0))
        right = log.iloc[np.flatnonzero(~used)].assign(_pos=np.flatnonzero(~used))
        candidates = {key: group.sort_values("t") for key, group in right.groupby(keys, dropna=True)}
        for key, group in left.groupby(keys, dropna=True):
            rows = candidates.get(key)
            if rows is None:
                continue
            times, positions = rows["t"].to_numpy(), rows["_pos"].to_numpy()
            taken = used[positions].copy()
            j = 0
            for pos, sent, received in group.sort_values("sent")[["_pos", "sent", "received"]].itertuples(index=False):
                while j < len(times) and (taken[j] or times[j] < sent - tolerance_s):
                    j += 1
                if j < len(times) and times[j] <= received + tolerance_s:
                    matched[pos] = positions[j]
                    used[positions[j]] = taken[j] = True
                    j += 1
    return matched


# --- the report ---------------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _client_targets(truth: pd.DataFrame) -> dict[str, set[str]]:
    """Decision target -> the clients it concerns: their addresses, server sessions and accounts."""
    targets: dict[str, set[str]] = {}
    for column, lower in (("ip", False), ("server_session", False), ("account", True)):
        values = truth[["client_id", column]].dropna().drop_duplicates()
        for client, value in values.itertuples(index=False):
            key = str(value).lower() if lower else str(value)
            targets.setdefault(key, set()).add(client)
    return targets


def evaluate_run(run_dir: Path, engine: Engine, *, tolerance_s: float = 2.0, grace_s: float = 30.0,
                 write: bool = True) -> DetectionReport:
    """Join the run's ground truth with the request log and decisions in ``engine``; write the report files.

    Parameters
    ----------
    run_dir : Path
        A folder written by ``unseen simulate`` (``run.json`` and ``ground_truth.jsonl``).
    engine : Engine
        The shop's database, holding ``request_log`` and ``decision``.
    tolerance_s : float
        Slack between the simulator's clock and the log's arrival time when pairing requests.
    grace_s : float
        How long after the run's end decisions still count (the monitor judges off the request path).
    write : bool
        Write ``detection.json`` and ``detection.csv`` into ``run_dir``.
    """
    run_dir = Path(run_dir)
    run, truth = load_run(run_dir)
    start = float(truth["sent"].min())
    end = float(truth["received"].max())
    log = load_request_log(engine, start - 5.0, end + grace_s)
    log = log[log["ip"].isin(set(truth["ip"]))].reset_index(drop=True)
    decisions = load_decisions(engine, start - 1.0, end + grace_s)
    blocked_before = set()

    matched = match_requests(truth, log, tolerance_s)
    hit = matched >= 0
    for column in ("category", "anomaly_kind", "session_id", "reasons", "blocked"):
        values = np.full(len(truth), None, dtype=object)
        values[hit] = log[column].to_numpy()[matched[hit]]
        truth["log_" + column] = values
    truth["server_session"] = [None if s is None or pd.isna(s) else str(int(s)) for s in truth["log_session_id"]]
    truth["flagged"] = truth["log_category"].isin(FLAGGED) | (truth["log_blocked"] == True)  # noqa: E712
    reasons = [r if isinstance(r, list) else [] for r in truth["log_reasons"]]
    from_model = np.array([any(x.startswith(MODEL_REASON) for x in r) for r in reasons], dtype=bool)
    from_rules = np.array([any(not x.startswith(MODEL_REASON) for x in r) for r in reasons], dtype=bool)
    category_flagged = truth["log_category"].isin(FLAGGED).to_numpy()
    truth["by_model"] = category_flagged & from_model
    truth["by_rules"] = category_flagged & from_rules
    truth["blocked"] = truth["blocked"].fillna(False).astype(bool)

    join = JoinStats(ground_truth_requests=len(truth), log_rows=len(log), matched=int(hit.sum()),
                     unmatched_ground_truth=int((~hit).sum()),
                     unmatched_log_rows=int(len(log) - hit.sum()), transport_errors=int(truth["status"].isna().sum()),
                     unmatched_by_kind=_counts(truth.loc[~hit, "kind"]))

    # Which clients each decision was against, and when each was first acted on and first blocked (decisions come
    # in time order, so the first one seen for a client is its earliest).
    targets = _client_targets(truth)
    first_decision: dict[str, tuple[float, str]] = {}
    blocked_at: dict[str, tuple[float, str]] = {}
    per_client_decisions: dict[str, Counter] = {}
    elsewhere = 0
    for kind, target, t, before_run in decisions[["kind", "target", "t", "before_run"]].itertuples(index=False):
        clients = targets.get(str(target), set()) | targets.get(str(target).lower(), set())
        elsewhere += not clients and not before_run
        for client in clients:
            if before_run:
                blocked_before.add(client)
            first_decision.setdefault(client, (t, kind))
            per_client_decisions.setdefault(client, Counter())[kind] += 1
            if kind in BLOCKING:
                blocked_at.setdefault(client, (t, kind))

    planned = Counter(client["kind"] for client in run.get("clients", []))
    shopper_rows = truth[truth["role"] == "shopper"]
    normal_flagged = int(shopper_rows["flagged"].sum())
    attacker_rows = truth[truth["role"] == "attacker"]
    by_kind = dict(iter(attacker_rows.groupby("kind")))
    # An attack that never got to send a request still gets its row (an empty one).
    kinds = set(by_kind) | {a["kind"] for a in run.get("scenario", {}).get("attacks", [])}
    attacks = [_kind_report(kind, by_kind[kind], normal_flagged, first_decision, blocked_at, per_client_decisions,
                            planned.get(kind), blocked_before) if kind in by_kind
               else KindDetection(kind, clients=planned.get(kind, 0)) for kind in sorted(kinds)]
    everything = _kind_report("all_attacks", attacker_rows, normal_flagged, first_decision, blocked_at,
                              per_client_decisions, sum(k.clients for k in attacks), blocked_before) \
        if len(attacker_rows) else KindDetection("all_attacks")
    for name in ("first_request_at", "first_action_at", "first_action", "time_to_first_action_s",
                 "requests_before_action", "malicious_before_action", "time_to_first_refusal_s",
                 "time_to_all_blocked_s"):
        setattr(everything, name, None)

    shoppers = _shopper_report(shopper_rows, first_decision, blocked_at, per_client_decisions, planned.get("shopper"),
                               blocked_before)
    report = DetectionReport(
        run_id=run.get("run_id", run_dir.name), run_dir=str(run_dir),
        evaluated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        started_at=run.get("started_at") or _iso(start), ended_at=run.get("ended_at") or _iso(end),
        attacks=attacks, all_attacks=everything, shoppers=shoppers, join=join, decisions_elsewhere=elsewhere)
    if write:
        write_report(report, run_dir)
    return report


def _kind_report(kind: str, rows: pd.DataFrame, normal_flagged: int, first_decision: dict, blocked_at: dict,
                 per_client_decisions: dict, planned: int | None, blocked_before: set[str]) -> KindDetection:
    clients = sorted(rows["client_id"].unique())
    malicious = rows["malicious"].fillna(False).astype(bool)
    flagged = int(rows["flagged"].sum())
    first_request = float(rows["sent"].min())
    category = rows["log_category"]
    report = KindDetection(
        kind=kind, clients=max(planned or 0, len(clients)), clients_with_requests=len(clients), requests=len(rows),
        malicious_requests=int(malicious.sum()), flagged=flagged, flagged_warning=int((category == "warning").sum()),
        flagged_anomaly=int((category == "anomaly").sum()), refused=int(rows["blocked"].sum()),
        recall=_ratio(flagged, len(rows)),
        malicious_recall=_ratio(int(rows.loc[malicious, "flagged"].sum()), int(malicious.sum())),
        precision=_ratio(flagged, flagged + normal_flagged), first_request_at=_iso(first_request),
        anomaly_kinds=_counts(rows.loc[rows["flagged"], "log_anomaly_kind"].dropna()),
        flagged_by_model=int(rows["by_model"].sum()), blocked_before_run=sum(c in blocked_before for c in clients))

    firsts = [first_decision[c] for c in clients if c in first_decision]
    if firsts:
        at, action = min(firsts)
        before = rows["sent"] < at
        report.first_action_at, report.first_action = _iso(at), action
        report.time_to_first_action_s = round(max(at - first_request, 0.0), 3)
        report.requests_before_action = int(before.sum())
        report.malicious_before_action = int((before & malicious).sum())
    refusals = rows.loc[rows["blocked"], "sent"]
    if len(refusals):
        report.time_to_first_refusal_s = round(float(refusals.min()) - first_request, 3)
    report.clients_acted_on = len(firsts)
    report.clients_blocked = sum(c in blocked_at for c in clients)
    if clients and report.clients_blocked == report.clients:
        report.time_to_all_blocked_s = round(max(blocked_at[c][0] for c in clients) - first_request, 3)

    decisions: Counter = Counter()
    for client in clients:
        decisions.update(per_client_decisions.get(client, {}))
        if client in blocked_at:
            at, action = blocked_at[client]
            after = rows[(rows["client_id"] == client) & (rows["sent"] > at)]
            # An ended session answers 401: refused too, unless the client logs in again (then it is served).
            ended = (after["status"] == 401).fillna(False) & (action == "terminate_session")
            report.served_after_block += int((~(after["blocked"] | ended)).sum())
    report.decisions = dict(sorted(decisions.items()))
    return report


def _shopper_report(rows: pd.DataFrame, first_decision: dict, blocked_at: dict, per_client_decisions: dict,
                    planned: int | None, blocked_before: set[str]) -> ShopperImpact:
    clients = set(rows["client_id"].unique())
    flagged = rows[rows["flagged"]]
    decisions: Counter = Counter()
    for client in clients:
        decisions.update(per_client_decisions.get(client, {}))
    reasons = Counter(reason for found in flagged["log_reasons"] if isinstance(found, list) for reason in found)
    return ShopperImpact(
        shoppers=max(planned or 0, len(clients)), shoppers_with_requests=len(clients),
        shoppers_blocked=sum(c in blocked_at for c in clients),
        shoppers_refused=int(rows.loc[rows["blocked"], "client_id"].nunique()),
        shoppers_flagged=sum(c in first_decision for c in clients), requests=len(rows),
        requests_refused=int(rows["blocked"].sum()), flagged=len(flagged),
        flagged_warning=int((rows["log_category"] == "warning").sum()),
        flagged_anomaly=int((rows["log_category"] == "anomaly").sum()),
        false_positive_rate=_ratio(len(flagged), len(rows)),
        flagged_by_rules=int(rows["by_rules"].sum()), rule_false_positive_rate=_ratio(int(rows["by_rules"].sum()),
                                                                                      len(rows)),
        flagged_by_model=int(rows["by_model"].sum()), blocked_before_run=sum(c in blocked_before for c in clients),
        decisions=dict(sorted(decisions.items())),
        false_positive_reasons=dict(reasons.most_common(20)))


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().items()}


def write_report(report: DetectionReport, run_dir: Path) -> tuple[Path, Path]:
    run_dir = Path(run_dir)
    json_path, csv_path = run_dir / REPORT_JSON, run_dir / REPORT_CSV
    json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    pd.DataFrame(report.rows()).convert_dtypes().to_csv(csv_path, index=False)
    return json_path, csv_path


def run_database_url(run_dir: Path) -> str | None:
    """The database a run's shop used, from ``run.json``, unless its password was hidden there."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    url = json.loads(path.read_text()).get("database_url")
    return url if url and "***" not in url else None


def _f(value: float | None, digits: int = 3, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}%}" if percent else f"{value:.{digits}f}"


def detection_table(report: DetectionReport) -> Table:
    """The report on one screen: a row per attack kind, then all attacks, then the shoppers."""
    table = Table(title=f"unseen evaluate detection {report.run_id}")
    table.add_column("kind")
    for column in ("clients", "requests", "recall", "precision", "first action (s)", "requests before",
                   "malicious before", "clients blocked", "served after block"):
        table.add_column(column, justify="right")
    for k in (*report.attacks, report.all_attacks):
        table.add_row(k.kind, f"{k.clients:,}", f"{k.requests:,}", _f(k.recall), _f(k.precision),
                      _f(k.time_to_first_action_s, 2), *("-" if v is None else f"{v:,}" for v in
                                                         (k.requests_before_action, k.malicious_before_action)),
                      f"{k.clients_blocked}/{k.clients}", f"{k.served_after_block:,}",
                      end_section=k is report.attacks[-1] if report.attacks else False)
    s = report.shoppers
    table.add_row("shopper", f"{s.shoppers:,}", f"{s.requests:,}", "-", "-", "-", "-", "-",
                  f"{s.shoppers_blocked}/{s.shoppers}", "-")
    j = report.join
    table.caption = (f"shopper requests flagged {s.flagged:,} (false-positive rate "
                     f"{_f(s.false_positive_rate, 3, True)}; by rules {s.flagged_by_rules:,}, "
                     f"{_f(s.rule_false_positive_rate, 3, True)}; by the model {s.flagged_by_model:,}), refused "
                     f"{s.requests_refused:,}; join: {j.matched:,} of "
                     f"{j.ground_truth_requests:,} requests matched, {j.unmatched_ground_truth} unmatched, "
                     f"{j.unmatched_log_rows} log rows unmatched")
    return table

