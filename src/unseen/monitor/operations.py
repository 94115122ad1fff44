"""What operators ask of the monitor: requests by category, decisions, undo, allowlist. Plain database functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from unseen.monitor.network import parse_networks
from unseen.monitor.service import Monitor
from unseen.shop.errors import Conflict, NotFound
from unseen.tables import AllowlistEntry, Decision, RequestLog, UserSession, utcnow


def list_requests(*, session: Session, category: str | None = None, ip: str | None = None,
                  since: datetime | None = None, limit: int = 100) -> list[RequestLog]:
    statement = select(RequestLog)
    if category:
        statement = statement.where(RequestLog.category == category)
    if ip:
        statement = statement.where(RequestLog.ip == ip)
    if since:
        statement = statement.where(RequestLog.at >= since)
    return list(session.exec(statement.order_by(col(RequestLog.id).desc()).limit(limit)).scalars())


def category_counts(*, session: Session, since: datetime) -> dict[str, int]:
    rows = session.exec(select(RequestLog.category, func.count()).where(RequestLog.at >= since)
                        .group_by(RequestLog.category)).all()
    counts = {"normal": 0, "warning": 0, "anomaly": 0}
    counts.update({c: int(n) for c, n in rows})
    return counts


def top_offenders(*, session: Session, since: datetime, limit: int = 10) -> list[tuple[str, int, int]]:
    """IPs with the most warning or anomaly requests since ``since``: (ip, flagged, blocked)."""
    flagged = func.sum(func.cast(col(RequestLog.category) != "normal", RequestLog.__table__.c.score.type))
    rows = session.exec(
        select(RequestLog.ip, flagged, func.sum(func.cast(col(RequestLog.blocked), RequestLog.__table__.c.score.type)))
        .where(RequestLog.at >= since).group_by(RequestLog.ip).having(flagged > 0)
        .order_by(flagged.desc()).limit(limit)
    ).all()
    return [(ip, int(f or 0), int(b or 0)) for ip, f, b in rows]


def list_decisions(*, session: Session, active: bool = False, kind: str | None = None, limit: int = 100) -> list[Decision]:
    statement = select(Decision)
    if kind:
        statement = statement.where(Decision.kind == kind)
    if active:
        now = utcnow()
        statement = statement.where(col(Decision.undone_at).is_(None)).where(
            col(Decision.expires_at).is_(None) | (col(Decision.expires_at) > now))
    return list(session.exec(statement.order_by(col(Decision.id).desc()).limit(limit)).scalars())


def undo_decision(*, session: Session, decision_id: int, operator_id: int, monitor: Monitor | None) -> Decision:
    """Undo an action: unblock the IP, reopen a terminated session (if it has not expired), unflag."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound(f"no decision with id {decision_id}")
    if decision.undone_at is not None:
        raise Conflict(f"decision {decision_id} was already undone at {decision.undone_at:%Y-%m-%d %H:%M:%S} UTC")
    decision.undone_at = utcnow()
    decision.undone_by = operator_id
    session.add(decision)
    if decision.kind == "terminate_session" and decision.target.isdigit():
        user_session = session.get(UserSession, int(decision.target))
        if user_session is not None and user_session.end_reason == "terminated" and user_session.expires_at > utcnow():
            user_session.ended_at, user_session.end_reason = None, None
            session.add(user_session)
    session.commit()
    if decision.kind == "block_ip" and monitor is not None:
        monitor.clear_block(decision.target)
    return decision


def add_allowlist(*, session: Session, network: str, note: str, operator_id: int, monitor: Monitor | None) -> AllowlistEntry:
    normalised = str(parse_networks([network])[0])
    if session.exec(select(AllowlistEntry.id).where(AllowlistEntry.network == normalised)).first() is not None:
        raise Conflict(f"{normalised} is already on the allowlist")
    entry = AllowlistEntry(network=normalised, note=note, created_by=operator_id)
    session.add(entry)
    session.commit()
    if monitor is not None:
        monitor.refresh()
    return entry


def remove_allowlist(*, session: Session, entry_id: int, monitor: Monitor | None) -> None:
    entry = session.get(AllowlistEntry, entry_id)
    if entry is None:
        raise NotFound(f"no allowlist entry with id {entry_id}")
    session.delete(entry)
    session.commit()
    if monitor is not None:
        monitor.refresh()


def recent(minutes: float) -> datetime:
    return utcnow() - timedelta(minutes=minutes)
