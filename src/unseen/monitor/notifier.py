"""E-mail to the operator and to users through SMTP, batched so that an attack does not become a mail storm.

``BatchingNotifier.notify`` never blocks the request path: it puts the notification on a bounded queue (and counts
what does not fit). A background thread sends urgent notifications at once (a login alert, a one-time code) and
groups the rest into one digest per recipient list and batch window, folding repeats that share a dedupe key.
When SMTP fails it retries with backoff, then drops that e-mail and counts it, so nothing piles up without bound.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.25
"""Longest the sender thread sleeps between looks at the clock, so an injected clock's jumps are seen promptly."""


class NotificationError(RuntimeError):
    """An e-mail could not be handed to the SMTP server."""


class SmtpSettings(BaseModel):
    """How unseen sends e-mail; part of ``Settings`` as ``smtp`` (environment ``UNSEEN_SMTP__HOST`` and so on)."""

    enabled: bool = False
    """Off by default so that a development checkout never tries to reach a mail server."""
    host: str = "localhost"
    port: int | None = Field(default=None, ge=1, le=65535)
    """None picks the usual port: 465 with ``use_ssl``, 587 with ``use_tls``, 25 otherwise."""
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False
    """Upgrade the connection with STARTTLS before logging in (port 587 style)."""
    use_ssl: bool = False
    """Speak TLS from the first byte (port 465 style)."""
    ca_file: Path | None = None
    """Certificates to trust instead of the system store, for a private CA or a self-signed server."""
    timeout: float = Field(default=10.0, gt=0)
    sender: str = "unseen monitor <monitor@unseen.example>"
    operator_recipients: list[str] = Field(default_factory=lambda: ["operator@unseen.example"])
    """Where operator notifications go; a JSON list in the environment: ``'["a@x.example", "b@x.example"]'``."""
    subject_prefix: str = "[unseen] "

    batch_seconds: float = Field(default=60.0, gt=0)
    max_per_batch: int = Field(default=200, ge=1)
    """Distinct notifications one batch window keeps in full; beyond that they are only counted in the summary."""
    digest_details: int = Field(default=20, ge=0)
    """Detailed entries written into one digest; the summary always counts all of them."""
    max_targets_listed: int = Field(default=50, ge=1)
    """Distinct targets (IP addresses, accounts) a digest names per kind."""
    urgent_per_window: int = Field(default=20, ge=0)
    """Urgent e-mails sent at once per batch window; more urgent notifications join the digest instead."""
    queue_size: int = Field(default=10_000, ge=1)
    send_attempts: int = Field(default=3, ge=1)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    """Wait before the second attempt; it doubles for each further attempt."""

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.use_tls and self.use_ssl:
            raise ValueError("UNSEEN_SMTP__USE_TLS (STARTTLS) and UNSEEN_SMTP__USE_SSL (implicit TLS) exclude each "
                             "other; set only one of them")
        if self.password is not None and not self.username:
            raise ValueError("UNSEEN_SMTP__PASSWORD is set but UNSEEN_SMTP__USERNAME is empty; set both or neither")
        password = self.password.get_secret_value() if self.password else ""
        if not ((self.username or "") + password).isascii():
            # smtplib encodes AUTH credentials as ASCII and would fail on every send.
            raise ValueError("UNSEEN_SMTP__USERNAME and UNSEEN_SMTP__PASSWORD must be ASCII; smtplib cannot send "
                             "other characters in AUTH")
        return self

    @property
    def resolved_port(self) -> int:
        if self.port is not None:
            return self.port
        return 465 if self.use_ssl else 587 if self.use_tls else 25


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Notification:
    """Something a person should read. With no ``recipients`` it goes to the operators.

    ``target`` is what it is about (an IP address, an account) and is listed in digests. Notifications with the same
    ``dedupe_key`` within one batch window are folded into one entry with a count; leave it None for messages that
    must each arrive, such as a one-time code. Send a user and the operators separate notifications, so that a code
    meant for the user never lands in the operators' mailbox.
    """

    kind: str
    subject: str
    lines: Sequence[str] = ()
    facts: Mapping[str, object] = field(default_factory=dict)
    target: str | None = None
    recipients: tuple[str, ...] = ()
    urgent: bool = False
    dedupe_key: str | None = None
    created: datetime = field(default_factory=_utcnow)

    def render(self) -> str:
        """The body of this notification alone: its lines, then its facts, then when it happened."""
        parts = list(self.lines)
        if self.facts:
            if parts:
                parts.append("")
            width = max(len(str(name)) for name in self.facts)
            parts.extend(f"{str(name) + ':':<{width + 1}} {value}" for name, value in self.facts.items())
        if parts:
            parts.append("")
        parts.append(f"At {_format_time(self.created)}.")
        return "\n".join(parts) + "\n"


