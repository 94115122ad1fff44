"""What the monitor knows about one request: the record the capture middleware builds and the rules judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Category(str, Enum):
    normal = "normal"
    warning = "warning"
    anomaly = "anomaly"


@dataclass
class RequestRecord:
    """One request as seen from the outside, plus what the shop resolved about it.

    ``payload`` is the decoded text of a form or JSON body (at most a few kB), kept only for the rules' signature
    checks; it is never stored in the request log.
    """

    at: datetime  # aware UTC, when the request arrived
    ip: str
    method: str
    path: str
    query: str = ""
    status: int = 0
    latency_ms: float = 0.0
    user_agent: str | None = None
    referer: str | None = None
    user_id: int | None = None
    session_id: int | None = None
    role: str | None = None  # "customer" or "operator" when logged in
    request_bytes: int = 0
    response_bytes: int = 0
    payload: str | None = None
    login_email: str | None = None  # the account a login attempt named, for per-account failure counts
    category: Category = Category.normal
    score: int = 0  # rule severity points, as OWASP CRS adds them up
    reasons: list[str] = field(default_factory=list)
    anomaly_kind: str | None = None  # the known kind an anomaly was classified as (flood, sql_injection, ...)
    model_score: float | None = None  # the anomaly model's score of this request's window, when a model serves
    explanation: list[dict] | None = None  # a model anomaly's most unusual features: feature, value, typical, z
    blocked: bool = False  # refused because its IP was blocked (or it carried a critical payload)
