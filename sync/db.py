"""Engine set-up for the store: SQLite in WAL mode with safe write transactions, or PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

#: execution option that makes the next SQLite transaction take the write lock up front
IMMEDIATE = "pingyi_begin_immediate"
BUSY_TIMEOUT_MS = 10_000
#: SQLite reads the file through a memory map of up to this size instead of a read() call per
#: page past its 2 MB page cache: big reads (a million-row export, the fraud signals) run about
#: three times faster. Address space only; the OS page cache holds the data either way.
MMAP_BYTES = 1 << 30


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgres:// URLs, as hosting platforms hand them out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class WriteLock:
    """Serialises SQLite writers: threads by a mutex, processes by flock on a file beside the
    database. A writer waiting here wakes the moment the other commits, where one waiting in
    SQLite's busy handler sleeps in steps of up to 100 ms (the p99 of two gunicorn workers)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._mutex:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


_write_locks: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()


def configure_engine(engine: Engine) -> None:
    """Install SQLite pragmas and transaction control; nothing to do for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        _write_locks[engine] = WriteLock(os.path.abspath(database) + "-writelock")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A deferred transaction that later writes can fail with SQLITE_BUSY on lock upgrade
        # without waiting; writers take the lock at BEGIN so busy_timeout applies.
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one write transaction: committed whole or rolled back whole.

    Any read transaction the session is in is ended first: on SQLite a read transaction cannot
    be safely upgraded to a write one.
    """
    session.commit()  # ends any read transaction; a no-op when there is none
    bind = session.get_bind()
    with _file_lock(bind) if isinstance(bind, Engine) else nullcontext():
        session.connection(execution_options={IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _file_lock(engine: Engine):  # type: ignore[no-untyped-def]
    lock = _write_locks.get(engine)
    return lock.held() if lock else nullcontext()


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one write transaction, committed whole or rolled back whole.

    The sync path's own transaction: no ORM session around it (whose bookkeeping costs more
    than the batch's INSERTs). On SQLite it holds the write lock from BEGIN.
    """
    with engine.connect() as conn:
        conn.execution_options(**{IMMEDIATE: True})
        with _file_lock(engine), conn.begin():  # the lock is held for the transaction alone
            yield conn
