"""The sync path's few fixed statements, run on the driver's cursor with no per-call overhead.

A one-rating sync is four INSERTs. Run through SQLAlchemy's execution machinery each costs
about ten times what the database itself spends on it (result objects, context set-up, event
dispatch), which made a poster rating several times dearer than a bare request. Here a Core
statement is compiled once per dialect and set of columns by SQLAlchemy itself, and each call
only binds values with the types' own bind processors (the very functions SQLAlchemy would
apply) and calls the DBAPI cursor. The statement runs on the caller's Connection, inside its
transaction. Where anything listens to statements (logging, query recording, tests counting
them), SQLAlchemy runs them as usual instead.

Only statements built once and kept (module-level or cached) belong here: the cache is keyed
by the statement object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Insert
from sqlalchemy.sql.elements import ClauseElement

Row = tuple[Any, ...]


_ABSENT = object()


@dataclass(frozen=True)
class _Bind:
    """How one parameter gets its value: from the row, else a column default, else a value
    compiled into the statement; then the type's bind processor."""

    name: str
    process: Callable[[Any], Any] | None
    fixed: Any = _ABSENT  # literals and constants compiled into the statement
    default: Callable[[], Any] | None = None  # Python-side column default (INSERT)


@dataclass(frozen=True)
class _Prepared:
    statement: ClauseElement  # kept alive, so its id() stays unique while cached
    sql: str
    #: one per parameter, in the driver's order (positional paramstyles) or by name
    binds: tuple[_Bind, ...]
    positional: bool
    returns: bool


_prepared: dict[tuple[Any, ...], _Prepared] = {}
_lock = threading.Lock()


def _default_of(column: Any) -> Callable[[], Any]:
    default = column.default
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)  # SQLAlchemy wraps a no-argument callable to take a context


def _prepare(statement: ClauseElement, dialect: Any, keys: tuple[str, ...],
             column_keys: bool = True) -> _Prepared:
    if isinstance(statement, Insert) and column_keys:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    else:
        compiled = statement.compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.bind_names):
        raise ValueError("an expanding IN needs SQLAlchemy's execution: pass one array instead")
    by_name = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        fixed = bind.value if (name not in keys and not bind.callable
                               and bind.value is not None) else _ABSENT
        by_name[name] = _Bind(name, processor, fixed)
    for column in compiled.insert_prefetch:
        if column.key not in keys and column.default is not None:
            by_name[column.key] = replace(by_name[column.key], default=_default_of(column))
    names = compiled.positiontup if compiled.positional else list(by_name)
    return _Prepared(statement, compiled.string, tuple(by_name[n] for n in names),
                     compiled.positional, bool(compiled.effective_returning))


def _lookup(statement: ClauseElement, dialect: Any, keys: tuple[str, ...]) -> _Prepared:
    key = (id(statement), dialect.name, keys)
    found = _prepared.get(key)
    if found is None:
        with _lock:
            found = _prepared.setdefault(key, _prepare(statement, dialect, keys))
    return found


#: rows per multi-row INSERT; a batch's remainder gets a statement of its own size (≤ this)
VALUES_CHUNK = 100


def _values_statement(table: Table, dialect: Any, keys: tuple[str, ...], count: int,
                      finish: Callable[[Insert], Insert] | None) -> Insert:
    insert = (postgresql if dialect.name == "postgresql" else sqlite).insert
    statement = insert(table).values([
        {key: bindparam(f"{key}_{n}", type_=table.c[key].type) for key in keys}
        for n in range(count)])
    return finish(statement) if finish else statement


def insert_values(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                  finish: Callable[[Insert], Insert] | None = None) -> list[Row]:
    """INSERT rows as multi-row VALUES: one statement (one round trip) per VALUES_CHUNK rows;
    return what its RETURNING gives, if any.

    Every row names every column it writes, the same ones (no Python-side defaults are filled
    in). `finish` adds, say, an ON CONFLICT or RETURNING clause; pass a module-level function
    (it is part of the cache key).
    """
    dialect = conn.dialect
    returned: list[Row] = []
    for start in range(0, len(rows), VALUES_CHUNK):
        chunk = rows[start:start + VALUES_CHUNK]
        keys = _same_keys(chunk)
        cache_key = (table.name, dialect.name, keys, len(chunk), finish)
        prepared = _prepared.get(cache_key)
        if prepared is None:
            statement = _values_statement(table, dialect, keys, len(chunk), finish)
            names = tuple(f"{key}_{n}" for n in range(len(chunk)) for key in keys)
            with _lock:
                prepared = _prepared.setdefault(
                    cache_key, _prepare(statement, dialect, names, column_keys=False))
        returned += _run(conn, prepared, [{f"{key}_{n}": row[key] for n, row in enumerate(chunk)
                                           for key in keys}])
    return returned


def _bind(prepared: _Prepared, row: dict[str, Any]) -> Any:
    values = []
    for bind in prepared.binds:
        if bind.name in row:
            value = row[bind.name]
        elif bind.default is not None:
            value = bind.default()
        elif bind.fixed is not _ABSENT:
            value = bind.fixed
        else:
            values.append(None)  # not given: NULL, as SQLAlchemy binds a missing value
            continue
        values.append(value if bind.process is None else bind.process(value))
    if prepared.positional:
        return tuple(values)
    return {bind.name: value for bind, value in zip(prepared.binds, values, strict=True)}


def run(conn: Connection, statement: ClauseElement,
        rows: Sequence[dict[str, Any]]) -> list[Row]:
    """Execute `statement` once per row (one round trip for all of them where the driver
    pipelines) in `conn`'s transaction; return every RETURNING row, else [].

    Every row must name the same columns (the statement is compiled for them).
    """
    if not rows:
        return []
    keys = _same_keys(rows)
    return _run(conn, _lookup(statement, conn.dialect, keys), rows)


def _same_keys(rows: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    first = rows[0].keys()
    if any(row.keys() != first for row in rows):
        raise ValueError("every row of one statement must name the same columns")
    return tuple(sorted(first))


def watched(conn: Connection) -> bool:
    """Something watches this connection's statements (event listeners, echo): SQLAlchemy
    then runs them, so that what the watchers expect of its execution context holds."""
    dispatch = conn.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute
                or conn.engine.echo)


def _run(conn: Connection, prepared: _Prepared, rows: Sequence[dict[str, Any]]) -> list[Row]:
    if watched(conn):
        result = conn.execute(prepared.statement, list(rows) if len(rows) > 1 else rows[0])
        return [tuple(r) for r in result] if result.returns_rows else []
    dialect = conn.dialect
    params = [_bind(prepared, row) for row in rows]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return _execute(cursor, prepared, params, dialect.name)
    except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it (sqlstate kept)
        raise DBAPIError.instance(prepared.sql, params, exc, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from exc
    finally:
        cursor.close()


def _execute(cursor: Any, prepared: _Prepared, params: list[Any], dialect: str) -> list[Row]:
    if len(params) == 1:
        cursor.execute(prepared.sql, params[0])
        return [tuple(r) for r in cursor.fetchall()] if prepared.returns else []
    if not prepared.returns:
        cursor.executemany(prepared.sql, params)
        return []
    out: list[Row] = []
    if dialect == "postgresql":  # psycopg pipelines the rows and keeps every result set
        cursor.executemany(prepared.sql, params, returning=True)
        while True:
            out.extend(tuple(r) for r in cursor.fetchall())
            if not cursor.nextset():
                return out
    for one in params:  # sqlite3 hands back no rows from executemany
        cursor.execute(prepared.sql, one)
        out.extend(tuple(r) for r in cursor.fetchall())
    return out
