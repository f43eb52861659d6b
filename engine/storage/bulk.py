"""Bulk writes for the ingest hot path: the driver's own ``executemany``, rows as plain tuples.

SQLAlchemy's ``execute(stmt, [dict, ...])`` builds and processes a parameter dict per row
(``construct_params``); over the thousands of rows each ingest batch writes that cost more than
the database itself. Here each statement is rendered once per dialect, each value goes through
the very bind processor SQLAlchemy would use for its column (so a value is stored exactly as
SQLAlchemy stores it: UTC datetimes, JSON, booleans), and the rows are handed to the DB-API
cursor with ``Connection.exec_driver_sql`` — the caller's connection and transaction, so
everything still commits or rolls back together.

The SQL is the common subset of SQLite and PostgreSQL (``ON CONFLICT``, ``RETURNING``); only
the placeholder differs (``?`` for sqlite3, ``%s`` for psycopg).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import JSON, Connection, Date, Integer, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from engine.storage.types import UtcDateTime, sqlite_utc_text

Processor = Callable[[Any], Any]
MAX_PARAMS = 30_000  # per multi-row statement; below SQLite's 32766 and PostgreSQL's 65535
MAX_ROWS = 500  # per multi-row statement

_CACHE: WeakKeyDictionary[Dialect, dict[Any, Any]] = WeakKeyDictionary()


def in_ids(conn: Connection, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN (ids)``. On PostgreSQL ``column = ANY(<one array parameter>)``: the same
    statement text whatever the count, so psycopg prepares it and the server plans it once,
    instead of one rendered placeholder per id and a new statement to parse for every count
    (the apply job's lookups by id run on every job)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return column.in_(list(ids))  # type: ignore[no-any-return]


def statement_cache(conn: Connection) -> dict[Any, Any]:
    """This dialect's cache of rendered statements (for callers that render their own)."""
    return _cache(conn.dialect)


def _cache(dialect: Dialect) -> dict[Any, Any]:
    found = _CACHE.get(dialect)
    if found is None:
        found = _CACHE[dialect] = {}
    return found


def placeholder(conn: Connection) -> str:
    """The driver's positional placeholder."""
    style = conn.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise RuntimeError(f"unsupported paramstyle {style!r}")


def quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> list[tuple[int, Processor]]:
    key = ("proc", table.name, tuple(columns))
    cache = _cache(conn.dialect)
    found = cache.get(key)
    if found is None:
        found = []
        for i, name in enumerate(columns):
            proc = _fast(conn.dialect, table.c[name].type)
            if proc is not None:
                found.append((i, proc))
        cache[key] = found
    return found  # type: ignore[no-any-return]


_JSON_ENCODE = c_make_encoder(  # what json.dumps(value) runs, built once instead of per call
    None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True,
) if c_make_encoder is not None else None


_SQLITE_DATE = "%(year)04d-%(month)02d-%(day)02d"  # SQLAlchemy's default: what isoformat() gives


def _fast(dialect: Dialect, type_: Any) -> Processor | None:
    """SQLAlchemy's bind processor of ``type_``; on SQLite, the same result in fewer steps for
    UTC datetimes, dates and JSON objects (when the engine keeps the default JSON serializer)."""
    proc: Processor | None = type_._cached_bind_processor(dialect)
    if dialect.name != "sqlite" or proc is None:
        return proc
    if isinstance(type_, UtcDateTime):
        return sqlite_utc_text
    if (isinstance(type_, Date)
            and getattr(type_.dialect_impl(dialect), "_storage_format", None) == _SQLITE_DATE):
        date_text = proc

        def process_date(value: Any) -> Any:  # a datetime is a date too: SQLAlchemy's way
            return value.isoformat() if type(value) is date else date_text(value)

        return process_date
    if isinstance(type_, JSON) and dialect._json_serializer is None and _JSON_ENCODE is not None:
        slow, encode = proc, _JSON_ENCODE

        def process(value: Any) -> Any:
            kind = type(value)
            return "".join(encode(value, 0)) if kind is dict or kind is list else slow(value)

        _JSON_COLUMNS.add(process)
        return process
    return proc


