"""Login risk in the running shop: every attempt resolved, scored for its user, recorded, and acted on.

:class:`LoginRisk` keeps each user's login history in memory (read once from ``login_attempt``, then updated as
logins succeed), so scoring costs a few dictionary lookups. The frequency model (Freeman et al.) decides; the
One-Class SVM, fitted on the same history in a background thread, scores beside it for comparison. A stepped-up
login enters the history only once its code is entered: a takeover must not teach the model that the attacker's
country is normal for the victim.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.logins.context import GeoResolver, LoginContext, resolve
from unseen.logins.model import FrequencyRiskModel, LoginHistory, OneClassSVMRiskModel
from unseen.logins.policy import LoginRiskSettings
from unseen.tables import LoginAttempt

log = logging.getLogger(__name__)


@dataclass
class Assessment:
    context: LoginContext
    risk: float | None = None
    svm_risk: float | None = None
    new_features: list[str] = field(default_factory=list)
    cold_start: bool = False
    action: str = "none"

    @property
    def reasons(self) -> list[str]:
        """Plain words for the e-mail: what was new for this user."""
        c = self.context
        words = {"country": f"country {c.country or 'unknown'}", "asn": f"network {c.asn_name or c.asn or 'unknown'}",
                 "ip_prefix": f"address range {c.ip_prefix}", "browser": f"browser {c.browser}",
                 "os": f"operating system {c.os}", "device": f"device {c.device}",
                 "hour_band": f"time of day ({c.hour:02d}:00 UTC)"}
        return [f"new {words.get(f, f)}" for f in self.new_features]


def context_of(row: LoginAttempt | object) -> LoginContext:
    return LoginContext(ip=row.ip or "", country=row.country, country_name=None, region=row.region, city=row.city,
                        asn=row.asn, asn_name=row.asn_name, browser=row.browser or "Other",
                        browser_version=row.browser_version or "", os=row.os or "Other", device=row.device or "other",
                        hour=row.hour or 0, weekday=row.weekday or 0)


class LoginRisk:
    """The shop's login-risk service (one per process, shared by the request threads)."""

    def __init__(self, engine: Engine, settings: LoginRiskSettings, secret_key: str):
        self.engine = engine
        self.settings = settings
        self._secret = secret_key.encode()
        self.geo = GeoResolver(settings.network_countries)
        self.frequency = FrequencyRiskModel(alpha=settings.alpha, anywhere=settings.anywhere,
                                            max_history=settings.max_history)
        self.svm: OneClassSVMRiskModel | None = None
        self._lock = threading.Lock()
        self._loaded = False

    # --- history ------------------------------------------------------------------------------------------------

    def _history(self) -> list[tuple[int, LoginContext]]:
        columns = [LoginAttempt.user_id, LoginAttempt.ip, LoginAttempt.country, LoginAttempt.region,
                   LoginAttempt.city, LoginAttempt.asn, LoginAttempt.asn_name, LoginAttempt.browser,
                   LoginAttempt.browser_version, LoginAttempt.os, LoginAttempt.device, LoginAttempt.hour,
                   LoginAttempt.weekday]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).where(LoginAttempt.success.is_(True),
                                                       LoginAttempt.user_id.is_not(None),
                                                       LoginAttempt.action != "step_up")
                                .order_by(LoginAttempt.at, LoginAttempt.id)).all()
        return [(row.user_id, context_of(row)) for row in rows]

    def load(self) -> None:
        """Read the history once (the first login does it when nobody did); the SVM is fitted in the background."""
        with self._lock:
            if self._loaded:
                return
            history = self._history()
            self.frequency.fit(LoginHistory.from_contexts(history))
            self._loaded = True
        if self.settings.svm and len(history) >= 50:
            threading.Thread(target=self._fit_svm, args=(history,), name="unseen-login-svm", daemon=True).start()

    def preload(self) -> None:
        """:meth:`load`, logging instead of raising (for a background thread at start-up)."""
        try:
            self.load()
        except Exception:
            log.exception("cannot read the login history; the first login will try again")

    def _fit_svm(self, history: list[tuple[int, LoginContext]]) -> None:
        try:
            model = OneClassSVMRiskModel(random_state=0)
            model.fit_sequence(history)
            self.svm = model
        except Exception:  # the comparison model must never take logins down
            log.exception("cannot fit the login One-Class SVM on %d logins", len(history))

    # --- one attempt --------------------------------------------------------------------------------------------

    def assess(self, *, user_id: int | None, ip: str | None, user_agent: str | None, at: datetime,
               success: bool) -> Assessment:
        """Resolve and score one attempt (nothing is recorded or learnt here)."""
        context = resolve(ip or "", user_agent, at, geo=self.geo)
        if not self.settings.enabled or user_id is None:
            return Assessment(context)
        self.load()
        svm_risk = None
        with self._lock:  # scores read the history that learn() writes
            score = self.frequency.score(user_id, context)
            if self.svm is not None:
                try:
                    svm_risk = float(self.svm.score(user_id, context).risk)
                except Exception:
                    log.exception("the login One-Class SVM failed to score")
        risk = float(score.risk)
        action = "none" if score.cold_start else self.settings.action_for(risk, success=success)
        return Assessment(context, risk, svm_risk, list(score.new_features), score.cold_start, action)

    def learn(self, user_id: int, context: LoginContext) -> None:
        """Add a login the user made (a successful one, or a stepped-up one once verified) to the history."""
        self.load()
        with self._lock:
            self.frequency.update(user_id, context)
            if self.svm is not None:
                self.svm.update(user_id, context)

    @staticmethod
    def attempt_row(assessment: Assessment, *, email: str, user_id: int | None, success: bool, at: datetime,
                    user_agent: str | None, session_id: int | None = None) -> LoginAttempt:
        c = assessment.context
        return LoginAttempt(
            at=at, email=email.strip().lower()[:254], user_id=user_id, success=success, ip=(c.ip or None),
            country=c.country, region=c.region, city=c.city, asn=c.asn, asn_name=(c.asn_name or None) and
            c.asn_name[:200], browser=c.browser[:60], browser_version=c.browser_version[:20], os=c.os[:60],
            device=c.device[:20], user_agent=(user_agent or "")[:400] or None, hour=c.hour, weekday=c.weekday,
            risk=assessment.risk, svm_risk=assessment.svm_risk, cold_start=assessment.cold_start,
            new_features=assessment.new_features or None, action=assessment.action, session_id=session_id)

    # --- step-up codes ------------------------------------------------------------------------------------------

    def new_code(self) -> tuple[str, str]:
        """A six-digit one-time code and its keyed hash (only the hash is stored)."""
        code = f"{secrets.randbelow(10**6):06d}"
        return code, self.code_hash(code)

    def code_hash(self, code: str) -> str:
        return hmac.new(self._secret, code.strip().encode(), hashlib.sha256).hexdigest()

    def code_matches(self, code: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.code_hash(code), stored_hash)

    def code_expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.code_ttl_seconds)
