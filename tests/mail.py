"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: for every e-mail test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated_as: str | None
    over_tls: bool

    @property
    def body(self) -> str:
        return self.message.get_content().replace("\r\n", "\n")


class CollectingHandler:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        received = Received(envelope.mail_from, list(envelope.rcpt_tos),
                            message_from_bytes(envelope.content, policy=policy.default), login,
                            server.transport.get_extra_info("ssl_object") is not None)
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    handler: CollectingHandler
    port: int


@pytest.fixture
def start_server() -> Iterator[Callable[..., SmtpServer]]:
    controllers = []

    def start(**smtp_options) -> SmtpServer:
        handler = CollectingHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_options)
        controller.start()
        controllers.append(controller)
        return SmtpServer(handler, controller.port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_server) -> SmtpServer:
    return start_server()
