"""One run of a network importer: its streams in order, as resumable ``Page``s.

An ERP importer reads several streams (warehouses, items, stock, moves, …), each paged by its
own position (a ``(modified, id)`` keyset, a ``StartRow``, a ``data_id``). The cursor stored
with every committed page holds them all (ERP.md §3.2)::

    {"v": 1, "run": "open" | "done", "mode": "snapshot" | "incremental",
     "finished": [streams done in this run], "this": {stream: position in this run},
     "last": {stream: position at the end of the last finished run}}

So a run that stops half-way resumes exactly after its last committed page (``this``, no
overlap), and the next run starts each stream ``overlap_seconds`` before where the last one
ended (``last``): the import service dedupes what is read twice by the records' ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.imports.plugin import KINDS, ImportFailed, ImportRequest
from engine.imports.records import BadRow, Page, Record

CURSOR_VERSION = 1
SNAPSHOT_KINDS = frozenset({"items", "warehouses", "suppliers", "stock", "purchase-orders"})


@dataclass(frozen=True)
class Start:
    """Where a stream begins: ``position`` is the stream's own dict (None = from the start);
    ``resumed`` means continue exactly after it, else re-read ``overlap`` before it."""

    position: Mapping[str, Any] | None
    resumed: bool
    mode: str
    overlap: timedelta


@dataclass
class Chunk:
    """One page of a stream: its records, its name in messages and the position after it."""

    records: list[Record]
    where: str
    position: Mapping[str, Any] | None


@dataclass(frozen=True)
class Stream:
    name: str  # "stock.move", "Bin", "SAL_OUTSTOCK": unique within the importer
    kind: str  # one of KINDS
    read: Callable[[Start], Iterator[Chunk]]


def selected(request: ImportRequest, kind: str) -> bool:
    """Whether the run reads ``kind``: every kind when the request names none."""
    wanted = request.kind
    if wanted is None:
        return True
    return kind == ("moves" if wanted == "sales" else wanted)


def run_streams(source: str, request: ImportRequest, streams: list[Stream]) -> Iterator[Page]:
    """Read the selected streams in order, one ``Page`` per chunk, each with the cursor to
    resume after it, then one empty page when a stream is read in full: in a snapshot it names
    the stream's kind in ``complete_kinds`` (what was not seen may be reconciled away), and
    the run's last page marks the run done."""
    if request.mode not in ("snapshot", "incremental"):
        raise ImportFailed(source, "request", f"unknown mode {request.mode!r}")
    if request.kind is not None and request.kind not in KINDS:
        raise ImportFailed(source, "request", f"unknown kind {request.kind!r}")
    cursor = _open(request)
    todo = [s for s in streams if selected(request, s.kind) and s.name not in cursor["finished"]]
    if not todo:
        cursor = _close(cursor)
        yield Page([], where=f"{source}: nothing to read", cursor=cursor)
        return
    overlap = timedelta(seconds=max(0, int(request.overlap_seconds or 0)))
    done_pages = 0
    for index, stream in enumerate(todo):
        this = cursor["this"]
        if stream.name in this:
            start = Start(this[stream.name], True, request.mode, overlap)
        elif request.mode == "incremental" and stream.name in cursor["last"]:
            start = Start(cursor["last"][stream.name], False, request.mode, overlap)
        else:
            start = Start(None, False, request.mode, overlap)
        for chunk in stream.read(start):
            if chunk.position is not None:
                cursor["this"][stream.name] = dict(chunk.position)
            done_pages += 1
            yield Page(list(chunk.records), where=f"{source}: {chunk.where}",
                       cursor=_copy(cursor), progress=(done_pages, None))
        # the stream's end: a page of its own, so every page above was committed at once
        cursor["finished"].append(stream.name)
        if start.position is not None and stream.name not in cursor["this"]:
            cursor["this"][stream.name] = dict(start.position)
        complete: frozenset[str] = frozenset()
        if request.mode == "snapshot" and stream.kind in SNAPSHOT_KINDS and not any(
            s.kind == stream.kind for s in todo[index + 1:]
        ):
            complete = frozenset({stream.kind})
        if index == len(todo) - 1:
            cursor = _close(cursor)
        done_pages += 1
        yield Page([], where=f"{source}: {stream.name} read in full", cursor=_copy(cursor),
                   progress=(done_pages, None), complete_kinds=complete)


