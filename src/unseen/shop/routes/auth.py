from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from unseen.shop import crud, login_flow
from unseen.shop.deps import AnyAuth, CurrentAuth, SessionDep, SettingsDep, clear_session_cookie, set_session_cookie
from unseen.shop.errors import Unauthorized
from unseen.shop.schemas import LoginIn, LoginOut, StepUpIn
from unseen.tables import UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic,
             responses={409: {"description": "An account with this e-mail exists"}})
def register(user_in: UserCreate, session: SessionDep) -> UserPublic:
    """Create a customer account (log in afterwards)."""
    user = crud.create_user(session=session, user_in=user_in)
    session.commit()
    return UserPublic.model_validate(user)


@router.post("/login", response_model=LoginOut, responses={401: {"description": "Wrong e-mail or password"}})
def login(body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep,
          background: BackgroundTasks) -> LoginOut:
    """Open a session: the token comes back in the body and as an HttpOnly cookie. A login unusual for the account
    (another country, browser, network...) is reported to the user by e-mail; a risky one answers with
    `step_up_required` and its session stays inactive until the one-time code from that e-mail is confirmed."""
    result = login_flow.log_in(request, session, str(body.email), body.password, background)
    set_session_cookie(response, token=result.token, settings=settings)
    return LoginOut(token=result.token, expires_at=result.user_session.expires_at,
                    user=UserPublic.model_validate(result.user), step_up_required=result.step_up)


@router.post("/step-up", response_model=UserPublic,
             responses={401: {"description": "No session, a wrong or expired code, or no attempts left"}})
def step_up(body: StepUpIn, request: Request, auth: AnyAuth, session: SessionDep) -> UserPublic:
    """Confirm a stepped-up login with the one-time code e-mailed to the user; the session becomes active."""
    if auth is None:
        raise Unauthorized("log in first: send the session cookie or `Authorization: Bearer <token>` of the login")
    login_flow.verify_step_up(request, session, auth.session, body.code)
    return UserPublic.model_validate(auth.user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: AnyAuth, session: SessionDep, settings: SettingsDep) -> Response:
    """End the current session (also one still waiting for its step-up code)."""
    if auth is None:
        raise Unauthorized("log in first: send the session cookie or `Authorization: Bearer <token>`")
    crud.end_session(session=session, user_session=auth.session)
    session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings=settings)
    return response


@router.get("/me", response_model=UserPublic)
def me(auth: CurrentAuth) -> UserPublic:
    """The logged-in user."""
    return UserPublic.model_validate(auth.user)
