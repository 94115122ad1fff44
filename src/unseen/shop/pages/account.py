"""Register, log in, log out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Request

from unseen.shop import crud, login_flow
from unseen.shop.deps import (
    AnyAuth,
    OptionalAuth,
    SessionDep,
    SettingsDep,
    clear_session_cookie,
    client_ip,
    set_session_cookie,
)
from unseen.shop.errors import Conflict, Unauthorized
from unseen.shop.pages.render import redirect, render, safe_next, validate_form
from unseen.shop.schemas import LoginIn, StepUpIn
from unseen.tables import UserCreate

router = APIRouter()
Text = Annotated[str, Form()]


def _log_in(request: Request, session, settings, user, next_url: str, msg: str):
    _, token = crud.start_session(
        session=session, user=user, lifetime=timedelta(hours=settings.session_lifetime_hours),
        ip=client_ip(request), user_agent=request.headers.get("user-agent"),
    )
    session.commit()
    response = redirect(next_url, msg=msg)
    set_session_cookie(response, token=token, settings=settings)
    return response


@router.get("/register")
def register_page(request: Request, auth: OptionalAuth, session: SessionDep):
    return render(request, "register.html", auth=auth, session=session, form={})


@router.post("/register")
def register(request: Request, session: SessionDep, settings: SettingsDep, auth: OptionalAuth,
             email: Text = "", full_name: Text = "", password: Text = ""):
    form = {"email": email, "full_name": full_name}
    user_in, errors = validate_form(UserCreate, {"email": email, "full_name": full_name, "password": password})
    if user_in is None:
        return render(request, "register.html", auth=auth, session=session, form=form, errors=errors, status_code=422)
    try:
        user = crud.create_user(session=session, user_in=user_in)
    except Conflict as exc:
        return render(request, "register.html", auth=auth, session=session, form=form, errors=[exc.message],
                      status_code=409)
    return _log_in(request, session, settings, user, "/products", "registered")


@router.get("/login")
def login_page(request: Request, auth: OptionalAuth, session: SessionDep, next: str | None = None):
    return render(request, "login.html", auth=auth, session=session, form={}, next=safe_next(next))


@router.post("/login")
def login(request: Request, session: SessionDep, settings: SettingsDep, auth: OptionalAuth, background: BackgroundTasks,
          email: Text = "", password: Text = "", next: Text = ""):
    target = safe_next(next)
    form = {"email": email}
    body, errors = validate_form(LoginIn, {"email": email, "password": password})
    if body is None:
        return render(request, "login.html", auth=auth, session=session, form=form, next=target, errors=errors,
                      status_code=422)
    try:
        result = login_flow.log_in(request, session, str(body.email), body.password, background)
    except Unauthorized as exc:
        return render(request, "login.html", auth=auth, session=session, form=form, next=target,
                      errors=[exc.message], status_code=401)
    if result.step_up:
        response = redirect(f"/login/verify?next={quote(target)}", msg="step_up")
    else:
        response = redirect(target, msg="logged_in")
    set_session_cookie(response, token=result.token, settings=settings)
    return response


@router.get("/login/verify")
def verify_page(request: Request, auth: AnyAuth, session: SessionDep, next: str | None = None):
    if auth is None:
        return redirect("/login", msg=None)
    return render(request, "login_verify.html", auth=None, session=session, next=safe_next(next))


@router.post("/login/verify")
def verify(request: Request, auth: AnyAuth, session: SessionDep, code: Text = "", next: Text = ""):
    target = safe_next(next)
    if auth is None:
        return redirect("/login", msg=None)
    body, errors = validate_form(StepUpIn, {"code": code.strip()})
    if body is None:
        return render(request, "login_verify.html", auth=None, session=session, next=target, errors=errors,
                      status_code=422)
    try:
        login_flow.verify_step_up(request, session, auth.session, body.code)
    except Unauthorized as exc:
        return render(request, "login_verify.html", auth=None, session=session, next=target, errors=[exc.message],
                      status_code=401)
    return redirect(target, msg="logged_in")


@router.get("/logout")
def logout_page(request: Request, auth: OptionalAuth, session: SessionDep):
    return render(request, "logout.html", auth=auth, session=session)


@router.post("/logout")
def logout(auth: AnyAuth, session: SessionDep, settings: SettingsDep):
    if auth is not None:
        crud.end_session(session=session, user_session=auth.session)
        session.commit()
    response = redirect("/", msg="logged_out")
    clear_session_cookie(response, settings=settings)
    return response
