"""Reading the shop's HTML pages in tests: the CSRF field, the error list, the cookies a response sets."""

from __future__ import annotations

import html
import re

import httpx
from fastapi.testclient import TestClient

_CSRF_FIELD = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"')
_ERROR_BLOCK = re.compile(r'<div class="errors" role="alert">(.*?)</div>', re.S)
_LIST_ITEM = re.compile(r"<li>(.*?)</li>", re.S)


def csrf_token(page: str) -> str:
    """The hidden ``csrf_token`` field of the first form on ``page``."""
    found = _CSRF_FIELD.search(page)
    assert found, "the page has no csrf_token field"
    return html.unescape(found.group(1))


def page_errors(page: str) -> list[str]:
    """The messages in the page's error box (empty when there is none)."""
    block = _ERROR_BLOCK.search(page)
    return [html.unescape(item).strip() for item in _LIST_ITEM.findall(block.group(1))] if block else []


def set_cookie_header(response: httpx.Response, name: str) -> str:
    """The whole ``Set-Cookie`` header that sets ``name`` (with its attributes)."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, f"expected one Set-Cookie for {name}, got {headers}"
    return headers[0]


def form_token(client: TestClient, url: str = "/login") -> str:
    """Load ``url`` (which mints the CSRF cookie if the browser has none) and return its form token."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    return csrf_token(response.text)


def submit(client: TestClient, url: str, data: dict[str, str] | None = None, *, token_from: str = "/login"):
    """Post a form the way a browser would: with the CSRF token of a page, without following the redirect."""
    return client.post(url, data={"csrf_token": form_token(client, token_from), **(data or {})},
                       follow_redirects=False)


def is_html(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")