class SmtpMailer:
    """Sends one plain-text e-mail per call through the configured SMTP server."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        needs_tls = settings.use_tls or settings.use_ssl
        cafile = str(settings.ca_file) if settings.ca_file else None
        self._ssl_context = ssl_context or (ssl.create_default_context(cafile=cafile) if needs_tls else None)
        _, address = parseaddr(settings.sender)
        self._message_id_domain = address.rpartition("@")[2] or "unseen.invalid"

    def compose(self, *, recipients: Sequence[str], subject: str, body: str, kind: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(recipients)
        # Subjects often quote what a client sent (an account name); a line break there would forge headers.
        message["Subject"] = " ".join((self.settings.subject_prefix + subject).split())
        message["Date"] = format_datetime(_utcnow())
        message["Message-ID"] = make_msgid(domain=self._message_id_domain)
        # RFC 3834: tells vacation responders and mailing lists not to answer a machine.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Unseen-Kind"] = " ".join(kind.split())
        message.set_content(body, charset="utf-8")
        return message

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server; raise ``NotificationError`` when that fails."""
        settings, port = self.settings, self.settings.resolved_port
        try:
            if settings.use_ssl:
                client = smtplib.SMTP_SSL(settings.host, port, timeout=settings.timeout, context=self._ssl_context)
            else:
                client = smtplib.SMTP(settings.host, port, timeout=settings.timeout)
            with client:
                client.ehlo()
                if settings.use_tls:
                    client.starttls(context=self._ssl_context)
                    client.ehlo()
                if settings.username:
                    password = settings.password.get_secret_value() if settings.password else ""
                    client.login(settings.username, password)
                refused = client.send_message(message)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            logger.warning("SMTP %s:%s did not take %r for %s: %s: %s", settings.host, port, message["Subject"],
                           message["To"], type(exc).__name__, exc)
            raise NotificationError(f"could not send {message['Subject']!r} to {message['To']} through "
                                    f"{settings.host}:{port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            logger.warning("SMTP %s:%s refused some recipients of %r: %s", settings.host, port, message["Subject"],
                           refused)


@dataclass
class _Entry:
    notification: Notification
    count: int = 1
    last: datetime | None = None


@dataclass
class _KindSummary:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    targets: dict[str, None] = field(default_factory=dict)  # an insertion-ordered set
    more_targets: bool = False


class _Digest:
    """What one recipient list is owed for one batch window, in bounded memory."""

    def __init__(self, recipients: tuple[str, ...], *, opened_at: float, max_entries: int, max_targets: int) -> None:
        self.recipients = recipients
        self.opened_at = opened_at
        self._max_entries, self._max_targets = max_entries, max_targets
        self._entries: dict[object, _Entry] = {}
        self._kinds: dict[str, _KindSummary] = {}
        self.total = self.repeats = self.counted_only = 0

    def add(self, notification: Notification) -> None:
        self.total += 1
        summary = self._kinds.setdefault(notification.kind, _KindSummary())
        summary.count += 1
        summary.first = min(summary.first or notification.created, notification.created)
        summary.last = max(summary.last or notification.created, notification.created)
        if notification.target is not None and notification.target not in summary.targets:
            if len(summary.targets) < self._max_targets:
                summary.targets[notification.target] = None
            else:
                summary.more_targets = True
        key = notification.dedupe_key if notification.dedupe_key is not None else object()
        if (entry := self._entries.get(key)) is not None:
            entry.count += 1
            entry.last = notification.created
            self.repeats += 1
        elif len(self._entries) < self._max_entries:
            self._entries[key] = _Entry(notification, last=notification.created)
        else:
            self.counted_only += 1

    def render(self, *, details: int, dropped: int) -> tuple[str, str]:
        kinds = sorted(self._kinds.items(), key=lambda item: (-item[1].count, item[0]))
        first = min(summary.first for _, summary in kinds if summary.first)
        last = max(summary.last for _, summary in kinds if summary.last)
        subject = f"{self.total} notifications: " + ", ".join(f"{s.count} {kind}" for kind, s in kinds[:4])
        if len(kinds) > 4:
            subject += f" and {len(kinds) - 4} more kinds"
        lines = [f"{self.total} notifications between {_format_time(first)} and {_format_time(last)}."]
        if self.repeats:
            lines.append(f"{self.repeats} of them repeated an earlier one (same dedupe key) and are folded into it.")
        if dropped:
            lines.append(f"{dropped} more were dropped before reaching this digest because the queue was full.")
        lines += ["", "By kind:"]
        for kind, summary in kinds:
            targets = ", ".join(summary.targets) + (", ..." if summary.more_targets else "")
            named = f"; {len(summary.targets)}{'+' if summary.more_targets else ''} targets: {targets}"
            lines.append(f"- {kind}: {summary.count} (first {_format_time(summary.first)}, last "
                         f"{_format_time(summary.last)}){named if summary.targets else ''}")
        shown = list(self._entries.values())[:details]
        if shown:
            lines += ["", f"The first {len(shown)} of {len(self._entries)} distinct notifications:"]
        for entry in shown:
            note = entry.notification
            repeated = f" (x{entry.count}, last {_format_time(entry.last)})" if entry.count > 1 else ""
            lines += ["", f"[{note.kind}] {note.subject}{repeated}"]
            lines += ["    " + line if line else "" for line in note.render().splitlines()]
        if self.counted_only:
            lines += ["", f"{self.counted_only} further distinct notifications were only counted: a window keeps "
                          f"at most {self._max_entries} in full."]
        return subject, "\n".join(lines) + "\n"


