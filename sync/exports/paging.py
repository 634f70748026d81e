"""Reading an export page by page: keyset pages, each in its own short read transaction, read
in order and, for downloads, a few at once.

A page's keys are read first (cheap: an index range scan), one page ahead; its rows are read by
the calling thread or, with `threads` > 1, by that many worker threads with their own sessions.
The store does the work outside the GIL (SQLite builds a page's CSV in one step, PostgreSQL in
its own processes), so a second core nearly doubles the rate of a download.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .responses import ResponsesExport

#: rows per keyset page: each page is its own short transaction
PAGE_SIZE = 50_000
#: pages a download reads at once, each by its own thread and connection
READ_THREADS = 2
#: COPY's NULL marker: no column is ever NULL, so it only keeps COPY from quoting empty
#: strings (its default NULL marker in CSV), which csv.writer writes bare
COPY_NULL = "\x01\\N\x01"

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """A page's keys, (id, created_at text) in export order, and the key it starts after."""

    keys: list[Any]
    after: tuple[str, int] | None


class PageReader:
    """The pages of one export, as rows (XLSX) or as CSV text (downloads)."""

    def __init__(self, export: ResponsesExport, page_size: int = PAGE_SIZE,
                 threads: int = 1) -> None:
        self.export = export
        self.session = export.session
        self.page_size = page_size
        self.threads = threads

    def _pages(self) -> Iterator[Page]:
        """Each page's keys, each read in its own short transaction."""
        after: tuple[str, int] | None = None
        while True:
            try:
                keys = self.session.connection().execute(
                    self.export.keys_query(after, self.page_size)).all()
            finally:
                self.session.rollback()
            if not keys:
                return
            yield Page(keys, after)
            after = (keys[-1][1], keys[-1][0])

    def _read(self, read: Callable[[Connection, Page], T]) -> Iterator[T]:
        """`read(connection, page)` for every page, in export order, each page in its own
        read transaction, ended before the page goes to the caller."""
        if self.export.with_signals:
            self.export.signal_texts()
        if self.threads <= 1:
            for page in self._pages():
                try:
                    result = read(self._begin(self.session), page)
                finally:
                    self.session.rollback()
                yield result
            return
        engine = self.session.get_bind()

        def task(page: Page) -> T:
            with Session(engine) as own:
                return read(self._begin(own), page)

        with ThreadPoolExecutor(self.threads, thread_name_prefix="export-page") as pool:
            pending: deque[Future[T]] = deque()
            try:
                for page in self._pages():
                    pending.append(pool.submit(task, page))
                    if len(pending) >= self.threads:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:  # the download was abandoned: start nothing more
                for future in pending:
                    future.cancel()

    def _begin(self, session: Session) -> Connection:
        """A page's transaction. PostgreSQL keeps the page's sort in memory, never spends
        longer JIT-compiling the page than running it, and plans it for one process (pages
        are read in parallel already)."""
        connection = session.connection()
        if self.export.dialect == "postgresql":
            for setting in ("work_mem = '64MB'", "jit = off",
                            "max_parallel_workers_per_gather = 0"):
                connection.exec_driver_sql(f"SET LOCAL {setting}")
        return connection

    def rows(self) -> Iterator[list[Any]]:
        """The rows, page by page (sequences of text, in export order)."""
        first = self.export.rows_query(after=False)
        then = self.export.rows_query(after=True)

        def read(connection: Connection, page: Page) -> list[Any]:
            stmt = then if page.after is not None else first
            return list(connection.execute(stmt, self.export.page_params(page)).all())

        return self._read(read)

    def csv(self) -> Iterator[tuple[str, int]]:
        """The rows as CSV text (no header), a page at a time, exactly as csv.writer would
        write them, written by the store; each page with its number of rows."""
        if self.export.dialect == "postgresql":
            write = self._copy_reader()
        else:
            first = self.export.rows_query(csv=True, after=False)
            then = self.export.rows_query(csv=True, after=True)

            def write(connection: Connection, page: Page) -> str:
                stmt = then if page.after is not None else first
                return connection.execute(stmt, self.export.page_params(page)).scalar_one()

        return self._read(lambda connection, page: (write(connection, page), len(page.keys)))

    def _copy_reader(self) -> Callable[[Connection, Page], str]:
        """PostgreSQL writes a page's CSV itself: COPY (SELECT …) TO STDOUT, the statement
        compiled once and its values bound by psycopg on the client (as COPY needs)."""
        compiled = self.export.rows_query().compile(
            dialect=self.session.get_bind().dialect,
            compile_kwargs={"render_postcompile": True})
        statement = (f"COPY ({compiled.string}) TO STDOUT "
                     "WITH (FORMAT csv, NULL %(copy_null)s)")
        base = {name: _plain(value) for name, value in compiled.params.items()}
        base["copy_null"] = COPY_NULL

        def read(connection: Connection, page: Page) -> str:
            driver = connection.connection.driver_connection
            lines: list[bytes] = []
            append = lines.append
            with driver.cursor() as cursor, cursor.copy(
                    statement, {**base, **self.export.page_params(page)}) as copy:
                for line in copy:  # one row per message, ending in "\n"
                    append(bytes(line[:-1]))
            # csv.writer ends rows with "\r\n" (RFC 4180), COPY with "\n"
            append(b"")
            return b"\r\n".join(lines).decode()

        return read


def _plain(value: Any) -> Any:
    """A bound value as psycopg binds it on the client: enums by their value, naive times as
    UTC (as the UTCDateTime column type would)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
