"""``unseen evaluate logins RUN``: how well the login-risk models tell takeovers from legitimate logins.

The simulator's ground truth (``logins.jsonl``) is joined with the shop's ``login_attempt`` rows (same e-mail and
address, recorded within the request's round trip), which carry both models' risk scores. Across thresholds the
report gives the share of takeover attempts challenged against the share of legitimate logins challenged (the
curve of Freeman et al.), per model; at the shop's configured step-up threshold, the share challenged per kind
(habitual, traveller, new device, takeover); and what the shop actually answered (``step_up_required``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.logins.model import thresholds_table
from unseen.tables import LoginAttempt

TRUTH_FILE = "logins.jsonl"
REPORT_JSON = "logins.json"
THRESHOLDS_CSV = "login_thresholds.csv"
CURVE_SVG = "login_curve.svg"
MODELS = {"frequency": "risk", "one_class_svm": "svm_risk"}


@dataclass
class LoginReport:
    run_id: str
    evaluated_at: str
    step_up_threshold: float
    logins: int
    matched: int
    by_kind: dict[str, dict] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)


def _load_truth(run_dir: Path) -> pd.DataFrame:
    path = Path(run_dir) / TRUTH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a login simulation: it has no {TRUTH_FILE} (expected a folder "
                                "made by `unseen simulate-logins`, such as runs/logins/<run-id>)")
    truth = pd.read_json(path, lines=True, dtype={"ip": str, "email": str})
    if truth.empty:
        raise ValueError(f"the ground truth of {run_dir} is empty")
    truth["sent"] = pd.to_datetime(truth["sent_at"], utc=True, format="ISO8601")
    truth["received"] = pd.to_datetime(truth["received_at"], utc=True, format="ISO8601")
    return truth


def _attempts(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    columns = [LoginAttempt.id, LoginAttempt.at, LoginAttempt.email, LoginAttempt.ip, LoginAttempt.success,
               LoginAttempt.risk, LoginAttempt.svm_risk, LoginAttempt.action, LoginAttempt.new_features,
               LoginAttempt.cold_start]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(LoginAttempt.at >= start, LoginAttempt.at <= end,
                                                   LoginAttempt.source == "live")).all()
    frame = pd.DataFrame(rows, columns=[c.key for c in columns])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _join(truth: pd.DataFrame, attempts: pd.DataFrame, slack: timedelta = timedelta(seconds=2)) -> pd.DataFrame:
    used: set[int] = set()
    picked = []
    groups = {key: group.sort_values("at") for key, group in attempts.groupby(["email", "ip"])}
    for row in truth.itertuples():
        group = groups.get((row.email, row.ip))
        found = None
        if group is not None:
            for attempt in group.itertuples():
                if attempt.id not in used and row.sent - slack <= attempt.at <= row.received + slack:
                    found = attempt
                    used.add(attempt.id)
                    break
        picked.append({"attempt_id": None if found is None else found.id,
                       "risk": None if found is None else found.risk,
                       "svm_risk": None if found is None else found.svm_risk,
                       "action": None if found is None else found.action,
                       "new_features": None if found is None else found.new_features})
    return pd.concat([truth.reset_index(drop=True), pd.DataFrame(picked)], axis=1)


def evaluate_logins(run_dir: Path, engine: Engine, *, step_up_threshold: float, write: bool = True) -> LoginReport:
    """Join the run's ground truth with the recorded attempts and write the report files into ``run_dir``."""
    run_dir = Path(run_dir)
    truth = _load_truth(run_dir)
    attempts = _attempts(engine, truth["sent"].min().to_pydatetime() - timedelta(seconds=5),
                         truth["received"].max().to_pydatetime() + timedelta(seconds=5))
    joined = _join(truth, attempts)
    ok = joined[joined["status"] == 200]
    report = LoginReport(run_id=run_dir.name, evaluated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                         step_up_threshold=step_up_threshold, logins=len(joined),
                         matched=int(joined["attempt_id"].notna().sum()))
    for kind, rows in ok.groupby("kind"):
        risk = rows["risk"].astype(float)
        report.by_kind[str(kind)] = {
            "logins": len(rows), "median_risk": float(risk.median()),
            "challenged_at_threshold": float((risk >= step_up_threshold).mean()),
            "step_up_answered": float(rows["step_up_required"].fillna(False).astype(bool).mean()),
        }
    legit, takeover = ok[ok["legitimate"]], ok[ok["kind"] == "takeover"]
    for model, column in MODELS.items():
        a, b = legit[column].dropna().astype(float), takeover[column].dropna().astype(float)
        if not len(a) or not len(b):
            report.models[model] = {"scored": 0}
            continue
        table = thresholds_table(a.to_numpy(), b.to_numpy())
        best = max((r for r in table if r["legitimate_challenged"] <= 0.05), key=lambda r: r["takeover_challenged"],
                   default=None)
        report.models[model] = {
            "scored_legitimate": len(a), "scored_takeover": len(b), "auc": _auc(a.to_numpy(), b.to_numpy()),
            "best_at_5_percent": best, "table": table,
        }
    if write:
        _write(report, run_dir)
    return report


