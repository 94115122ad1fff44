"""Typed dependencies, so that route signatures stay short: ``SessionDep``, ``CurrentAuth``, ``OperatorAuth``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from unseen.config import Settings
from unseen.db import writer
from unseen.shop import crud
from unseen.shop.errors import Forbidden, Unauthorized
from unseen.tables import MAX_ID, Role, User, UserSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request; requests that change state take the write lock up front."""
    engine: Engine = request.app.state.engine
    if request.method not in SAFE_METHODS:
        engine = writer(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


@dataclass
class Auth:
    user: User
    session: UserSession

    @property
    def is_operator(self) -> bool:
        return self.user.role == Role.operator


def session_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(request.app.state.settings.session_cookie)


def get_any_auth(request: Request, session: SessionDep) -> Auth | None:
    """The session the request carries, active or waiting for its step-up code."""
    token = session_token(request)
    found = crud.resolve_session(session=session, token=token) if token else None
    if found is None:
        return None
    user_session, user = found
    request.state.user_id = user.id
    request.state.session_id = user_session.id
    request.state.role = user.role.value
    return Auth(user=user, session=user_session)


def get_auth(request: Request, session: SessionDep) -> Auth | None:
    """The active session; one still waiting for its step-up code counts as none."""
    auth = get_any_auth(request, session)
    if auth is not None and crud.step_up_pending(session=session, session_id=auth.session.id):
        request.state.step_up_pending = True
        return None
    return auth


def require_auth(request: Request, auth: Annotated[Auth | None, Depends(get_auth)]) -> Auth:
    if auth is None:
        if getattr(request.state, "step_up_pending", False):
            raise Unauthorized("this login must be confirmed first: POST the one-time code we e-mailed you to "
                               "/api/auth/step-up as {\"code\": \"123456\"}")
        raise Unauthorized("log in first: send the session cookie or `Authorization: Bearer <token>`")
    return auth


def require_operator(auth: Annotated[Auth, Depends(require_auth)]) -> Auth:
    if not auth.is_operator:
        raise Forbidden("this needs the operator role")
    return auth


OptionalAuth = Annotated[Auth | None, Depends(get_auth)]
AnyAuth = Annotated[Auth | None, Depends(get_any_auth)]
CurrentAuth = Annotated[Auth, Depends(require_auth)]
OperatorAuth = Annotated[Auth, Depends(require_operator)]
ProductId = Annotated[int, Path(ge=1, le=MAX_ID, description="A product id")]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="An order id")]


def client_ip(request: Request) -> str | None:
    """The client's address as the monitor resolved it (trusted proxies), else the socket peer."""
    resolved = getattr(request.state, "client_ip", None)
    if resolved:
        return resolved
    return request.client.host if request.client else None


def set_session_cookie(response, *, token: str, settings: Settings) -> None:
    response.set_cookie(
        settings.session_cookie, token, max_age=int(settings.session_lifetime_hours * 3600), httponly=True,
        samesite="lax", secure=settings.cookie_secure, path="/",
    )


def clear_session_cookie(response, *, settings: Settings) -> None:
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
