"""ASGI middleware that turns every request into a :class:`RequestRecord` and refuses blocked clients.

It is plain ASGI (no BaseHTTPMiddleware) so it adds little to each request: the client address is resolved, a
blocked client gets a short 403 at once, small request bodies are read once and replayed to the app (so their
decoded text can be inspected), the response status and size are observed as they pass, and the finished record
goes on the monitor's queue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from unseen.monitor.network import client_address
from unseen.monitor.records import RequestRecord
from unseen.monitor.service import Monitor
from unseen.tables import utcnow

Scope = dict
Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INSPECT_LIMIT = 64 * 1024
"""Bodies up to this size are read and inspected; the shop's own forms and JSON bodies are far smaller."""
PAYLOAD_TEXT_LIMIT = 8 * 1024
BLOCKED_BODY = b'{"detail":"access from your address is blocked for a while; contact the shop if this is a mistake"}'


def payload_text(body: bytes, content_type: str) -> str | None:
    """The text of a form or JSON body as a shopper typed it (values only), for signature checks."""
    if not body:
        return None
    text = body[:PAYLOAD_TEXT_LIMIT].decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return " ".join(value for key, value in parse_qsl(text, keep_blank_values=True) if key != "csrf_token")
    if "json" in content_type:
        try:
            return " ".join(_json_strings(json.loads(text)))
        except ValueError:
            return text
    return text


def _json_strings(value, depth: int = 0) -> list[str]:
    if depth > 20:
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in ([str(k)] + _json_strings(v, depth + 1))]
    if isinstance(value, list):
        return [s for v in value[:200] for s in _json_strings(v, depth + 1)]
    return [str(value)] if value is not None else []


def _login_email(path: str, method: str, body: bytes, content_type: str) -> str | None:
    if method != "POST" or path not in ("/api/auth/login", "/login") or not body:
        return None
    try:
        if "json" in content_type:
            value = json.loads(body[:PAYLOAD_TEXT_LIMIT]).get("email")
        else:
            value = dict(parse_qsl(body[:PAYLOAD_TEXT_LIMIT].decode("utf-8", errors="replace"))).get("email")
    except (ValueError, AttributeError):
        return None
    return str(value).strip().lower()[:254] if value else None


class CaptureMiddleware:
    def __init__(self, app, monitor: Monitor):
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = utcnow()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        peer = scope.get("client")[0] if scope.get("client") else None
        ip = client_address(peer, headers.get("x-forwarded-for"), self.monitor.trusted_proxies)
        scope.setdefault("state", {})["client_ip"] = ip
        method = scope.get("method", "GET")
        record = RequestRecord(
            at=at, ip=ip, method=method, path=scope.get("path", "")[:500],
            query=scope.get("query_string", b"").decode("latin-1")[:1000],
            user_agent=headers.get("user-agent"), referer=headers.get("referer"),
        )

        if self.monitor.blocked(ip) is not None and not self.monitor.allowlisted(ip):
            await _refuse(send, BLOCKED_BODY)
            record.status, record.response_bytes, record.blocked = 403, len(BLOCKED_BODY), True
            record.latency_ms = (time.perf_counter() - started) * 1000
            self.monitor.submit(record)
            return

        body, receive = await _read_small_body(receive, headers)
        content_type = headers.get("content-type", "")
        record.request_bytes = len(body) if body is not None else int(headers.get("content-length", 0) or 0)
        if body:
            record.payload = payload_text(body, content_type)
            record.login_email = _login_email(record.path, method, body, content_type)

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body":
                record.response_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            state = scope.get("state", {})
            record.user_id = state.get("user_id")
            record.session_id = state.get("session_id")
            record.role = state.get("role")
            record.latency_ms = (time.perf_counter() - started) * 1000
            if not record.status:
                record.status = 500
            self.monitor.submit(record)


async def _refuse(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_small_body(receive: Receive, headers: dict[str, str]) -> tuple[bytes | None, Receive]:
    """Read a small body whole and give back a ``receive`` that replays it; leave large or unknown ones alone."""
    try:
        length = int(headers.get("content-length", "0") or 0)
    except ValueError:
        return None, receive
    if length <= 0 or length > INSPECT_LIMIT:
        return (b"" if length == 0 else None), receive
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            replay_done = message

            async def replay_disconnect() -> Message:
                return replay_done

            return b"".join(chunks), replay_disconnect
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
