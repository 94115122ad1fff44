"""Rules that put every request in a category (normal, warning, anomaly) with reason codes.

Each rule that fires adds points by its severity, as OWASP CRS scores anomalies (critical 5, error 4, warning 3,
notice 2); the sum decides the category (anomaly at ``anomaly_score``, warning at ``warning_score``). The rules
and their reason codes:

- ``flood-short`` / ``flood-long`` (critical): an IP made more than ``flood_short_limit`` requests in the short
  window, or more than ``flood_long_limit`` in the long one.
- ``login-failures-ip`` / ``login-failures-account`` (critical): this failed login (POST to a login path answered
  401) is the ``login_failures_per_ip``-th from the IP, or the ``login_failures_per_account``-th against the account
  named, within the window; from the ``login_failures_warning``-th on it is a warning.
- ``cart-spam`` (critical): a session (an anonymous client: its IP) made more than ``cart_add_limit`` cart adds.
- ``error-share`` (critical): at least ``error_share_limit`` of an IP's recent answers were 4xx (enumeration).
- ``operator-probe`` (warning; critical from the ``operator_probe_limit``-th in the window): a customer or an
  anonymous client asked for ``/operator/*`` or changed products through the API.
- ``tool-user-agent``: a scanner's User-Agent (sqlmap, nikto...: critical) or a script's (curl, python-requests,
  Go-http-client, scrapy, wget...: warning); ``missing-user-agent`` (warning): none at all.
- ``sqli:<signature>``, ``xss:<signature>``, ``traversal:<signature>`` (the signature's own severity): a signature
  of :mod:`unseen.monitor.signatures` matched the path, the query or a body value after decoding.

The rate rules count the request being judged: the engine observes, then judges.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache

from pydantic import BaseModel, Field, model_validator

from unseen.monitor.records import Category, RequestRecord
from unseen.monitor.signatures import Severity, inspect
from unseen.monitor.windows import SlidingWindowCounter, StatusShareTracker

__all__ = ["ANOMALY_KINDS", "RuleEngine", "RuleThresholds", "kind_of"]

LOGIN_PATHS = frozenset({"/api/auth/login", "/login"})
CART_ADD_PATHS = frozenset({"/api/cart", "/cart/add"})
OPERATOR_API_PREFIX = "/api/products"
OPERATOR_API_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Tools that attack or scan: no shopper uses them.
_SCANNER_AGENTS = re.compile(
    r"sqlmap|nikto|nmap|masscan|zgrab|acunetix|nessus|openvas|w3af|wpscan|dirbuster|\bdirb\b|gobuster|ffuf"
    r"|feroxbuster|nuclei|havij|arachni|skipfish|whatweb|wfuzz|hydra|burp(?:suite|collaborator)|owasp[ _-]?zap"
    r"|zaproxy|netsparker|commix|xsstrike|jaeles|fimap|bbqsql", re.I)
# HTTP libraries and command-line clients: scripts, scrapers, or a developer trying something.
_SCRIPT_AGENTS = re.compile(
    r"^(?:curl|wget|httpie|python|aiohttp|go-http-client|java/|okhttp|node-fetch|axios|postmanruntime"
    r"|guzzlehttp|libwww-perl|lwp-|ruby|mechanize|php|powershell|winhttp|apache-httpclient|scrapy)"
    r"|python-requests|python-urllib|python-httpx|scrapy|libwww-perl|go-http-client|headless\s*shell|phantomjs",
    re.I)

ANOMALY_KINDS = ("sql_injection", "xss", "path_traversal", "password_guessing", "flood", "cart_spam", "probe",
                 "scraping")
"""Every kind an anomaly can be, in the order :func:`kind_of` prefers them when several rules fired: attacks on
the code first, then on accounts (guessing also flags the account), then on capacity, then reconnaissance."""

_KIND_BY_REASON = {
    "flood-short": "flood", "flood-long": "flood",
    "login-failures-ip": "password_guessing", "login-failures-account": "password_guessing",
    "cart-spam": "cart_spam", "error-share": "scraping", "tool-user-agent": "scraping", "operator-probe": "probe",
}
_KIND_BY_FAMILY = {"sqli": "sql_injection", "xss": "xss", "traversal": "path_traversal"}


def kind_of(reasons: Iterable[str]) -> str | None:
    """The anomaly kind the reasons point to (one of :data:`ANOMALY_KINDS`), or None when none does.

    >>> kind_of(["missing-user-agent", "sqli:sqli-union-select", "flood-short"])
    'sql_injection'
    >>> kind_of(["missing-user-agent"]) is None
    True
    """
    kinds = set()
    for reason in reasons:
        family, colon, _ = reason.partition(":")
        kind = _KIND_BY_FAMILY.get(family) if colon else _KIND_BY_REASON.get(reason)
        if kind is not None:
            kinds.add(kind)
    return next((kind for kind in ANOMALY_KINDS if kind in kinds), None)


class RuleThresholds(BaseModel):
    """Thresholds of the request rules (``Settings.rules``; environment ``UNSEEN_RULES__FLOOD_SHORT_LIMIT=30``)."""

    flood_short_window_s: float = Field(default=1.0, gt=0)
    flood_short_limit: int = Field(default=20, ge=1)
    """Requests an IP may make in the short window; the next one is a flood. Shoppers' pages load one CSS file."""
    flood_long_window_s: float = Field(default=60.0, gt=0)
    flood_long_limit: int = Field(default=120, ge=1)
    """Requests an IP may make in the long window: 2 a second for a whole minute, when shoppers think 1 to 8 s per
    click (a page and perhaps its CSS): it catches slower floods (a bot net at 5/s per address) in about 25 s."""

    login_failures_window_s: float = Field(default=600.0, gt=0)
    login_failures_per_ip: int = Field(default=5, ge=1)
    """The failed login that makes this many from one IP in the window is an anomaly (fail2ban's 5 in 10 minutes)."""
    login_failures_per_account: int = Field(default=5, ge=1)
    """The same, counted per account (the e-mail a login named) over all IPs: slow, distributed guessing."""
    login_failures_warning: int = Field(default=3, ge=0)
    """From this many failures (per IP or account) on, a failure is a warning; 0 switches the warning off."""

    cart_add_window_s: float = Field(default=60.0, gt=0)
    cart_add_limit: int = Field(default=20, ge=1)
    """Successful cart adds a session (or an anonymous IP) may make in the window; the next one is cart spam."""

    error_share_window: int = Field(default=50, ge=1)
    """How many of an IP's most recent requests the 4xx share is taken over."""
    error_share_window_s: float = Field(default=600.0, gt=0)
    """... and no older than this."""
    error_share_min_requests: int = Field(default=20, ge=1)
    """The share is judged only once an IP has made this many requests in the window."""
    error_share_limit: float = Field(default=0.5, gt=0, le=1)
    """Share of 4xx answers from which an IP is enumerating or scraping."""

    operator_probe_window_s: float = Field(default=600.0, gt=0)
    operator_probe_limit: int = Field(default=3, ge=1)
    """A non-operator's request to an operator route is a warning; the one that makes this many is an anomaly."""

    max_tracked_keys: int = Field(default=100_000, ge=1)
    """Keys (IPs, sessions, accounts) each counter keeps at most; the least recently seen go first."""

    warning_score: int = Field(default=3, ge=1)
    anomaly_score: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> RuleThresholds:
        if self.anomaly_score < self.warning_score:
            raise ValueError(f"anomaly_score ({self.anomaly_score}) must be at least warning_score "
                             f"({self.warning_score})")
        if self.error_share_min_requests > self.error_share_window:
            raise ValueError(f"error_share_min_requests ({self.error_share_min_requests}) cannot exceed "
                             f"error_share_window ({self.error_share_window}): the rule would never fire")
        return self


