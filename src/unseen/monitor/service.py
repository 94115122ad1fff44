"""The monitor of one shop process: a bounded queue of request records, one background thread that judges them
(rules, then the anomaly model), acts on anomalies, and writes the request log in batches.

The request path only puts a record on the queue (``submit``) and asks ``blocked(ip)`` (a dictionary lookup), so it
never waits on the database. When the queue is full a record is dropped and counted, never blocking a request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from unseen.monitor.network import Network, in_networks, parse_networks
from unseen.monitor.records import RequestRecord
from unseen.tables import AllowlistEntry, Decision, RequestLog, utcnow

log = logging.getLogger(__name__)

Judge = Callable[[RequestRecord], RequestRecord]
Score = Callable[[list[RequestRecord]], None]
Act = Callable[[RequestRecord, "Monitor"], None]


@dataclass
class Block:
    decision_id: int | None
    expires_at: datetime | None
    reason: str


@dataclass
class MonitorStats:
    captured: int
    written: int
    dropped: int
    queued: int
    write_errors: int
    blocked_ips: int
    model_scored: int = 0
    """Windows the anomaly model scored."""
    model_flagged: int = 0
    """Of those, the confirmed anomalies."""


class Monitor:
    """Judge, act and log off the request path.

    Parameters
    ----------
    engine : Engine
        Where the request log and decisions live.
    judge : callable, optional
        ``judge(record) -> record`` fills category, score and reasons (the rule engine, then the model).
    score : callable, optional
        ``score(records)`` runs the anomaly model over the records of one tick after the rules judged them (see
        :class:`unseen.monitor.model.OnlineModel`); it may raise a record's category.
    act : callable, optional
        ``act(record, monitor)`` carries out automatic actions for a judged record.
    queue_size, batch_size, flush_seconds : int, int, float
        Bounds of the queue and of one database write.
    refresh_seconds : float
        How often blocks and the allowlist are re-read from the database (changes made by other processes, such as
        an operator's undo through another worker).
    """

    def __init__(self, engine: Engine, *, judge: Judge | None = None, score: Score | None = None,
                 act: Act | None = None,
                 queue_size: int = 50_000, batch_size: int = 500, flush_seconds: float = 0.25,
                 refresh_seconds: float = 2.0, trusted_proxies: list[str] | None = None,
                 allowlist: list[str] | None = None):
        self.engine = engine
        self.judge = judge or (lambda record: record)
        self.score = score
        self.act = act
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.refresh_seconds = refresh_seconds
        self.trusted_proxies: list[Network] = parse_networks(trusted_proxies or [])
        self._configured_allowlist: list[Network] = parse_networks(allowlist or [])
        self._allowlist: list[Network] = list(self._configured_allowlist)
        self._queue: queue.Queue[RequestRecord] = queue.Queue(maxsize=queue_size)
        self._blocks: dict[str, Block] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.captured = self.written = self.dropped = self.write_errors = 0
        self._pending = 0  # taken off the queue, not yet written

    # --- the request path -----------------------------------------------------------------------------------------

    def submit(self, record: RequestRecord) -> None:
        """Hand a record to the background thread; never blocks (a full queue drops and counts)."""
        self.captured += 1
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def blocked(self, ip: str) -> Block | None:
        """The active block of ``ip``, if any (expired blocks are forgotten here)."""
        block = self._blocks.get(ip)
        if block is None:
            return None
        if block.expires_at is not None and block.expires_at <= utcnow():
            with self._lock:
                self._blocks.pop(ip, None)
            return None
        return block

    def allowlisted(self, ip: str) -> bool:
        return in_networks(ip, self._allowlist)

    # --- blocks, set by actions and by the operator --------------------------------------------------------------

    def set_block(self, ip: str, block: Block) -> None:
        with self._lock:
            self._blocks[ip] = block

    def clear_block(self, ip: str) -> None:
        with self._lock:
            self._blocks.pop(ip, None)

    def refresh(self) -> None:
        """Re-read active blocks and the allowlist from the database."""
        now = utcnow()
        with Session(self.engine) as session:
            rows = session.exec(
                select(Decision).where(Decision.kind == "block_ip", col(Decision.undone_at).is_(None))
                .where((col(Decision.expires_at).is_(None)) | (col(Decision.expires_at) > now))
                .order_by(col(Decision.id))
            ).scalars().all()
            networks = session.exec(select(AllowlistEntry.network)).scalars().all()
        blocks = {d.target: Block(d.id, d.expires_at, d.reason) for d in rows}
        allow = self._configured_allowlist + parse_networks(networks)
        with self._lock:
            self._blocks = blocks
            self._allowlist = allow

    # --- the background thread ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="unseen-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after judging and writing everything still queued."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Monitor:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every record submitted so far is judged and written (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while (self._queue.unfinished_tasks or self._pending) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        # Work in ticks: wake every ``tick`` seconds and take whatever has queued up. Waking for every single
        # record would make this thread fight the event loop for the GIL on every request.
        tick = 0.05
        batch: list[dict] = []
        last_flush = last_refresh = time.monotonic()
        while True:
            stopping = self._stop.wait(tick)
            records: list[RequestRecord] = []
            while len(records) < 5000:
                try:
                    records.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if records:
                self._pending += len(records)
                batch += self._handle(records)
                for _ in records:
                    self._queue.task_done()
            now = time.monotonic()
            if batch and (len(batch) >= self.batch_size or now - last_flush >= self.flush_seconds or stopping):
                self._write(batch)
                self._pending -= len(batch)
                batch = []
                last_flush = now
            if now - last_refresh >= self.refresh_seconds:
                try:
                    self.refresh()
                except Exception:
                    log.exception("cannot refresh blocks and allowlist")
                last_refresh = now
            if stopping and not batch and self._queue.empty():
                return

    def _handle(self, records: list[RequestRecord]) -> list[dict]:
        """Judge one tick's records by the rules, then the model, then act; a bug in one never loses the log."""
        judged = []
        for record in records:
            try:
                judged.append(self.judge(record))
            except Exception:
                log.exception("cannot judge the request %s %s from %s", record.method, record.path, record.ip)
                judged.append(record)
        if self.score is not None:
            try:
                self.score(judged)
            except Exception:
                log.exception("the anomaly model failed on %d records", len(judged))
        if self.act is not None:
            for record in judged:
                try:
                    self.act(record, self)
                except Exception:
                    log.exception("cannot act on the request %s %s from %s", record.method, record.path, record.ip)
        return [_row(record) for record in judged]

    def _write(self, rows: list[dict]) -> None:
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(RequestLog.__table__), rows)
                self.written += len(rows)
                return
            except Exception:
                log.exception("cannot write %d request records (attempt %d)", len(rows), attempt + 1)
                time.sleep(0.2 * (attempt + 1))
        self.write_errors += len(rows)

    def stats(self) -> MonitorStats:
        return MonitorStats(captured=self.captured, written=self.written, dropped=self.dropped,
                            queued=self._queue.qsize(), write_errors=self.write_errors, blocked_ips=len(self._blocks),
                            model_scored=getattr(self.score, "scored", 0), model_flagged=getattr(self.score, "flagged", 0))


def _row(record: RequestRecord) -> dict:
    return dict(
        at=record.at, ip=record.ip[:64], method=record.method[:10], path=record.path[:500], query=record.query[:1000],
        status=record.status, latency_ms=record.latency_ms, user_agent=(record.user_agent or None) and record.user_agent[:400],
        referer=(record.referer or None) and record.referer[:500], user_id=record.user_id, session_id=record.session_id,
        request_bytes=record.request_bytes, response_bytes=record.response_bytes, category=record.category.value,
        score=record.score, reasons=record.reasons or None, anomaly_kind=getattr(record, "anomaly_kind", None),
        model_score=getattr(record, "model_score", None), blocked=getattr(record, "blocked", False),
    )
