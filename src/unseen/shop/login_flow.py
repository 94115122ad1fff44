"""Logging in with the login-risk check, shared by the JSON API and the HTML pages.

A login attempt, successful or not, becomes a ``login_attempt`` row with where it came from and how unusual it was
for the user. An unusual successful login is reported by e-mail to the user and the operator (with an event and a
decision); a risky one gets a session that stays inactive until the one-time code e-mailed to the user is entered.
E-mails go out after the answer (a background task), so a slow mail server never holds a login up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from fastapi import BackgroundTasks, Request
from sqlmodel import Session, select

from unseen.logins.service import Assessment, LoginRisk
from unseen.monitor.notifier import NotificationError, SmtpMailer
from unseen.shop import crud
from unseen.shop.deps import client_ip
from unseen.shop.errors import Unauthorized
from unseen.tables import Decision, EventKind, StepUpChallenge, User, UserSession, utcnow

log = logging.getLogger(__name__)


@dataclass
class LoginResult:
    user: User
    user_session: UserSession
    token: str
    assessment: Assessment

    @property
    def step_up(self) -> bool:
        return self.assessment.action == "step_up"


def _risk(request: Request) -> LoginRisk:
    return request.app.state.login_risk


def log_in(request: Request, session: Session, email: str, password: str, background: BackgroundTasks) -> LoginResult:
    """Check the password, score the attempt, open the session (pending when stepped up) and record it all."""
    settings = request.app.state.settings
    ip, agent, now = client_ip(request), request.headers.get("user-agent"), utcnow()
    risk = _risk(request)
    try:
        user = crud.authenticate(session=session, engine=request.app.state.engine, email=email, password=password,
                                 ip=ip, user_agent=agent)
    except Unauthorized:
        known = session.exec(select(User.id).where(User.email == email.strip().lower())).first()
        assessment = risk.assess(user_id=known, ip=ip, user_agent=agent, at=now, success=False)
        session.add(risk.attempt_row(assessment, email=email, user_id=known, success=False, at=now, user_agent=agent))
        session.commit()  # the login_fail event and the attempt are kept
        raise
    assessment = risk.assess(user_id=user.id, ip=ip, user_agent=agent, at=now, success=True)
    user_session, token = crud.start_session(session=session, user=user,
                                             lifetime=timedelta(hours=settings.session_lifetime_hours), ip=ip,
                                             user_agent=agent)
    attempt = risk.attempt_row(assessment, email=user.email, user_id=user.id, success=True, at=now, user_agent=agent,
                               session_id=user_session.id)
    session.add(attempt)
    session.flush()
    code = None
    if assessment.action in ("alert", "step_up"):
        facts = _facts(assessment)
        crud.record_event(session=session, kind=EventKind.login_unusual, user_id=user.id, session_id=user_session.id,
                          extra=facts)
        session.add(Decision(kind="step_up" if assessment.action == "step_up" else "login_alert", target=user.email,
                             anomaly_kind="login_anomaly", reason=f"unusual login: {', '.join(assessment.reasons)}"[:500],
                             evidence={**facts, "login_attempt": attempt.id, "session": user_session.id}))
    if assessment.action == "step_up":
        code, code_hash = risk.new_code()
        session.add(StepUpChallenge(session_id=user_session.id, user_id=user.id, code_hash=code_hash, created_at=now,
                                    expires_at=risk.code_expiry(now), login_attempt_id=attempt.id))
    session.commit()
    if assessment.action != "step_up":
        risk.learn(user.id, assessment.context)
    if assessment.action in ("alert", "step_up"):
        background.add_task(_send_alerts, request.app.state.settings, user.email, user.full_name, assessment, code)
    return LoginResult(user, user_session, token, assessment)


class StepUpFailed(Unauthorized):
    pass


def verify_step_up(request: Request, session: Session, user_session: UserSession, code: str) -> None:
    """Activate a pending session with its one-time code, or refuse: a wrong code costs one of the attempts; the
    last one, or an expired code, ends the session (log in again for a new code)."""
    risk = _risk(request)
    challenge = session.exec(select(StepUpChallenge).where(StepUpChallenge.session_id == user_session.id)).first()
    if challenge is None or challenge.verified_at is not None:
        return  # nothing to verify: the session is active already
    now = utcnow()
    if challenge.expires_at <= now or challenge.attempts >= risk.settings.code_attempts:
        crud.end_session(session=session, user_session=user_session, reason="step_up_failed")
        session.commit()
        raise StepUpFailed("the one-time code has expired or was mistyped too often; log in again for a new one")
    if not risk.code_matches(code, challenge.code_hash):
        challenge.attempts += 1
        left = risk.settings.code_attempts - challenge.attempts
        if left <= 0:
            crud.end_session(session=session, user_session=user_session, reason="step_up_failed")
        session.add(challenge)
        session.commit()
        raise StepUpFailed(f"wrong one-time code; {left} attempt{'s' if left != 1 else ''} left" if left > 0 else
                           "wrong one-time code, and that was the last attempt; log in again for a new code")
    challenge.verified_at = now
    session.add(challenge)
    crud.record_event(session=session, kind=EventKind.step_up_ok, user_id=user_session.user_id,
                      session_id=user_session.id)
    attempt_id = challenge.login_attempt_id
    session.commit()
    if attempt_id is not None:
        from unseen.logins.service import context_of
        from unseen.tables import LoginAttempt

        row = session.get(LoginAttempt, attempt_id)
        if row is not None:
            risk.learn(user_session.user_id, context_of(row))  # the user vouched for it: it is theirs now


def _facts(assessment: Assessment) -> dict:
    c = assessment.context
    return {"ip": c.ip, "country": c.country, "asn": c.asn, "asn_name": c.asn_name, "browser": c.browser,
            "os": c.os, "device": c.device, "risk": round(assessment.risk or 0.0, 3),
            "svm_risk": None if assessment.svm_risk is None else round(assessment.svm_risk, 3),
            "new_features": assessment.new_features, "reasons": assessment.reasons}


def _send_alerts(settings, email: str, name: str, assessment: Assessment, code: str | None) -> None:
    c = assessment.context
    where = f"{c.country or 'an unknown country'} ({c.ip}), {c.browser} on {c.os} ({c.device})"
    reasons = "\n".join(f"  - {reason}" for reason in assessment.reasons) or "  - (no single feature stood out)"
    user_body = (f"Hello {name},\n\nsomeone just logged in to your unseen account from {where}.\n"
                 f"This is unusual for your account:\n{reasons}\n\n")
    if code is not None:
        user_body += (f"To finish logging in, enter this one-time code: {code}\n(valid for "
                      f"{int(settings.login_risk.code_ttl_seconds // 60)} minutes).\n\n")
    user_body += "If this was not you, do not enter any code and change your password.\n"
    operator_body = (f"Unusual login to {email} from {where}; risk {assessment.risk:.2f}"
                     f"{'' if assessment.svm_risk is None else f' (One-Class SVM {assessment.svm_risk:.2f})'}; "
                     f"action: {assessment.action}.\nReasons:\n{reasons}\n")
    if not settings.smtp.enabled:
        hint = "" if settings.environment == "production" or code is None else f" (one-time code {code})"
        log.warning("SMTP is off: the unusual-login e-mail to %s was not sent%s", email, hint)
        return
    mailer = SmtpMailer(settings.smtp)
    for recipients, subject, body in (
            ([email], "Unusual login to your account" + (": your one-time code" if code else ""), user_body),
            (list(settings.smtp.operator_recipients), f"Unusual login to {email} ({assessment.action})",
             operator_body)):
        try:
            mailer.send(mailer.compose(recipients=recipients, subject=subject, body=body, kind="login_anomaly"))
        except (NotificationError, OSError) as exc:
            log.error("cannot send the unusual-login e-mail to %s: %s", ", ".join(recipients), exc)
