from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AfterValidator, StringConstraints
from sqlmodel import SQLModel, select

from unseen.monitor import operations
from unseen.shop.deps import OperatorAuth, SessionDep
from unseen.tables import MAX_ID, AllowlistEntry

router = APIRouter(prefix="/operator", tags=["operator"])

CategoryName = Literal["normal", "warning", "anomaly"]
DecisionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A decision id")]


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError("must be an IP address or network, e.g. 203.0.113.7 or 10.0.0.0/8") from None


class RequestPublic(SQLModel):
    id: int
    at: datetime
    ip: str
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    user_agent: str | None
    user_id: int | None
    session_id: int | None
    category: str
    score: int
    reasons: list[str] | None
    anomaly_kind: str | None
    model_score: float | None
    blocked: bool


class SummaryPublic(SQLModel):
    minutes: float
    counts: dict[str, int]
    top_offenders: list[dict[str, Any]]
    monitor: dict[str, int]


class DecisionPublic(SQLModel):
    id: int
    kind: str
    target: str
    anomaly_kind: str | None
    reason: str
    evidence: dict[str, Any] | None
    offence: int
    created_at: datetime
    expires_at: datetime | None
    undone_at: datetime | None
    undone_by: int | None


class AllowlistIn(SQLModel):
    network: Annotated[str, StringConstraints(max_length=64), AfterValidator(_network)]
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class AllowlistPublic(SQLModel):
    id: int
    network: str
    note: str
    created_at: datetime


@router.get("/requests", response_model=list[RequestPublic])
def requests(session: SessionDep, _: OperatorAuth, category: CategoryName | None = None,
             ip: Annotated[str | None, Query(max_length=64)] = None,
             minutes: Annotated[float, Query(gt=0, le=60 * 24 * 31, description="How far back")] = 60,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[RequestPublic]:
    """The latest requests, newest first, by category and IP."""
    rows = operations.list_requests(session=session, category=category, ip=ip, since=operations.recent(minutes),
                                    limit=limit)
    return [RequestPublic.model_validate(r) for r in rows]


@router.get("/summary", response_model=SummaryPublic)
def summary(request: Request, session: SessionDep, _: OperatorAuth,
            minutes: Annotated[float, Query(gt=0, le=60 * 24 * 31)] = 60) -> SummaryPublic:
    """Requests per category, the top offending IPs and the monitor's own counters."""
    since = operations.recent(minutes)
    stats = request.app.state.monitor.stats()
    return SummaryPublic(
        minutes=minutes, counts=operations.category_counts(session=session, since=since),
        top_offenders=[{"ip": ip, "flagged": f, "blocked": b}
                       for ip, f, b in operations.top_offenders(session=session, since=since)],
        monitor={k: int(v) for k, v in stats.__dict__.items()},
    )


@router.get("/decisions", response_model=list[DecisionPublic])
def decisions(session: SessionDep, _: OperatorAuth, active: bool = False,
              kind: Literal["block_ip", "terminate_session", "flag_session", "flag_account", "notify"] | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DecisionPublic]:
    """Automatic actions, newest first; `active` keeps those neither undone nor expired."""
    return [DecisionPublic.model_validate(d)
            for d in operations.list_decisions(session=session, active=active, kind=kind, limit=limit)]


@router.post("/decisions/{decision_id}/undo", response_model=DecisionPublic,
             responses={404: {"description": "No such decision"}, 409: {"description": "Already undone"}})
def undo(decision_id: DecisionId, request: Request, session: SessionDep, auth: OperatorAuth) -> DecisionPublic:
    """Undo an action: the IP is unblocked at once, a terminated session is reopened, a flag is lifted."""
    decision = operations.undo_decision(session=session, decision_id=decision_id, operator_id=auth.user.id,
                                        monitor=request.app.state.monitor)
    return DecisionPublic.model_validate(decision)


@router.get("/allowlist", response_model=list[AllowlistPublic])
def allowlist(session: SessionDep, _: OperatorAuth) -> list[AllowlistPublic]:
    """Addresses and networks that are never blocked (besides those in the settings)."""
    return [AllowlistPublic.model_validate(e) for e in session.exec(select(AllowlistEntry).order_by(AllowlistEntry.id))]


@router.post("/allowlist", status_code=status.HTTP_201_CREATED, response_model=AllowlistPublic,
             responses={409: {"description": "Already on the allowlist"}})
def add_to_allowlist(body: AllowlistIn, request: Request, session: SessionDep, auth: OperatorAuth) -> AllowlistPublic:
    """Never block this address or network; an active block of it stops mattering at once."""
    entry = operations.add_allowlist(session=session, network=body.network, note=body.note, operator_id=auth.user.id,
                                     monitor=request.app.state.monitor)
    return AllowlistPublic.model_validate(entry)


@router.delete("/allowlist/{entry_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "No such entry"}})
def remove_from_allowlist(entry_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, session: SessionDep,
                          _: OperatorAuth) -> Response:
    """Take an entry off the allowlist."""
    operations.remove_allowlist(session=session, entry_id=entry_id, monitor=request.app.state.monitor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
