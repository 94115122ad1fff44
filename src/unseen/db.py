"""Engine and sessions. SQLite (WAL, foreign keys on) is the embedded default; PostgreSQL works by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from unseen import tables  # noqa: F401  (registers every table on SQLModel.metadata)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``.

    SQLite files get WAL journaling and foreign keys; ``sqlite://`` (in memory) uses one shared connection so that
    every session sees the same database. PostgreSQL URLs may be given as ``postgresql://``; they use psycopg 3.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if not in_memory:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if in_memory:
            kwargs["poolclass"] = StaticPool
        else:  # as many connections as the server has worker threads (anyio's 40), so none waits for the pool
            kwargs.update(pool_size=20, max_overflow=30)
        engine = create_engine(parsed, echo=echo, **kwargs)
        _configure_sqlite(engine, wal=not in_memory)
        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=30)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised through every SQLite test
        # pysqlite's own transaction handling delays BEGIN; take control so that BEGIN IMMEDIATE works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised through every SQLite test
        # A transaction that will write takes the write lock at its start (BEGIN IMMEDIATE): a deferred one that
        # read first could not upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT). Readers stay
        # deferred and, in WAL mode, are never blocked.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet. Safe to call on every start."""
    SQLModel.metadata.create_all(engine)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock at once on SQLite (no-op elsewhere)."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error; ``write`` takes the write lock up front."""
    with Session(writer(engine) if write else engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
