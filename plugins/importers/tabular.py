"""What the csv and excel importers share: find the header row, read rows into records by page.

A spreadsheet from a 进销存 system rarely starts with its header: a banner (company, report
name, date range) comes first, headers may repeat (one per printed page), blank rows separate
blocks and a 合计 row closes the table. The header is the first row among the first
``HEADER_SCAN`` in which every required column of the kind is recognised; blank, repeated-header
and total rows after it are skipped, and every other row becomes records or a ``BadRow``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from engine.imports.plugin import KINDS, ImportFailed, ImportRequest, Option
from engine.imports.records import BadRow, Page, Record
from plugins.importers import columns as cols_mod
from plugins.importers.columns import Columns, MappingInvalid
from plugins.importers.rows import RowInvalid, RowReader, is_blank_row, is_total

HEADER_SCAN = 30
PAGE_ROWS = 5000  # rows per page: one commit, one batch through the event path
SLICE_ROWS = 500  # rows read and converted at once within a page
SNAPSHOT_KINDS = frozenset({"stock", "purchase-orders"})  # a file holds the whole picture


@dataclass
class RowSource:
    """The rows of an opened file: ``(row number, cells)``, its size for progress, and the
    zero-padding widths of code columns (an Excel ``000000`` number format)."""

    rows: Iterator[tuple[int, Sequence[Any]]]  # a CountedRows for rows numbered 1, 2, …
    size: int | None = None
    position: Any = None  # () -> bytes read so far
    zeros: dict[int, int] | None = None  # column index -> width, filled as rows are read
    notes: list[str] = field(default_factory=list)
    close: Any = None
    failed: Any = None  # (exception) -> ImportFailed, for an error of the reader itself

    def take(self, n: int) -> Taken:
        """The next ``n`` rows (fewer at the end of the file) and their numbers."""
        chunk = _read_page(self.rows, n)
        if not chunk:
            return (), [], None
        numbers, rows = zip(*chunk)
        return numbers, list(rows), None


# numbers, rows, and the same rows as columns when a reader has them at once (all of one width)
Taken = tuple[Sequence[int], list[Sequence[Any]] | None, list[Sequence[Any]] | None]


class CountedRows:
    """Rows numbered 1, 2, … as they come (a CSV file's): ``(number, cells)`` one at a time,
    or a page of them at once without a tuple per row (``take``)."""

    def __init__(self, rows: Iterator[Sequence[Any]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> CountedRows:
        return self

    def __next__(self) -> tuple[int, Sequence[Any]]:
        row = next(self._rows)
        self.count += 1
        return self.count, row

    def take(self, n: int) -> Taken:
        rows = _quietly(lambda: list(islice(self._rows, n)))
        first = self.count + 1
        self.count += len(rows)
        return range(first, first + len(rows)), rows, None


@dataclass
class Header:
    kind: str
    row: int
    columns: Columns


class TabularImporter:
    """Base of the file importers; a subclass opens the file as a ``RowSource``."""

    name = "tabular"
    label: dict[str, str] = {}
    reads_files = True
    options: tuple[Option, ...] = ()

    def open(self, request: ImportRequest) -> RowSource:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the contract ----------------------------------------------------------------------
    def read(self, request: ImportRequest) -> Iterator[Page]:
        source = self._open(request)
        try:
            yield from _translated(source, self._pages(request, source))
        finally:
            if source.close:
                source.close()

    def check(self, request: ImportRequest) -> str:
        info = self.describe(request, limit=0)
        return (f"{info['file']}: {info['kind']} from row {info['header_row']}; columns "
                + ", ".join(f"{f}={c}" for f, c in info["columns"].items()))

    def describe(self, request: ImportRequest, limit: int = 20) -> dict[str, Any]:
        """What a page shows before importing: the kind, the header row, each recognised
        column, the columns not used, and the first ``limit`` records and bad rows."""
        source = self._open(request)
        try:
            return next(_translated(source, self._describe(request, source, limit)))
        finally:
            if source.close:
                source.close()

    def sample(self, request: ImportRequest, limit: int = 15) -> dict[str, Any]:
        """The first ``limit`` rows as they are (cells as text) and the fields of every kind:
        what a page shows to let the user name the header row and its columns when the
        header was not recognised."""
        source = self._open(request)

        def first() -> Iterator[list[Numbered]]:
            yield list(islice(source.rows, limit))

        try:
            rows = next(_translated(source, first()))
        finally:
            if source.close:
                source.close()
        return {"file": Path(request.file or "").name,
                "rows": [(n, ["" if c is None else str(c).strip() for c in row])
                         for n, row in rows],
                "fields": {kind: {"required": list(req), "optional": list(opt)}
                           for kind, (req, opt) in cols_mod.KIND_FIELDS.items()}}

    def _describe(self, request: ImportRequest, source: RowSource,
                  limit: int) -> Iterator[dict[str, Any]]:
        """``describe``'s one answer, as a generator so that reader errors are translated."""
        header = self._header(request, source)
        reader = self._reader(request, header, source)
        records: list[Record] = []
        bad: list[BadRow] = []
        rows = 0
        for number, row in source.rows:
            if len(records) >= limit and len(bad) >= limit:
                break
            found = self._row(reader, header, number, row)
            if found is None:
                continue
            rows += 1
            for rec in found:
                (bad if isinstance(rec, BadRow) else records).append(rec)
        required, optional = cols_mod.KIND_FIELDS[header.kind]
        yield {"file": Path(request.file or "").name, "kind": header.kind,
               "header_row": header.row, "columns": header.columns.as_fields(),
               "headers": [h for h in header.columns.headers if h],
               "fields": {"required": list(required), "optional": list(optional)},
               "ignored": header.columns.ignored, "notes": header.columns.notes + source.notes,
               "records": records[:limit], "bad_rows": bad[:limit], "rows_read": rows}

    # -- reading ---------------------------------------------------------------------------
    def _open(self, request: ImportRequest) -> RowSource:
        if not request.file:
            raise ImportFailed(self.name, "request", "a file is required")
        path = Path(request.file)
        if not path.is_file():
            raise ImportFailed(self.name, path.name, "no such file")
        if request.kind is not None and request.kind not in KINDS:
            raise ImportFailed(self.name, path.name, f"unknown kind '{request.kind}'; the kinds "
                                                    f"are {', '.join(KINDS)}")
        try:
            if request.kind:
                cols_mod.check_mapping(request.kind, request.mapping)
        except MappingInvalid as exc:
            raise ImportFailed(self.name, "--map", str(exc)) from None
        return self.open(request)

    def _header(self, request: ImportRequest, source: RowSource) -> Header:
        """The first row that holds every required column (of the kind asked, or of the kind
        that fits best when none was asked); rows before it are a banner."""
        kinds = [request.kind] if request.kind else list(KINDS)
        best: tuple[int, Header] | None = None
        seen: list[tuple[int, Sequence[Any]]] = []
        for number, row in source.rows:
            seen.append((number, row))
            if is_blank_row(row):
                continue
            for kind in kinds:
                found = cols_mod.match(kind, row, request.mapping)
                if not found.missing(kind):
                    score = len(found.by_field)
                    if best is None or score > best[0]:
                        best = (score, Header(kind, number, found))
            if best is not None or len(seen) >= HEADER_SCAN:
                break
        if best is None:
            raise ImportFailed(self.name, Path(request.file or "").name, _no_header(
                kinds, seen, request.mapping))
        return best[1]

    def _reader(self, request: ImportRequest, header: Header, source: RowSource) -> RowReader:
        as_of = request.options.get("as_of") or datetime.fromtimestamp(
            os.path.getmtime(request.file or "")).replace(microsecond=0)
        reader = RowReader(header.kind, header.columns, as_of, Path(request.file or "").name)
        if source.zeros is not None:
            reader.zeros = source.zeros  # filled as the rows are read
        return reader

    def _row(self, reader: RowReader, header: Header, number: int,
             row: Sequence[Any]) -> list[Record] | None:
        """The records of one data row; None for a row that is no data (blank, a repeated
        header, a total)."""
        if not row or is_blank_row(row) or is_total(row) or self._repeated(header, row):
            return None
        try:
            return reader.convert(row, number)
        except RowInvalid as exc:
            column = header.columns.header_of(exc.field)
            return [BadRow(f"row {number}", f"{column}: {exc.reason}", column, number,
                           _raw(header.columns.headers, row))]

    @staticmethod
    def _repeated(header: Header, row: Sequence[Any]) -> bool:
        headers = header.columns.headers
        same = sum(1 for i, h in enumerate(headers) if h and i < len(row)
                   and isinstance(row[i], str) and row[i].strip() == h)
        return same >= max(2, len(header.columns.by_field) // 2)

    def _pages(self, request: ImportRequest, source: RowSource) -> Iterator[Page]:
        header = self._header(request, source)
        reader = self._reader(request, header, source)
        page_rows = int(request.options.get("page_rows") or PAGE_ROWS)
        skip_to = int((request.cursor or {}).get("row", 0))
        fields = header.columns.as_fields()
        quick = reader.fast_sales()
        # Rows of numbers: a repeated header or a total fails conversion, then is checked for
        # what it is. Master data is all text, so each of its rows is checked first.
        fast = header.kind in SNAPSHOT_KINDS or header.kind in ("sales", "moves")
        take = source.rows.take if isinstance(source.rows, CountedRows) else source.take
        pending: tuple[list[Record], int, int] | None = None
        last = skip_to
        while True:
            records: list[Record] = []
            first: int | None = None
            read = 0
            while read < page_rows:
                # a page is read in slices of a few hundred rows: what a slice allocates stays
                # in the processor's cache while it is converted (a page of 5,000 rows at once
                # ran 1.5-2 times slower whenever other processes shared the cache)
                numbers, rows, columns = take(min(SLICE_ROWS, page_rows - read))
                if rows is None:  # read as columns: the rows only when they are needed
                    rows = list(zip(*columns)) if (skip_to or quick is None) else None
                if not numbers:
                    break
                if skip_to and numbers[0] <= skip_to:
                    kept = [(n, r) for n, r in zip(numbers, rows or ()) if n > skip_to]
                    if not kept:
                        continue
                    numbers, rows = tuple(n for n, _ in kept), [r for _, r in kept]
                    columns = None
                read += len(numbers)
                found = _quietly(quick, numbers, rows, columns) if quick is not None else None
                if found is None:
                    if rows is None:
                        rows = list(zip(*columns))  # type: ignore[misc]
                    found = self._rows(reader, header, list(zip(numbers, rows)), fast)
                records.extend(found)
                first = numbers[0] if first is None else first
                last = numbers[-1]
            if first is None:
                break
            if pending is not None:  # a page is yielded once the next one is known to exist
                yield self._page(*pending, source, fields, done=False, kind=header.kind)
            pending = (records, first, last)
        records, first, end = pending if pending is not None else ([], None, last)
        yield self._page(records, first, end, source, fields, done=True, kind=header.kind,
                         skip_to=skip_to)

    def _rows(self, reader: RowReader, header: Header, chunk: list[tuple[int, Sequence[Any]]],
              fast: bool) -> list[Record]:
        """The records of a page's rows, one row at a time."""
        records: list[Record] = []
        convert = reader.convert
        for number, row in chunk:
            if fast and row and row[0] is not None and not (
                    isinstance(row[0], str) and (not row[0] or row[0][0] in "合总小TtG ")):
                try:  # the usual row: blank/total/header checks only when conversion fails
                    found = convert(row, number)
                except RowInvalid:
                    found = self._row(reader, header, number, row)
            else:
                found = self._row(reader, header, number, row)
            if found:
                records.extend(found)
        return records

    @staticmethod
    def _page(records: list[Record], first: int | None, last: int | None, source: RowSource,
              fields: dict[str, str], done: bool, kind: str, skip_to: int = 0) -> Page:
        """A page of rows ``first``–``last``; the last one (``done``) says which kinds the
        file held whole."""
        where = f"rows {first}–{last}" if first is not None else "end of file"
        done_bytes = source.size if done else (source.position() if source.position else None)
        return Page(records, where, cursor={"row": last if first is not None else skip_to},
                    progress=(done_bytes or 0, source.size) if source.size else None,
                    complete_kinds=frozenset({kind}) & SNAPSHOT_KINDS if done else frozenset(),
                    columns=fields)


Numbered = tuple[int, Sequence[Any]]


def _read_page(rows: Iterator[Numbered], n: int) -> list[Numbered]:
    """The next ``n`` rows (fewer at the end of the file)."""
    return _quietly(lambda: list(islice(rows, n)))  # type: ignore[no-any-return]


def _quietly(work: Any, *args: Any) -> Any:
    """``work(*args)`` with the cyclic garbage collector paused: reading a page allocates
    tens of thousands of containers (each row a list) that are kept until the page is
    done and hold no cycles, and the collector's passes over them cost as much as the
    reading itself (bench/import.py: 6.8 s against 3.9 s for a million rows). It resumes
    right after, collecting whatever is due."""
    if not gc.isenabled():
        return work(*args)
    gc.disable()
    try:
        return work(*args)
    finally:
        gc.enable()


def _translated(source: RowSource, items: Iterator[Any]) -> Iterator[Any]:
    """``items``, with an error of the file's reader (a byte the encoding cannot decode, a
    broken quote) turned into ``ImportFailed`` naming the place."""
    try:
        yield from items
    except Exception as exc:
        failed = source.failed(exc) if source.failed else None
        if failed is None:
            raise
        raise failed from None


def _raw(headers: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, value in enumerate(row):
        if value is None or value == "":
            continue
        key = headers[i] if i < len(headers) and headers[i] else f"column {i + 1}"
        out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return out


def _no_header(kinds: list[str], seen: list[tuple[int, Sequence[Any]]],
               mapping: Any) -> str:
    first = next((row for _, row in seen if not is_blank_row(row)), None)
    if len(kinds) == 1:
        kind = kinds[0]
        required, _ = cols_mod.KIND_FIELDS[kind]
        best = max((cols_mod.match(kind, row, mapping) for _, row in seen if row),
                   key=lambda c: len(c.by_field), default=None)
        missing = best.missing(kind) if best else list(required)
        shown = ", ".join(str(c) for c in (first or []) if c not in (None, ""))[:200]
        return (f"no header row with the columns a {kind} file needs in its first "
                f"{HEADER_SCAN} rows: missing {', '.join(missing)} (first row: {shown}); name "
                f"them with --map, e.g. --map {missing[0].split(' ')[0]}=列名")
    return ("could not tell what the file holds: no row among the first "
            f"{HEADER_SCAN} has the columns of any kind; give --kind and --map")
