"""Automatic actions per anomaly kind: block the IP (for a ban time that grows for repeat offenders), terminate or
flag the session, flag the targeted account, notify the operator. Each action is a ``Decision`` row, so the
dashboard can list it and an operator can undo it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlmodel import Session, col

from unseen.monitor.notifier import BatchingNotifier, Notification
from unseen.monitor.records import Category, RequestRecord
from unseen.monitor.service import Block, Monitor
from unseen.tables import Decision, UserSession, utcnow

log = logging.getLogger(__name__)

ACTION_KINDS = ("block_ip", "terminate_session", "flag_session", "flag_account", "notify")


class ActionPolicy(BaseModel):
    """Which actions each anomaly kind triggers, and how long bans last."""

    ban_seconds: float = Field(default=900, gt=0)
    """The first ban of an IP."""
    ban_growth: float = Field(default=4.0, ge=1)
    """Each further offence multiplies the ban (900 s, 1 h, 4 h, ...), as CrowdSec does for repeat offenders."""
    max_ban_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    actions: dict[str, list[str]] = Field(default_factory=lambda: {
        "flood": ["block_ip", "notify"],
        "password_guessing": ["block_ip", "flag_account", "notify"],
        "sql_injection": ["block_ip", "notify"],
        "xss": ["block_ip", "notify"],
        "path_traversal": ["block_ip", "notify"],
        "cart_spam": ["terminate_session", "notify"],
        "scraping": ["block_ip", "notify"],
        "probe": ["flag_session", "notify"],
        "model": ["flag_session"],
    })

    def ban_for(self, offence: int) -> timedelta:
        return timedelta(seconds=min(self.ban_seconds * self.ban_growth ** max(offence - 1, 0), self.max_ban_seconds))


class Actions:
    """Carries out the policy for judged records; called from the monitor's background thread.

    ``notifier`` (a :class:`~unseen.monitor.notifier.BatchingNotifier`) receives the operator notifications; it
    batches them, so an attack becomes one digest e-mail, not a storm. None sends nothing.
    """

    def __init__(self, policy: ActionPolicy, *, notifier: BatchingNotifier | None = None):
        self.policy = policy
        self.notifier = notifier
        self.taken = 0
        self._terminations: dict[str, int] = {}  # sessions terminated per IP in this process

    def __call__(self, record: RequestRecord, monitor: Monitor) -> None:
        if record.category != Category.anomaly or record.blocked:
            return
        kind = record.anomaly_kind or "model"
        trusted = monitor.allowlisted(record.ip)
        for action in self.policy.actions.get(kind, []):
            if trusted and action in ("block_ip", "terminate_session"):
                continue  # an allowlisted network is never cut off; it is still flagged and reported
            try:
                getattr(self, f"_{action}")(record, monitor, kind)
            except Exception:  # one failed action must not stop the others or the log
                log.exception("action %s for %s from %s failed", action, kind, record.ip)

    def _record(self, monitor: Monitor, **fields) -> Decision:
        with Session(monitor.engine, expire_on_commit=False) as session:
            decision = Decision(**fields)
            session.add(decision)
            session.commit()
        self.taken += 1
        return decision

    @staticmethod
    def _evidence(record: RequestRecord) -> dict:
        return {"method": record.method, "path": record.path, "query": record.query[:300], "status": record.status,
                "reasons": record.reasons, "score": record.score, "user_agent": (record.user_agent or "")[:200],
                "at": record.at.isoformat(), "model_score": record.model_score,
                "model_explanation": record.explanation}

    def _block_ip(self, record: RequestRecord, monitor: Monitor, kind: str) -> None:
        if monitor.allowlisted(record.ip) or monitor.blocked(record.ip) is not None:
            return
        with Session(monitor.engine) as session:
            previous = session.exec(select(func.count()).select_from(Decision).where(
                Decision.kind == "block_ip", Decision.target == record.ip)).scalars().one()
        offence = previous + 1
        expires = utcnow() + self.policy.ban_for(offence)
        reason = f"{kind.replace('_', ' ')}: {', '.join(record.reasons) or 'anomaly'}"
        decision = self._record(monitor, kind="block_ip", target=record.ip, anomaly_kind=kind, reason=reason[:500],
                                evidence=self._evidence(record), offence=offence, expires_at=expires)
        monitor.set_block(record.ip, Block(decision.id, expires, reason))

    def _terminate_session(self, record: RequestRecord, monitor: Monitor, kind: str) -> None:
        if record.session_id is None:
            return self._block_ip(record, monitor, kind)  # nothing to end: an anonymous client is blocked instead
        with Session(monitor.engine) as session:
            ended = session.execute(update(UserSession).where(
                col(UserSession.id) == record.session_id, col(UserSession.ended_at).is_(None)
            ).values(ended_at=utcnow(), end_reason="terminated")).rowcount
            session.commit()
        if ended:
            self._record(monitor, kind="terminate_session", target=str(record.session_id), anomaly_kind=kind,
                         reason=f"{kind.replace('_', ' ')}: {', '.join(record.reasons)}"[:500],
                         evidence={**self._evidence(record), "user_id": record.user_id, "ip": record.ip})
            if len(self._terminations) > 100_000:
                self._terminations.clear()
            self._terminations[record.ip] = self._terminations.get(record.ip, 0) + 1
            if self._terminations[record.ip] >= 2:  # logged in again and went on: the address goes too
                self._block_ip(record, monitor, kind)

    def _flag_session(self, record: RequestRecord, monitor: Monitor, kind: str) -> None:
        if record.session_id is None or self._active(monitor, "flag_session", str(record.session_id)):
            return
        self._record(monitor, kind="flag_session", target=str(record.session_id), anomaly_kind=kind,
                     reason=f"{kind.replace('_', ' ')}: {', '.join(record.reasons) or 'unusual for the model'}"[:500],
                     evidence={**self._evidence(record), "user_id": record.user_id})

    def _flag_account(self, record: RequestRecord, monitor: Monitor, kind: str) -> None:
        account = record.login_email
        if not account or self._active(monitor, "flag_account", account):
            return
        self._record(monitor, kind="flag_account", target=account, anomaly_kind=kind,
                     reason=f"{kind.replace('_', ' ')} against this account from {record.ip}"[:500],
                     evidence=self._evidence(record))

    def _notify(self, record: RequestRecord, monitor: Monitor, kind: str) -> None:
        if self.notifier is None:
            return
        block = monitor.blocked(record.ip)
        self.notifier.notify(Notification(
            kind=kind, subject=f"{kind.replace('_', ' ')} from {record.ip}", target=record.ip,
            lines=[f"The monitor saw {kind.replace('_', ' ')} and acted on it automatically."] + [
                f"The anomaly model found {e['feature']} = {e['value']:g} unusual (typical {e['typical']:g})."
                for e in record.explanation or []],
            facts={"ip": record.ip, "request": f"{record.method} {record.path}", "reasons": ", ".join(record.reasons),
                   "session": record.session_id or "-", "account": record.login_email or "-",
                   "blocked until": block.expires_at.isoformat() if block and block.expires_at else "-"},
            dedupe_key=f"{kind}:{record.ip}",
        ))

    @staticmethod
    def _active(monitor: Monitor, kind: str, target: str) -> bool:
        with Session(monitor.engine) as session:
            return session.exec(select(Decision.id).where(
                Decision.kind == kind, Decision.target == target, col(Decision.undone_at).is_(None))).first() is not None
