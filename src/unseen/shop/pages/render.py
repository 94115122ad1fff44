"""What every HTML page shares: templates, the CSRF cookie and field, form validation, flash messages."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from unseen.shop import crud
from unseen.shop.deps import Auth, SAFE_METHODS
from unseen.shop.errors import Forbidden
from unseen.shop.security import csrf_form_token, csrf_valid

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.filters["money"] = lambda cents: f"£{(cents or 0) / 100:,.2f}"

Model = TypeVar("Model", bound=BaseModel)

FLASH = {
    "registered": "Welcome! Your account is ready and you are logged in.",
    "logged_in": "You are logged in.",
    "logged_out": "You are logged out.",
    "step_up": "This login is unusual for your account: we e-mailed you a one-time code to confirm it.",
    "cart_added": "Added to your cart.",
    "cart_updated": "Cart updated.",
    "cart_removed": "Removed from your cart.",
    "favourite_added": "Saved to your favourites.",
    "favourite_removed": "Removed from your favourites.",
    "product_saved": "Product saved.",
    "product_deleted": "Product deleted.",
    "ordered": "Thank you! Your order is placed.",
}


class CsrfFailed(Forbidden):
    """The form's token is missing or does not match this browser's cookie."""


def csrf_cookie_value(request: Request) -> str:
    """This browser's CSRF cookie value, minted (and remembered for the response) when it has none."""
    name = request.app.state.settings.csrf_cookie
    value = request.cookies.get(name) or getattr(request.state, "new_csrf_cookie", None)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return value


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing form whose ``csrf_token`` field does not match the browser's CSRF cookie."""
    if request.method in SAFE_METHODS:
        return
    settings = request.app.state.settings
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_valid(request.cookies.get(settings.csrf_cookie), token if isinstance(token, str) else None,
                      settings.secret_key.get_secret_value()):
        raise CsrfFailed("the form has expired or did not come from this shop; reload the page and try again")


def _attach_csrf_cookie(request: Request, response) -> None:
    new = getattr(request.state, "new_csrf_cookie", None)
    if new:
        settings = request.app.state.settings
        response.set_cookie(settings.csrf_cookie, new, httponly=True, samesite="lax", secure=settings.cookie_secure,
                            path="/", max_age=60 * 60 * 24 * 30)


def render(
    request: Request,
    template: str,
    *,
    auth: Auth | None = None,
    session: Session | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings = request.app.state.settings
    cart_items = 0
    if auth is not None and session is not None:
        cart_items = crud.cart_count(session=session, user_id=auth.user.id)
    msg = request.query_params.get("msg")
    context.setdefault("errors", [])
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "auth": auth,
            "user": auth.user if auth else None,
            "is_operator": bool(auth and auth.is_operator),
            "cart_items": cart_items,
            "csrf_token": csrf_form_token(csrf_cookie_value(request), settings.secret_key.get_secret_value()),
            "flash": FLASH.get(msg or ""),
            **context,
        },
        status_code=status_code,
    )
    _attach_csrf_cookie(request, response)
    return response


def redirect(url: str, *, msg: str | None = None) -> RedirectResponse:
    if msg:
        url += ("&" if "?" in url else "?") + f"msg={msg}"
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/products") -> str:
    """A local path to go back to after login; anything else (another site, a scheme) becomes ``default``."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value and len(value) < 500:
        return value
    return default


def describe_errors(error: ValidationError) -> list[str]:
    """Readable, field-level messages: ``quantity: Input should be greater than or equal to 1``."""
    messages = []
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "form"
        messages.append(f"{field.replace('_', ' ')}: {item.get('msg', 'is not valid')}")
    return messages


def validate_form(model: type[Model], data: dict[str, Any]) -> tuple[Model | None, list[str]]:
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, describe_errors(error)