class RuleEngine:
    """Observes every request in sliding windows and judges it by the rules.

    Safe to call from several threads; memory stays bounded by ``max_tracked_keys`` per counter.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> engine = RuleEngine(RuleThresholds())
    >>> record = RequestRecord(at=datetime(2024, 5, 1, tzinfo=timezone.utc), ip="203.0.113.9", method="GET",
    ...                        path="/products", query="q=%27+UNION+SELECT+password+FROM+users--", status=200,
    ...                        user_agent="Mozilla/5.0")
    >>> judged = engine.observe_and_judge(record)
    >>> judged.category.value, kind_of(judged.reasons)
    ('anomaly', 'sql_injection')
    """

    def __init__(self, thresholds: RuleThresholds | None = None):
        self.thresholds = t = thresholds or RuleThresholds()
        keys = t.max_tracked_keys
        self._requests_short = SlidingWindowCounter(t.flood_short_window_s, t.flood_short_window_s / 20, keys)
        self._requests_long = SlidingWindowCounter(t.flood_long_window_s, t.flood_long_window_s / 30, keys)
        self._failures_ip = SlidingWindowCounter(t.login_failures_window_s, t.login_failures_window_s / 60, keys)
        self._failures_account = SlidingWindowCounter(t.login_failures_window_s, t.login_failures_window_s / 60, keys)
        self._cart_adds = SlidingWindowCounter(t.cart_add_window_s, t.cart_add_window_s / 30, keys)
        self._probes = SlidingWindowCounter(t.operator_probe_window_s, t.operator_probe_window_s / 30, keys)
        self._answers = StatusShareTracker(t.error_share_window, t.error_share_window_s, keys)
        self._lock = threading.Lock()  # observe-then-count of one record is atomic across threads

    def observe_and_judge(self, record: RequestRecord) -> RequestRecord:
        """Count ``record`` in the windows, then set its ``category``, ``score``, ``reasons`` and, for an anomaly,
        ``anomaly_kind`` (in place; what was there before is replaced: the rules judge first)."""
        with self._lock:
            points = dict(self._rate_rules(record))
        for reason, severity in self._request_rules(record):
            points[reason] = max(points.get(reason, 0), severity)
        t = self.thresholds
        score = sum(points.values())
        record.score = score
        record.reasons = sorted(points, key=points.__getitem__, reverse=True)  # the heaviest reason first
        record.category = (Category.anomaly if score >= t.anomaly_score else
                           Category.warning if score >= t.warning_score else Category.normal)
        record.anomaly_kind = kind_of(record.reasons) if record.category is Category.anomaly else None
        return record

    # --- rules over windows --------------------------------------------------------------------------------------

    def _rate_rules(self, record: RequestRecord) -> Iterator[tuple[str, int]]:
        t = self.thresholds
        at = record.at.timestamp()
        ip = record.ip
        method = record.method.upper()

        if self._requests_short.observe(ip, at) > t.flood_short_limit:
            yield "flood-short", Severity.critical
        if self._requests_long.observe(ip, at) > t.flood_long_limit:
            yield "flood-long", Severity.critical

        if method == "POST" and record.status == 401 and record.path in LOGIN_PATHS:
            severity = self._failure_severity(self._failures_ip.observe(ip, at), t.login_failures_per_ip)
            if severity:
                yield "login-failures-ip", severity
            if record.login_email:
                account = record.login_email.strip().lower()
                severity = self._failure_severity(self._failures_account.observe(account, at),
                                                  t.login_failures_per_account)
                if severity:
                    yield "login-failures-account", severity

        if method == "POST" and record.status < 400 and record.path in CART_ADD_PATHS:
            shopper = ("session", record.session_id) if record.session_id is not None else ("ip", ip)
            if self._cart_adds.observe(shopper, at) > t.cart_add_limit:
                yield "cart-spam", Severity.critical

        # A refused request (the IP is blocked) says nothing new; counting its 403 would re-block at once on unblock.
        if record.blocked:
            answers, errors = self._answers.share(ip, at)
        else:
            answers, errors = self._answers.observe(ip, at, record.status)
        if answers >= t.error_share_min_requests and errors >= t.error_share_limit * answers:
            yield "error-share", Severity.critical

        if record.role != "operator" and _is_operator_route(method, record.path):
            probes = self._probes.observe(ip, at)
            yield "operator-probe", Severity.critical if probes >= t.operator_probe_limit else Severity.warning

    def _failure_severity(self, failures: float, limit: int) -> int:
        if failures >= limit:
            return Severity.critical
        warning = self.thresholds.login_failures_warning
        if warning and failures >= warning:
            return Severity.warning
        return 0

    # --- rules over the request itself ---------------------------------------------------------------------------

    def _request_rules(self, record: RequestRecord) -> Iterator[tuple[str, int]]:
        agent = (record.user_agent or "").strip()
        if not agent:
            yield "missing-user-agent", Severity.warning
        else:
            severity = _agent_severity(agent[:512])
            if severity:
                yield "tool-user-agent", severity

        for text in _inspected_texts(record):
            for signature in inspect(text):
                yield f"{signature.family}:{signature.id}", signature.severity


@lru_cache(maxsize=2048)
def _agent_severity(agent: str) -> int:
    """Points of a User-Agent (cached: a shop sees few distinct ones, and they are long to scan)."""
    if _SCANNER_AGENTS.search(agent):
        return Severity.critical
    if _SCRIPT_AGENTS.search(agent):
        return Severity.warning
    return 0


def _is_operator_route(method: str, path: str) -> bool:
    if path == "/operator" or path.startswith("/operator/"):
        return True
    return method in OPERATOR_API_METHODS and (path == OPERATOR_API_PREFIX
                                               or path.startswith(OPERATOR_API_PREFIX + "/"))


def _inspected_texts(record: RequestRecord) -> Iterator[str]:
    """The path, the query and the body's text values (a JSON body is read value by value)."""
    yield record.path
    if record.query:
        yield record.query
    payload = record.payload
    if not payload:
        return
    if payload[:1] in "{[":
        try:
            yield from _json_strings(json.loads(payload))
            return
        except ValueError:
            pass
    yield payload


def _json_strings(value: object, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:200]:
            yield from _json_strings(item, depth + 1)
    elif isinstance(value, str):
        yield value