def _open(request: ImportRequest) -> dict[str, Any]:
    prev = dict(request.cursor or {})
    last = dict(prev.get("last") or {})
    if prev.get("v") == CURSOR_VERSION and prev.get("run") == "open" and (
        prev.get("mode") == request.mode
    ):
        return {"v": CURSOR_VERSION, "run": "open", "mode": request.mode,
                "finished": list(prev.get("finished") or []),
                "this": dict(prev.get("this") or {}), "last": last}
    return {"v": CURSOR_VERSION, "run": "open", "mode": request.mode, "finished": [],
            "this": {}, "last": last}


def _close(cursor: dict[str, Any]) -> dict[str, Any]:
    return {"v": CURSOR_VERSION, "run": "done", "mode": cursor["mode"], "finished": [],
            "this": {}, "last": {**cursor["last"], **cursor["this"]}}


def _copy(cursor: dict[str, Any]) -> dict[str, Any]:
    return {**cursor, "finished": list(cursor["finished"]),
            "this": {k: dict(v) for k, v in cursor["this"].items()},
            "last": {k: dict(v) for k, v in cursor["last"].items()}}


# --- values -------------------------------------------------------------------------------


class BadValue(ValueError):
    """A value of a source row that cannot be read (a text quantity, a date that is none)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def number(value: Any, column: str, *, required: bool = True) -> float | None:
    """A quantity as the ERP sent it: a number, or a numeric string ("1,234.5"); text such as
    "12箱" raises ``BadValue``."""
    if value is None or value is False or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadValue(column, "the quantity is empty")
        return None
    if isinstance(value, bool):
        raise BadValue(column, f"the quantity {value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return float(text)
        except ValueError:
            raise BadValue(column, f"the quantity {value!r} is not a number") from None
    try:  # Decimal from SQL drivers
        return float(value)
    except (TypeError, ValueError):
        raise BadValue(column, f"the quantity {value!r} is not a number") from None


def text(value: Any, column: str) -> str:
    """A code: required, kept as text (leading zeros stay)."""
    if value is None or value is False or str(value).strip() == "":
        raise BadValue(column, "the code is empty")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def bad_row(where: str, exc: BadValue, raw: Mapping[str, Any] | list[Any]) -> BadRow:
    shown = dict(raw) if isinstance(raw, Mapping) else {"row": list(raw)}
    return BadRow(where=where, reason=exc.reason, column=exc.column, raw=_plain(shown))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def zone(source: str, name: str) -> ZoneInfo:
    """The ERP's time zone (ERP.md §3.2: Odoo UTC, ERPNext site-local, Kingdee and U8
    server-local, Jiandaoyun UTC)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFailed(source, "option --timezone", f"unknown time zone {name!r}") from None


def parse_local(value: Any, tz: ZoneInfo, column: str) -> datetime:
    """A timestamp the ERP wrote in its own zone ("2024-05-20 15:31:12.042118",
    "2024-05-20T10:31:12.43", a ``datetime`` from SQL) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        raw = value.strip().replace("Z", "+00:00")
        head, dot, frac = raw.partition(".")
        if dot:  # Kingdee writes 1-7 fraction digits; fromisoformat wants 3 or 6 before 3.11
            digits = "".join(ch for ch in frac if ch.isdigit())
            rest = frac[len(digits):]
            raw = f"{head}.{(digits + '000000')[:6]}{rest}"
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise BadValue(column, f"{value!r} is not a date and time") from None
    else:
        raise BadValue(column, f"{value!r} is not a date and time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def shift(ts: str, seconds: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``ts`` (a source timestamp string) moved back by ``seconds``, in ``fmt``: the start of
    the overlap window, compared on the source's side in its own zone."""
    moved = parse_local(ts, ZoneInfo("UTC"), "cursor") - timedelta(seconds=seconds)
    return moved.strftime(fmt)