_JSON_COLUMNS: WeakSet[Processor] = WeakSet()  # the processors above: columns for _json_texts


def _json_texts(values: Sequence[Any], one: Processor) -> list[Any]:
    """``one`` over ``values``, except that an object whose members are all objects or arrays
    (an alert's facts) is written member by member, and a member that several values share
    (the same Python object: an event's facts in each of its alerts, a SKU's facts, the
    ruleset's parameters) is encoded once: the same text as ``json.dumps`` of each value, for
    half the work on a batch's alerts. Every value is alive and unchanged during the call, so
    ``id()`` names one object throughout."""
    encode, memo, keys = _JSON_ENCODE, dict[int, str](), dict[str, str]()
    assert encode is not None  # _json_processor hands out this path only with the C encoder
    out: list[Any] = []
    for value in values:
        if type(value) is dict and value:
            parts = []
            for key, member in value.items():
                kind = type(member)
                if type(key) is not str or (kind is not dict and kind is not list):
                    break
                text = memo.get(id(member))
                if text is None:
                    text = memo[id(member)] = "".join(encode(member, 0))
                prefix = keys.get(key)
                if prefix is None:
                    prefix = keys[key] = encode_basestring_ascii(key) + ": "
                parts.append(prefix + text)
            else:
                out.append("{" + ", ".join(parts) + "}")
                continue
        out.append(one(value))
    return out


