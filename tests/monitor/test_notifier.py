"""The notifier against a real SMTP server on loopback (aiosmtpd), including AUTH, STARTTLS and implicit TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import ssl
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr, ValidationError

from unseen.monitor.notifier import (
    BatchingNotifier,
    Notification,
    NotificationError,
    SmtpMailer,
    SmtpSettings,
)

from tests.mail import free_port

OPERATORS = ["ops@shop.example"]
USERNAME, PASSWORD = "monitor", "s3cret-password"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)



def smtp_settings(port: int, **overrides) -> SmtpSettings:
    options = dict(enabled=True, host="127.0.0.1", port=port, timeout=5.0,
                   sender="unseen monitor <monitor@shop.example>", operator_recipients=OPERATORS,
                   batch_seconds=0.2, retry_backoff_seconds=0.01)
    return SmtpSettings(**(options | overrides))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def blocked(ip: str, **fields) -> Notification:
    return Notification(kind="ip_blocked", subject=f"Blocked {ip}", lines=[f"{ip} sent 40 failed logins."],
                        facts={"ip": ip, "score": 12}, target=ip, **fields)


def test_urgent_notification_arrives_promptly_with_headers_and_body(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=60))
    alert = Notification(kind="login_anomaly", subject="New sign-in from Zürich", urgent=True,
                         recipients=("anna@customer.example",), target="203.0.113.7",
                         lines=["Someone signed in to your account from a new country.", "Your code: 482913"],
                         facts={"ip": "203.0.113.7", "country": "CH"})
    with notifier:
        notifier.notify(alert)
        [received] = smtp_server.handler.wait_for(1)

    message = received.message
    assert received.rcpt_tos == ["anna@customer.example"]
    assert received.mail_from == "monitor@shop.example"
    assert message["From"] == "unseen monitor <monitor@shop.example>"
    assert message["To"] == "anna@customer.example"
    assert message["Subject"] == "[unseen] New sign-in from Zürich"
    assert abs(parsedate_to_datetime(message["Date"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert re.fullmatch(r"<.+@shop\.example>", message["Message-ID"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Unseen-Kind"] == "login_anomaly"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert "Your code: 482913" in received.body
    assert re.search(r"^country: CH$", received.body, re.MULTILINE)
    assert notifier.stats().sent_messages == 1 and notifier.stats().sent_notifications == 1


def test_a_burst_of_500_becomes_one_digest_per_window(smtp_server):
    clock = FakeClock()
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=60), clock=clock)
    ips = [f"198.51.100.{i}" for i in range(1, 6)]
    with notifier:
        for i in range(500):
            assert notifier.notify(blocked(ips[i % 5]))
        assert wait_until(lambda: notifier.stats().pending == 500)
        time.sleep(0.3)  # longer than the sender's poll: the window has not ended, so nothing may go out yet
        assert smtp_server.handler.received == []
        clock.now += 61
        [digest] = smtp_server.handler.wait_for(1)
        time.sleep(0.3)
        assert len(smtp_server.handler.received) == 1

    assert digest.rcpt_tos == OPERATORS
    assert digest.message["Subject"] == "[unseen] 500 notifications: 500 ip_blocked"
    assert digest.message["X-Unseen-Kind"] == "digest"
    assert "500 notifications between" in digest.body
    summary = next(line for line in digest.body.splitlines() if line.startswith("- ip_blocked: 500"))
    assert all(ip in summary for ip in ips) and "5 targets" in summary
    assert "The first 20 of 200 distinct notifications" in digest.body
    assert "300 further distinct notifications were only counted" in digest.body
    stats = notifier.stats()
    assert (stats.sent_messages, stats.sent_notifications, stats.pending, stats.dropped) == (1, 500, 0, 0)


def test_a_burst_with_real_time_windows_is_bounded_by_the_windows(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=0.5,
                                                            max_targets_listed=300))
    with notifier:
        started = time.monotonic()
        for i in range(500):
            notifier.notify(blocked(f"192.0.2.{i % 250}"))
        burst_seconds = time.monotonic() - started
        assert wait_until(lambda: notifier.stats().sent_notifications == 500)
    digests = smtp_server.handler.received
    assert 1 <= len(digests) <= 2 + int(burst_seconds / 0.5)
    counted = sum(int(re.match(r"\[unseen\] (\d+) notifications", d.message["Subject"]).group(1)) for d in digests)
    assert counted == 500
    named = {ip for d in digests for ip in re.findall(r"192\.0\.2\.\d+", d.body)}
    assert len(named) == 250


def test_repeats_with_the_same_dedupe_key_are_folded_and_counted(smtp_server):
    clock = FakeClock()
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=60), clock=clock)
    with notifier:
        for _ in range(50):
            notifier.notify(blocked("10.0.0.9", dedupe_key="block:10.0.0.9"))
        notifier.notify(blocked("10.0.0.10", dedupe_key="block:10.0.0.10"))
        assert wait_until(lambda: notifier.stats().pending == 51)
        clock.now += 61
        [digest] = smtp_server.handler.wait_for(1)
    assert "49 of them repeated an earlier one" in digest.body
    assert "The first 2 of 2 distinct notifications" in digest.body
    assert "[ip_blocked] Blocked 10.0.0.9 (x50, last" in digest.body
    assert digest.body.count("[ip_blocked] Blocked 10.0.0.9") == 1
    assert notifier.stats().deduplicated == 49 and notifier.stats().sent_notifications == 51


def test_a_repeated_urgent_notification_goes_out_once_and_the_rest_join_the_digest(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=60))
    with notifier:
        for _ in range(3):
            notifier.notify(blocked("10.0.0.1", urgent=True, dedupe_key="block:10.0.0.1"))
        [urgent] = smtp_server.handler.wait_for(1)
        assert urgent.message["Subject"] == "[unseen] Blocked 10.0.0.1"
    received = smtp_server.handler.wait_for(2)
    assert len(received) == 2
    assert "[ip_blocked] Blocked 10.0.0.1 (x2, last" in received[1].body


def test_urgent_e_mail_is_capped_per_window_and_the_overflow_joins_the_digest(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=60, urgent_per_window=2))
    with notifier:
        for i in range(5):
            notifier.notify(blocked(f"10.0.1.{i}", urgent=True))
        assert wait_until(lambda: notifier.stats().sent_messages == 2 and notifier.stats().pending == 3)
    received = smtp_server.handler.wait_for(3)
    assert [r.message["Subject"] for r in received[:2]] == ["[unseen] Blocked 10.0.1.0", "[unseen] Blocked 10.0.1.1"]
    assert received[2].message["Subject"] == "[unseen] 3 notifications: 3 ip_blocked"


def test_stop_sends_what_is_pending(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=3600)).start()
    notifier.notify(blocked("10.0.0.1"))
    notifier.notify(blocked("10.0.0.2"))
    notifier.notify(Notification(kind="digest_for_user", subject="Your week", recipients=("bob@customer.example",)))
    notifier.stop()
    received = smtp_server.handler.wait_for(2, timeout=1.0)
    by_recipient = {tuple(r.rcpt_tos): r for r in received}
    assert set(by_recipient) == {tuple(OPERATORS), ("bob@customer.example",)}
    assert by_recipient[tuple(OPERATORS)].message["Subject"] == "[unseen] 2 notifications: 2 ip_blocked"
    assert notifier.stats().sent_notifications == 3 and notifier.stats().pending == 0


def test_stop_without_start_and_flush_send_what_is_queued(smtp_server):
    notifier = BatchingNotifier.from_settings(smtp_settings(smtp_server.port, batch_seconds=3600))
    notifier.notify(blocked("10.0.0.1"))
    assert notifier.flush()
    assert len(smtp_server.handler.wait_for(1)) == 1
    with notifier:
        notifier.notify(blocked("10.0.0.2"))
        assert notifier.flush(timeout=5)
        assert len(smtp_server.handler.received) == 2


def test_smtp_down_counts_failures_and_nothing_escapes_or_piles_up(caplog):
    settings = smtp_settings(free_port(), send_attempts=2, timeout=1.0)
    notifier = BatchingNotifier.from_settings(settings)
    with caplog.at_level(logging.WARNING, logger="unseen.monitor.notifier"), notifier:
        notifier.notify(blocked("10.0.0.1", urgent=True))
        for i in range(10):
            notifier.notify(blocked(f"10.0.0.{i}"))
        assert wait_until(lambda: notifier.stats().failed == 2)
    stats = notifier.stats()
    assert (stats.failed, stats.failed_notifications, stats.sent_messages, stats.queued, stats.pending) == (
        2, 11, 0, 0, 0)
    assert not notifier._thread.is_alive()
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(gave_up) == 2 and all("after 2 attempts" in r.getMessage() for r in gave_up)
    assert any(f"127.0.0.1:{settings.port}" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_the_mailer_raises_a_clear_error_when_the_server_is_unreachable():
    settings = smtp_settings(free_port(), timeout=1.0)
    mailer = SmtpMailer(settings)
    message = mailer.compose(recipients=OPERATORS, subject="hello", body="hi\n", kind="test")
    with pytest.raises(NotificationError, match=rf"'\[unseen\] hello' to ops@shop\.example through "
                                                rf"127\.0\.0\.1:{settings.port}: ConnectionRefusedError"):
        mailer.send(message)


def test_a_full_queue_drops_and_counts_without_blocking(smtp_server):
    notifier = BatchingNotifier(SmtpMailer(smtp_settings(smtp_server.port)), queue_size=5)
    accepted = [notifier.notify(blocked(f"10.0.0.{i}")) for i in range(12)]
    assert accepted == [True] * 5 + [False] * 7
    assert notifier.stats().dropped == 7 and notifier.stats().queued == 5
    notifier.stop()
    [digest] = smtp_server.handler.wait_for(1)
    assert "7 more were dropped before reaching this digest because the queue was full" in digest.body


def test_a_notification_without_any_recipient_is_dropped(smtp_server):
    notifier = BatchingNotifier(SmtpMailer(smtp_settings(smtp_server.port)), operator_recipients=[])
    assert notifier.notify(blocked("10.0.0.1")) is False
    assert notifier.dropped == 1


def test_subjects_cannot_inject_headers(smtp_server):
    mailer = SmtpMailer(smtp_settings(smtp_server.port))
    mailer.send(mailer.compose(recipients=OPERATORS, subject="login for x@y\r\nBcc: victim@example.org", body="b\n",
                               kind="login_anomaly"))
    [received] = smtp_server.handler.wait_for(1)
    assert received.message["Bcc"] is None and received.rcpt_tos == OPERATORS
    assert received.message["Subject"] == "[unseen] login for x@y Bcc: victim@example.org"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_plain_auth_logs_in(start_server):
    server = start_server(authenticator=authenticate, auth_required=True, auth_require_tls=False)
    mailer = SmtpMailer(smtp_settings(server.port, username=USERNAME, password=SecretStr(PASSWORD)))
    mailer.send(mailer.compose(recipients=OPERATORS, subject="auth", body="b\n", kind="test"))
    [received] = server.handler.wait_for(1)
    assert received.authenticated_as == USERNAME and not received.over_tls

    wrong = SmtpMailer(smtp_settings(server.port, username=USERNAME, password=SecretStr("wrong")))
    with pytest.raises(NotificationError, match="SMTPAuthenticationError"):
        wrong.send(wrong.compose(recipients=OPERATORS, subject="auth", body="b\n", kind="test"))


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (cryptography is in the dev extra)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(private_key.public_key()), critical=False)
        .sign(private_key, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_then_auth(start_server, self_signed):
    cert, key = self_signed
    server = start_server(tls_context=server_tls_context(cert, key), require_starttls=True,
                          authenticator=authenticate, auth_required=True)
    mailer = SmtpMailer(smtp_settings(server.port, use_tls=True, ca_file=cert, username=USERNAME,
                                      password=SecretStr(PASSWORD)))
    mailer.send(mailer.compose(recipients=OPERATORS, subject="over STARTTLS", body="b\n", kind="test"))
    [received] = server.handler.wait_for(1)
    assert received.over_tls and received.authenticated_as == USERNAME


def test_starttls_refuses_a_certificate_it_does_not_trust(start_server, self_signed):
    server = start_server(tls_context=server_tls_context(*self_signed), require_starttls=True)
    mailer = SmtpMailer(smtp_settings(server.port, use_tls=True))
    with pytest.raises(NotificationError, match="CERTIFICATE_VERIFY_FAILED"):
        mailer.send(mailer.compose(recipients=OPERATORS, subject="x", body="b\n", kind="test"))
    assert server.handler.received == []


def test_implicit_tls(start_server, self_signed):
    cert, key = self_signed
    server = start_server(ssl_context=server_tls_context(cert, key))
    notifier = BatchingNotifier.from_settings(smtp_settings(server.port, use_ssl=True, ca_file=cert))
    with notifier:
        notifier.notify(blocked("10.0.0.1", urgent=True))
        [received] = server.handler.wait_for(1)
    assert received.over_tls and received.message["Subject"] == "[unseen] Blocked 10.0.0.1"


def test_settings_refuse_contradictions_and_pick_usual_ports():
    with pytest.raises(ValidationError, match="exclude each other"):
        SmtpSettings(use_tls=True, use_ssl=True)
    with pytest.raises(ValidationError, match="USERNAME is empty"):
        SmtpSettings(password=SecretStr("x"))
    with pytest.raises(ValidationError, match="ASCII"):
        SmtpSettings(username="monitor", password=SecretStr("pässword"))
    assert [SmtpSettings(**o).resolved_port for o in ({}, {"use_tls": True}, {"use_ssl": True}, {"port": 2525})] == [
        25, 587, 465, 2525]