def _auc(legit: np.ndarray, takeover: np.ndarray) -> float:
    """Probability that a takeover scores above a legitimate login (ties count half)."""
    greater = (takeover[:, None] > legit[None, :]).mean()
    ties = (takeover[:, None] == legit[None, :]).mean()
    return float(greater + 0.5 * ties)


def _write(report: LoginReport, run_dir: Path) -> None:
    summary = {k: v for k, v in report.__dict__.items() if k != "models"}
    summary["models"] = {m: {k: v for k, v in d.items() if k != "table"} for m, d in report.models.items()}
    (run_dir / REPORT_JSON).write_text(json.dumps({**summary, "tables": {m: d.get("table", [])
                                                                          for m, d in report.models.items()}},
                                                  indent=2, default=str) + "\n")
    with open(run_dir / THRESHOLDS_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["model", "threshold", "takeover_challenged",
                                                    "legitimate_challenged"])
        writer.writeheader()
        for model, data in report.models.items():
            for row in data.get("table", []):
                writer.writerow({"model": model, **{k: row[k] for k in writer.fieldnames if k != "model"}})
    (run_dir / CURVE_SVG).write_text(curve_svg(report))


def curve_svg(report: LoginReport, width: int = 520, height: int = 400) -> str:
    """The share of takeovers challenged against the share of legitimate logins challenged, one line per model."""
    left, bottom, size_x, size_y = 60, height - 50, width - 90, height - 90
    colours = {"frequency": "#1f77b4", "one_class_svm": "#d62728"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left + size_x}" y2="{bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{bottom - size_y}" stroke="black"/>',
             f'<text x="{left + size_x / 2}" y="{height - 12}" text-anchor="middle">legitimate logins challenged</text>',
             f'<text x="16" y="{bottom - size_y / 2}" transform="rotate(-90 16 {bottom - size_y / 2})" '
             f'text-anchor="middle">takeover attempts challenged</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left + tick * size_x}" y="{bottom + 16}" text-anchor="middle">{tick:.2f}</text>')
        parts.append(f'<text x="{left - 6}" y="{bottom - tick * size_y + 4}" text-anchor="end">{tick:.2f}</text>')
    for i, (model, data) in enumerate(report.models.items()):
        table = data.get("table") or []
        if not table:
            continue
        points = sorted({(r["legitimate_challenged"], r["takeover_challenged"]) for r in table} | {(0.0, 0.0),
                                                                                                     (1.0, 1.0)})
        path = " ".join(f"{left + x * size_x:.1f},{bottom - y * size_y:.1f}" for x, y in points)
        colour = colours.get(model, "#555")
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.append(f'<text x="{left + size_x - 150}" y="{bottom - 20 - 16 * i}" fill="{colour}">'
                     f'{model} (AUC {data["auc"]:.3f})</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def login_table(report: LoginReport) -> Table:
    table = Table(title=f"unseen evaluate logins {report.run_id}: step-up threshold {report.step_up_threshold:g}")
    for column in ("kind", "logins", "median risk", "challenged at threshold", "shop asked for step-up"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in ("habitual", "traveller", "new_device", "takeover"):
        row = report.by_kind.get(kind)
        if row:
            table.add_row(kind, f"{row['logins']:,}", f"{row['median_risk']:.2f}",
                          f"{row['challenged_at_threshold']:.1%}", f"{row['step_up_answered']:.1%}")
    captions = []
    for model, data in report.models.items():
        best = data.get("best_at_5_percent")
        if best:
            captions.append(f"{model}: AUC {data['auc']:.3f}; at most 5% of legitimate logins challenged "
                            f"(threshold {best['threshold']:.2f}): {best['takeover_challenged']:.1%} of takeovers")
    table.caption = "\n".join(captions + [f"joined {report.matched} of {report.logins} logins"])
    return table