def bind_rows(conn: Connection, table: Table, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``rows`` (values in ``columns`` order) as the driver takes them: each value through its
    column's bind processor."""
    procs = _processors(conn, table, columns)
    if not procs:
        return [tuple(r) for r in rows]
    return list(_by_column(rows, procs))


def _by_column(rows: Iterable[Sequence[Any]], procs: Sequence[tuple[int, Processor]]) -> Iterator[tuple[Any, ...]]:
    """``rows`` with column ``i`` put through ``proc`` for each ``(i, proc)``, column by column
    (``map`` over a column, then ``zip`` back into rows): a Python loop and a list per row cost
    as much as the processors themselves."""
    cols: list[Any] = list(zip(*rows))
    if not cols:
        return iter(())
    for i, proc in procs:
        if proc is sqlite_utc_text:
            cols[i] = _utc_texts(cols[i])
        elif proc in _JSON_COLUMNS:
            cols[i] = _json_texts(cols[i], proc)
        else:
            cols[i] = map(proc, cols[i])
    return zip(*cols)


_UTC_TEXT: dict[Any, str] = {}  # aware datetime -> its stored text (equal instants, equal text)
MAX_UTC_TEXT = 16_384


def _utc_texts(values: Sequence[Any]) -> list[Any]:
    """``sqlite_utc_text`` over ``values``, each instant formatted once across statements: an
    event's time is stored with the event, then as its pair's last event time and as its
    alert's times; a batch's ``now`` in every row."""
    memo = _UTC_TEXT
    if len(memo) > MAX_UTC_TEXT:
        memo.clear()
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        text = memo.get(value)
        if text is None:
            text = memo[value] = sqlite_utc_text(value)  # raises for a naive one: never kept
        out.append(text)
    return out


def insert_many(conn: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
    """``INSERT INTO table (columns) VALUES (...) <suffix>`` for every row (no RETURNING)."""
    if not rows:
        return
    key = ("insert", table.name, tuple(columns), suffix)
    cache = _cache(conn.dialect)
    sql = cache.get(key)
    if sql is None:
        p = placeholder(conn)
        sql = cache[key] = (
            f"INSERT INTO {quote(conn, table.name)} ({', '.join(quote(conn, c) for c in columns)}) "
            f"VALUES ({', '.join([p] * len(columns))}) {suffix}".rstrip())
    conn.exec_driver_sql(sql, bind_rows(conn, table, columns, rows))


def insert_returning(conn: Connection, table: Table, columns: Sequence[str],
                     rows: Sequence[Sequence[Any]], returning: Sequence[str],
                     suffix: str = "") -> list[tuple[Any, ...]]:
    """``INSERT … VALUES (…), (…) <suffix> RETURNING <returning>`` in multi-row statements;
    every returned row (in no particular order; rows skipped by ``ON CONFLICT`` return none).

    Returned values are the driver's, not processed (use it for ids and text keys).
    """
    if not rows:
        return []
    size = max(1, min(MAX_ROWS, MAX_PARAMS // len(columns)))
    bound = bind_rows(conn, table, columns, rows)
    out: list[tuple[Any, ...]] = []
    for start, stop in _chunks(len(bound), size, conn.dialect.name == "sqlite"):
        chunk = bound[start:stop]
        sql = _multi_row_sql(conn, table, columns, len(chunk), returning, suffix)
        flat = tuple(chain.from_iterable(chunk))
        result = conn.exec_driver_sql(sql, flat)
        out.extend(result.cursor.fetchall())  # the driver's tuples
        result.close()
    return out


def _chunks(n: int, size: int, sqlite: bool = True) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of the statements for ``n`` rows: ``size`` rows each, then the rest
    in powers of two (487 = 256 + 128 + 64 + 32 + 4 + 2 + 1). A statement of a few thousand
    parameters costs SQLite milliseconds to prepare, about as much as to run: with a few
    sizes only, each is prepared once per connection and found again in the driver's
    statement cache, where the rest of each batch used to be a new statement every time.
    Elsewhere (``sqlite=False``: PostgreSQL, where each statement is a round trip, and where
    this was not measured) the rest is one statement, as before."""
    start = 0
    while start < n:
        rest = n - start
        step = size if rest >= size else (1 << (rest.bit_length() - 1) if sqlite else rest)
        yield start, start + step
        start += step


def _multi_row_sql(conn: Connection, table: Table, columns: Sequence[str], n: int,
                   returning: Sequence[str], suffix: str) -> str:
    key = ("multi", table.name, tuple(columns), n, tuple(returning), suffix)
    cache = _cache(conn.dialect)
    sql = cache.get(key)
    if sql is None:
        p = placeholder(conn)
        one = f"({', '.join([p] * len(columns))})"
        sql = cache[key] = (
            f"INSERT INTO {quote(conn, table.name)} ({', '.join(quote(conn, c) for c in columns)}) "
            f"VALUES {', '.join([one] * n)} {suffix} "
            f"RETURNING {', '.join(quote(conn, c) for c in returning)}")
    return sql  # type: ignore[no-any-return]


def update_many(conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[str],
                rows: Sequence[Sequence[Any]], also: str = "") -> None:
    """``UPDATE table SET c = ?, … [, <also>] WHERE k = ? AND …`` for every row; a row is the
    ``columns`` values then the ``keys`` values."""
    if not rows:
        return
    key = ("update", table.name, tuple(columns), tuple(keys), also)
    cache = _cache(conn.dialect)
    sql = cache.get(key)
    if sql is None:
        p = placeholder(conn)
        sets = [f"{quote(conn, c)} = {p}" for c in columns] + ([also] if also else [])
        where = " AND ".join(f"{quote(conn, k)} = {p}" for k in keys)
        sql = cache[key] = f"UPDATE {quote(conn, table.name)} SET {', '.join(sets)} WHERE {where}"
    conn.exec_driver_sql(sql, bind_rows(conn, table, [*columns, *keys], rows))


def _result_processors(conn: Connection, table: Table, columns: Sequence[str],
                       description: Sequence[Any]) -> list[tuple[int, Processor]]:
    """SQLAlchemy's result processor of each column, for the driver's type codes."""
    codes = tuple(d[1] for d in description)
    key = ("result", table.name, tuple(columns), codes)
    cache = _cache(conn.dialect)
    found = cache.get(key)
    if found is None:
        found = []
        for i, (name, code) in enumerate(zip(columns, codes, strict=True)):
            proc = _fast_result(conn.dialect, table.c[name].type, code)
            if proc is not None:
                found.append((i, proc))
        cache[key] = found
    return found  # type: ignore[no-any-return]


def _fast_result(dialect: Dialect, type_: Any, code: Any) -> Processor | None:
    """SQLAlchemy's result processor of ``type_``; on SQLite, a UTC datetime stored as we store
    it (``YYYY-MM-DD HH:MM:SS.ffffff``) is read in one step (the same aware datetime)."""
    proc: Processor | None = type_._cached_result_processor(dialect, code)
    if dialect.name != "sqlite" or proc is None or not isinstance(type_, UtcDateTime):
        return proc
    slow = proc

    def process(value: Any) -> Any:
        if type(value) is str and len(value) == 26 and value[10] == " ":
            try:  # naive text: UTC, as UtcDateTime says
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:
                pass  # not a time: SQLAlchemy says so in its words
        return slow(value)

    return process


def select_by_pairs(conn: Connection, table: Table, columns: Sequence[str],
                    keys: Sequence[tuple[int, int]], where: str = "",
                    max_of: str | None = None, lock: bool = False) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose (sku_id, warehouse_id) is one of ``keys``.

    A join with the keys as ``VALUES``, so that each key is an index lookup (a row-value
    ``IN (VALUES …)`` makes SQLite scan the whole table once per statement). ``where`` is
    literal SQL over ``t.<column>``. With ``max_of`` the rows are grouped by ``columns`` and
    ``max(t.<max_of>)`` comes last. ``lock`` locks the rows on PostgreSQL (``FOR UPDATE``;
    SQLite's writer already holds the database). Values come back as SQLAlchemy returns them.
    """
    if not keys:
        return []
    names = [*columns, *([max_of] if max_of else [])]
    out: list[tuple[Any, ...]] = []
    for start, stop in _chunks(len(keys), MAX_PAIRS, conn.dialect.name == "sqlite"):
        chunk = keys[start:stop]
        sql = _pairs_sql(conn, table, columns, len(chunk), where, max_of, lock)
        result = conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))
        procs = _result_processors(conn, table, names, result.cursor.description)
        rows = result.cursor.fetchall()  # the driver's tuples: no Row objects made to be undone
        result.close()
        if procs:
            out.extend(_by_column(rows, procs))
        else:
            out.extend(rows)
    return out


MAX_PAIRS = 2000  # keys per statement (two parameters each)


def _pairs_sql(conn: Connection, table: Table, columns: Sequence[str], n: int, where: str,
               max_of: str | None, lock: bool) -> str:
    key = ("pairs", table.name, tuple(columns), n, where, max_of, lock)
    cache = _cache(conn.dialect)
    sql = cache.get(key)
    if sql is None:
        p = placeholder(conn)
        if conn.dialect.name == "postgresql":  # typed: untyped VALUES would be text
            p = f"CAST({p} AS INTEGER)"
        cols = ", ".join(f"t.{quote(conn, c)}" for c in columns)
        sql = (f"WITH k (s, w) AS (VALUES {', '.join([f'({p}, {p})'] * n)}) "
               f"SELECT {cols}{f', max(t.{quote(conn, max_of)})' if max_of else ''} "
               f"FROM k JOIN {quote(conn, table.name)} t ON t.sku_id = k.s AND t.warehouse_id = k.w"
               f"{' WHERE ' + where if where else ''}{' GROUP BY ' + cols if max_of else ''}")
        if lock and conn.dialect.name == "postgresql":
            sql += " FOR UPDATE OF t"
        cache[key] = sql
    return sql  # type: ignore[no-any-return]


def stream(conn: Connection, table: Table, columns: Sequence[str], raw: Sequence[str] = (),
           size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """Every row of ``table`` (``columns``), fetched ``size`` rows at a time (a big table is
    never listed whole), values as SQLAlchemy returns them except the ``raw`` columns, which
    come as the driver gives them (for a caller that decodes them its own way)."""
    sql = (f"SELECT {', '.join(quote(conn, c) for c in columns)} "
           f"FROM {quote(conn, table.name)}")
    result = conn.exec_driver_sql(sql)
    try:
        cursor = result.cursor
        procs = [(i, proc) for i, proc in _result_processors(conn, table, columns, cursor.description)
                 if columns[i] not in raw]
        while rows := cursor.fetchmany(size):
            yield from _by_column(rows, procs) if procs else rows
    finally:
        result.close()
