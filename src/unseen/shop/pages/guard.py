"""Page-side authentication: a visitor who is not logged in is sent to the login page and brought back."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from unseen.shop.deps import Auth, OptionalAuth
from unseen.shop.errors import Forbidden, ShopError


class LoginRequired(ShopError):
    status_code = 303

    def __init__(self, next_url: str):
        super().__init__("log in first")
        self.next_url = next_url


def require_page_auth(request: Request, auth: OptionalAuth) -> Auth:
    if auth is None:
        if request.method == "GET":
            target = request.url.path
        else:  # after login, go back to the page the form was on
            referer = urlsplit(request.headers.get("referer", ""))
            target = referer.path if referer.netloc == request.url.netloc and referer.path else "/products"
        raise LoginRequired(target)
    return auth


def require_page_operator(auth: Annotated[Auth, Depends(require_page_auth)]) -> Auth:
    if not auth.is_operator:
        raise Forbidden("this page is for operators only")
    return auth


PageAuth = Annotated[Auth, Depends(require_page_auth)]
PageOperator = Annotated[Auth, Depends(require_page_operator)]
