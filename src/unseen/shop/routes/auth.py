from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from unseen.shop import crud
from unseen.shop.deps import CurrentAuth, SessionDep, SettingsDep, clear_session_cookie, client_ip, set_session_cookie
from unseen.shop.errors import Unauthorized
from unseen.shop.schemas import LoginIn, LoginOut
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
def login(body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> LoginOut:
    """Open a session: the token comes back in the body and as an HttpOnly cookie."""
    ip, agent = client_ip(request), request.headers.get("user-agent")
    try:
        user = crud.authenticate(session=session, engine=request.app.state.engine, email=str(body.email),
                                 password=body.password, ip=ip, user_agent=agent)
    except Unauthorized:
        session.commit()  # keep the login_fail event
        raise
    user_session, token = crud.start_session(
        session=session, user=user, lifetime=timedelta(hours=settings.session_lifetime_hours), ip=ip, user_agent=agent
    )
    session.commit()
    set_session_cookie(response, token=token, settings=settings)
    return LoginOut(token=token, expires_at=user_session.expires_at, user=UserPublic.model_validate(user))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: CurrentAuth, session: SessionDep, settings: SettingsDep) -> Response:
    """End the current session."""
    crud.end_session(session=session, user_session=auth.session)
    session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings=settings)
    return response


@router.get("/me", response_model=UserPublic)
def me(auth: CurrentAuth) -> UserPublic:
    """The logged-in user."""
    return UserPublic.model_validate(auth.user)