@dataclass(frozen=True)
class NotifierStats:
    """Counters for the dashboard, since the notifier was created."""

    sent_messages: int
    sent_notifications: int
    dropped: int
    """Notifications refused because the queue was full (or that had no recipient)."""
    failed: int
    """E-mails given up after every attempt failed."""
    failed_notifications: int
    deduplicated: int
    queued: int
    """Waiting on the queue for the sender thread."""
    pending: int
    """Taken by the sender thread and waiting for the end of their batch window."""


class BatchingNotifier:
    """Sends notifications from a background thread: urgent ones at once, the rest as one digest per window.

    Use it as a context manager, or call ``start()`` and ``stop()``; ``stop()`` sends what is pending first.
    """

    def __init__(self, mailer: SmtpMailer, *, batch_seconds: float = 60.0, max_per_batch: int = 200,
                 clock: Callable[[], float] = time.monotonic, digest_details: int = 20,
                 max_targets_listed: int = 50, urgent_per_window: int = 20, queue_size: int = 10_000,
                 send_attempts: int = 3, retry_backoff_seconds: float = 1.0,
                 operator_recipients: Sequence[str] | None = None) -> None:
        self.mailer = mailer
        self.batch_seconds, self.max_per_batch, self.clock = batch_seconds, max_per_batch, clock
        self.digest_details, self.max_targets_listed = digest_details, max_targets_listed
        self.urgent_per_window, self.send_attempts = urgent_per_window, send_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        operators = mailer.settings.operator_recipients if operator_recipients is None else operator_recipients
        self.operator_recipients = tuple(operators)
        self._queue: queue.Queue[Notification | None] = queue.Queue(maxsize=queue_size)
        self._digests: dict[tuple[str, ...], _Digest] = {}
        self._urgent_sent_at: deque[float] = deque()
        self._urgent_keys: dict[str, float] = {}
        self._counts: Counter[str] = Counter()
        self._dropped_unreported = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._flush_waiters: list[threading.Event] = []
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: SmtpSettings, *, clock: Callable[[], float] = time.monotonic) -> Self:
        return cls(SmtpMailer(settings), batch_seconds=settings.batch_seconds, max_per_batch=settings.max_per_batch,
                   clock=clock, digest_details=settings.digest_details,
                   max_targets_listed=settings.max_targets_listed, urgent_per_window=settings.urgent_per_window,
                   queue_size=settings.queue_size, send_attempts=settings.send_attempts,
                   retry_backoff_seconds=settings.retry_backoff_seconds)

    def notify(self, notification: Notification) -> bool:
        """Queue ``notification`` without waiting; False (and counted as dropped) when it cannot be taken."""
        if not (notification.recipients or self.operator_recipients):
            logger.warning("notification %r has no recipient and no operator address is configured; dropped",
                           notification.subject)
            self._count_drop()
            return False
        try:
            self._queue.put_nowait(notification)
        except queue.Full:
            if self._count_drop() == 1:
                logger.warning("notification queue is full (%d); dropping notifications until it drains",
                               self._queue.maxsize)
            return False
        return True

    def start(self) -> Self:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="unseen-notifier", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Send everything pending, then end the sender thread (waiting at most ``timeout`` seconds)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._send_pending()
            return
        self._stopping.set()
        self._wake()
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("notifier thread did not finish within %.1f s; pending e-mail may be lost", timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Send everything pending now instead of at the end of its window; True once done."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._send_pending()
            return True
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake()
        return done.wait(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stats(self) -> NotifierStats:
        with self._lock:
            counts = dict(self._counts)
        names = ("sent_messages", "sent_notifications", "dropped", "failed", "failed_notifications", "deduplicated")
        return NotifierStats(**{name: counts.get(name, 0) for name in names}, queued=self._queue.qsize(),
                             pending=counts.get("pending", 0))

    @property
    def sent_messages(self) -> int:
        return self.stats().sent_messages

    @property
    def sent_notifications(self) -> int:
        return self.stats().sent_notifications

    @property
    def dropped(self) -> int:
        return self.stats().dropped

    @property
    def failed(self) -> int:
        return self.stats().failed

    def _count_drop(self) -> int:
        with self._lock:
            self._counts["dropped"] += 1
            self._dropped_unreported += 1
            return self._dropped_unreported

    def _wake(self) -> None:
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # a full queue wakes the sender anyway

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._seconds_until_due())
            except queue.Empty:
                item = None
            stopping = self._stopping.is_set()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            try:
                if item is not None:
                    self._accept(item)
                if stopping or waiters:
                    self._send_pending()
                else:
                    self._send_due_digests()
            except Exception:
                # A bug here must not silently end e-mail for the rest of the process.
                logger.exception("notifier failed while handling %r; continuing", item)
            for waiter in waiters:
                waiter.set()
            if stopping:
                return

    def _seconds_until_due(self) -> float:
        if not self._digests:
            return _POLL_SECONDS
        due = min(digest.opened_at for digest in self._digests.values()) + self.batch_seconds
        return min(max(due - self.clock(), 0.0), _POLL_SECONDS)

    def _accept(self, notification: Notification) -> None:
        recipients = notification.recipients or self.operator_recipients
        if notification.urgent and self._may_send_urgent(notification):
            message = self.mailer.compose(recipients=recipients, subject=notification.subject,
                                          body=notification.render(), kind=notification.kind)
            self._deliver(message, notifications=1)
            return
        digest = self._digests.get(recipients)
        if digest is None:
            digest = self._digests[recipients] = _Digest(recipients, opened_at=self.clock(),
                                                         max_entries=self.max_per_batch,
                                                         max_targets=self.max_targets_listed)
        repeats_before = digest.repeats
        digest.add(notification)
        with self._lock:
            self._counts["pending"] += 1
            self._counts["deduplicated"] += digest.repeats - repeats_before

    def _may_send_urgent(self, notification: Notification) -> bool:
        """Whether an urgent notification goes out alone; repeats and a flood of them join the digest instead."""
        now = self.clock()
        horizon = now - self.batch_seconds
        while self._urgent_sent_at and self._urgent_sent_at[0] <= horizon:
            self._urgent_sent_at.popleft()
        self._urgent_keys = {key: at for key, at in self._urgent_keys.items() if at > horizon}
        if notification.dedupe_key is not None and notification.dedupe_key in self._urgent_keys:
            return False
        if len(self._urgent_sent_at) >= self.urgent_per_window:
            return False
        self._urgent_sent_at.append(now)
        if notification.dedupe_key is not None:
            self._urgent_keys[notification.dedupe_key] = now
        return True

    def _send_due_digests(self) -> None:
        now = self.clock()
        for recipients in [r for r, d in self._digests.items() if now - d.opened_at >= self.batch_seconds]:
            self._send_digest(self._digests.pop(recipients))

    def _send_pending(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._accept(item)
        while self._digests:
            self._send_digest(self._digests.pop(next(iter(self._digests))))

    def _send_digest(self, digest: _Digest) -> None:
        dropped = 0
        if digest.recipients == self.operator_recipients:
            with self._lock:
                dropped, self._dropped_unreported = self._dropped_unreported, 0
        with self._lock:
            self._counts["pending"] -= digest.total
        subject, body = digest.render(details=self.digest_details, dropped=dropped)
        message = self.mailer.compose(recipients=digest.recipients, subject=subject, body=body, kind="digest")
        self._deliver(message, notifications=digest.total)

    def _deliver(self, message: EmailMessage, *, notifications: int) -> None:
        for attempt in range(1, self.send_attempts + 1):
            try:
                self.mailer.send(message)
            except NotificationError:
                if attempt < self.send_attempts:
                    # Waiting on the stop event: a stop() in progress retries at once instead of sleeping.
                    self._stopping.wait(self.retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            with self._lock:
                self._counts["sent_messages"] += 1
                self._counts["sent_notifications"] += notifications
            return
        with self._lock:
            self._counts["failed"] += 1
            self._counts["failed_notifications"] += notifications
        logger.error("gave up on e-mail %r to %s after %d attempts; %d notifications in it are lost",
                     message["Subject"], message["To"], self.send_attempts, notifications)
