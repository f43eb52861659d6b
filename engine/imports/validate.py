"""Checking canonical records against the master data before anything is applied.

Each record either passes (codes resolved: a warehouse may be named by its name, as 进销存
exports do) or becomes a ``BadRow`` saying where and why: an unknown SKU or warehouse, a
negative stock, the same code or id twice in one run, an event the event path would refuse
(``engine.stock.parse_event``, the very check ``POST /events`` makes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Connection, select

from engine.catalog import CODE
from engine.imports.dedupe import IdHashes, Naming
from engine.imports.records import (
    BadRow,
    PurchaseOrderLine,
    Record,
    SalesColumns,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierRecord,
    WarehouseRecord,
)
from engine.stock import MAX_TEXT, StockEvent, parse_event
from engine.storage.tables import skus, suppliers, warehouses

PRIMARY = {"items": SkuRecord, "warehouses": WarehouseRecord, "suppliers": SupplierRecord,
           "stock": StockSnapshot, "purchase-orders": PurchaseOrderLine}
END_OF_DAY = timedelta(hours=23, minutes=59, seconds=59)
NOON = timedelta(hours=12)
_REVERSE = {"sale": ("adjustment", 1), "issue": ("adjustment", 1), "receipt": ("adjustment", -1),
            "return": ("adjustment", -1), "adjustment": ("adjustment", -1),
            "reserve": ("release", 1), "release": ("reserve", 1)}


@dataclass
class Checked:
    """A page's records sorted for applying."""

    masters: dict[str, list[Any]] = field(default_factory=lambda: {
        "suppliers": [], "warehouses": [], "skus": []})
    snapshots: list[StockSnapshot] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[StockMove] = field(default_factory=list)
    po_lines: list[PurchaseOrderLine] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    repeated: list[BadRow] = field(default_factory=list)  # rows repeating an event (dedupe)


def event_id(raw: str) -> str:
    """An id the event path takes: a longer one is shortened to a hash of itself."""
    if len(raw) <= MAX_TEXT:
        return raw
    return raw[:40] + "#" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class Validator:
    """Holds the codes that exist (and those this run creates) and what the run has seen."""

    def __init__(self, conn: Connection, tz: tzinfo, now: datetime, kind: str | None,
                 events_checked: bool = False, default_lead_time: float | None = None,
                 network: bool = False) -> None:
        self.tz = tz
        self.default_lead_time = default_lead_time  # of a new supplier that gives none
        # a network source's pages may report a pair's stock (or a PO line) again, each time
        # as it is now (Odoo: a product whose quants span two pages): the later one stands;
        # in a file the same pair twice is a mistake
        self.network = network
        # each event through the event path's own check, and the same id twice reported:
        # when checking a file before importing it; the apply pass (checked already, or a
        # network source: a refused event is kept as a rejected event, a repeated one is a
        # duplicate) leaves both to the event path
        self.check_events = not events_checked
        self.now = now
        self.primary: type[Any] | None = PRIMARY.get(kind or "")
        self.skus = set(conn.execute(select(skus.c.code)).scalars())
        self.suppliers = set(conn.execute(select(suppliers.c.code)).scalars())
        self.warehouses: dict[str, str] = {}
        names: dict[str, list[str]] = {}
        for code, name in conn.execute(select(warehouses.c.code, warehouses.c.name)):
            self.warehouses[code] = code
            names.setdefault(name, []).append(code)
        # 上海仓 → WH-SH when the name is unique; a name two warehouses share names neither
        self.ambiguous = {name: codes for name, codes in names.items() if len(codes) > 1}
        for name, codes in names.items():
            if len(codes) == 1:
                self.warehouses.setdefault(name, codes[0])
        self.seen_codes: dict[tuple[type, str], str] = {}
        # the hashes of the event ids seen (a check pass); when some repeat, a second read
        # with ``naming`` set reports each repeated row in ``Checked.repeated``
        self.ids = IdHashes()
        self.naming: Naming | None = None
        self._iso: dict[datetime, str] = {}

    def page(self, records: list[Record], columns: dict[str, str] | None) -> Checked:
        out = Checked()
        cols = columns or {}
        for rec in records:
            kind = type(rec)
            if kind is SalesColumns:
                self._sales(rec, out, cols)  # type: ignore[arg-type]
            elif kind is StockMove:
                self._move(rec, out, cols)  # type: ignore[arg-type]
            elif kind is BadRow:
                out.bad.append(rec)  # type: ignore[arg-type]
            elif kind is StockSnapshot:
                self._snapshot(rec, out, cols)  # type: ignore[arg-type]
            elif kind is PurchaseOrderLine:
                self._po_line(rec, out, cols)  # type: ignore[arg-type]
            elif kind in (SkuRecord, SupplierRecord, WarehouseRecord):
                self._master(rec, out, cols)
            else:
                out.bad.append(BadRow(getattr(rec, "origin", None) or "record",
                                      f"not a canonical record: {kind.__name__}"))
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _bad(self, rec: Any, out: Checked, cols: dict[str, str], name: str, reason: str) -> None:
        column = cols.get(name, name)
        origin = getattr(rec, "origin", None)
        row = int(origin[4:]) if origin and origin.startswith("row ") and origin[4:].isdigit() \
            else None
        out.bad.append(BadRow(origin or _describe(rec), f"{column}: {reason}", column, row,
                              _raw(rec)))

    def at(self, when: datetime, end_of_day: bool = False) -> str:
        """ISO 8601 with a zone: a time without one is in the ruleset's zone; a date alone
        (midnight) is noon, or the end of the day for a snapshot; never after now."""
        found = self._iso.get(when) if not end_of_day else None
        if found is not None:
            return found
        at = when
        if at.tzinfo is None:
            if at.time() == time():
                at += END_OF_DAY if end_of_day else NOON
            at = at.replace(tzinfo=self.tz)
        if at > self.now:
            at = self.now
        text = at.isoformat()
        if not end_of_day:
            if len(self._iso) > 50_000:
                self._iso.clear()
            self._iso[when] = text
        return text

    def warehouse(self, value: str | None) -> str | None:
        return self.warehouses.get(value) if value is not None else None

    def _once(self, rec: Any, key: tuple[type, str], out: Checked, cols: dict[str, str],
              name: str, what: str) -> bool:
        first = self.seen_codes.get(key)
        if first is not None:
            self._bad(rec, out, cols, name, f"{what} is already in {first}")
            return False
        self.seen_codes[key] = getattr(rec, "origin", None) or "an earlier record"
        return True

    # -- kinds -----------------------------------------------------------------------------
    def _master(self, rec: Any, out: Checked, cols: dict[str, str]) -> None:
        kind = {SkuRecord: "skus", SupplierRecord: "suppliers", WarehouseRecord: "warehouses"}[
            type(rec)]
        name = {"skus": "sku", "suppliers": "supplier", "warehouses": "warehouse"}[kind]
        if not _code_ok(rec.code):
            self._bad(rec, out, cols, name, f"'{rec.code}' is not a code: {CODE.error}")
            return
        if type(rec) is self.primary and not self._once(rec, (type(rec), rec.code), out, cols,
                                                         name, f"code '{rec.code}'"):
            return
        if kind == "skus" and rec.suppliers:
            missing = [link.supplier for link in rec.suppliers
                       if link.supplier not in self.suppliers]
            if missing:
                self._bad(rec, out, cols, "supplier", f"supplier '{missing[0]}' does not exist; "
                          "import the suppliers first, or give its lead time to create it")
                return
        if kind == "suppliers" and rec.code not in self.suppliers and rec.lead_time_days is None \
                and self.default_lead_time is not None:
            rec = replace(rec, lead_time_days=self.default_lead_time)
        if kind == "suppliers" and rec.code not in self.suppliers and rec.lead_time_days is None:
            self._bad(rec, out, cols, "lead_time_days", f"supplier '{rec.code}' is new: its "
                      "lead time (lead_time_days, 提前期) is needed")
            return
        {"skus": self.skus, "suppliers": self.suppliers}.get(kind, set()).add(rec.code)
        if kind == "warehouses":
            self.warehouses.setdefault(rec.code, rec.code)
        out.masters[kind].append(rec)

    def _pair(self, rec: Any, out: Checked, cols: dict[str, str]) -> str | None:
        if rec.sku not in self.skus:
            self._bad(rec, out, cols, "sku", f"SKU '{rec.sku}' does not exist")
            return None
        wh = self.warehouse(rec.warehouse)
        if wh is None and rec.warehouse in self.ambiguous:
            self._bad(rec, out, cols, "warehouse", f"'{rec.warehouse}' is the name of several "
                      f"warehouses ({', '.join(self.ambiguous[rec.warehouse])}): use the code")
        elif wh is None:
            self._bad(rec, out, cols, "warehouse", f"warehouse '{rec.warehouse}' does not exist "
                                                   "(neither a code nor a name)")
        return wh

    def _snapshot(self, rec: StockSnapshot, out: Checked, cols: dict[str, str]) -> None:
        wh = self._pair(rec, out, cols)
        if wh is None:
            return
        for name in ("on_hand", "reserved", "on_order"):
            value = getattr(rec, name)
            if value is not None and value < 0:
                self._bad(rec, out, cols, name, f"{value:g} is negative: a stock snapshot cannot "
                          "set a negative quantity; correct it in the source")
                return
        if not self.network and not self._once(rec, (StockSnapshot, f"{rec.sku}\x00{wh}"), out,
                                               cols, "sku", f"SKU '{rec.sku}' in warehouse '{wh}'"):
            return
        out.snapshots.append(rec if wh == rec.warehouse else replace(rec, warehouse=wh))

    def _po_line(self, rec: PurchaseOrderLine, out: Checked, cols: dict[str, str]) -> None:
        wh = self._pair(rec, out, cols)
        if wh is None:
            return
        if rec.qty_ordered < 0 or rec.qty_received < 0:
            self._bad(rec, out, cols, "qty_ordered", "quantities must not be negative")
            return
        key = (PurchaseOrderLine, f"{rec.po}\x00{rec.line}")
        if not self.network and not self._once(rec, key, out, cols, "po",
                                               f"line {rec.line} of order {rec.po}"):
            return
        out.po_lines.append(rec if wh == rec.warehouse else replace(rec, warehouse=wh))

    def _repeats(self, rec: StockMove, eid: str, out: Checked, cols: dict[str, str]) -> bool:
        """The same id twice in one file (only a check says it): the hash noted on the first
        read; on the second (``naming``), a row repeating an earlier one reported."""
        digest = hash(eid)
        if self.naming is None:
            self.ids.add(digest)
            return False
        first = self.naming.first(digest, eid, rec.origin or _describe(rec))
        if first is None:
            return False
        before = len(out.bad)
        self._bad(rec, out, cols, "id", f"the same event ({eid}) as {first}: one row per SKU, "
                  "warehouse and day, or an id or ref column to tell them apart")
        out.repeated.extend(out.bad[before:])
        del out.bad[before:]
        return True

    def _move(self, rec: StockMove, out: Checked, cols: dict[str, str]) -> None:
        wh = self.warehouses.get(rec.warehouse)
        to_wh = self.warehouses.get(rec.to_warehouse) if rec.to_warehouse else None
        if rec.sku not in self.skus or wh is None or (rec.to_warehouse and to_wh is None):
            if self._pair(rec, out, cols) is not None:
                self._bad(rec, out, cols, "to_warehouse",
                          f"warehouse '{rec.to_warehouse}' does not exist")
            return
        eid = event_id(rec.id)
        if self.check_events and self._repeats(rec, eid, out, cols):
            return
        if rec.cancelled:
            out.cancelled.append(rec)
            return
        event: dict[str, Any] = {"id": eid, "type": rec.type, "sku": rec.sku, "warehouse": wh,
                                 "qty": rec.qty * rec.factor if rec.factor != 1.0 else rec.qty,
                                 "at": self.at(rec.at)}
        if rec.ref is not None:
            event["ref"] = rec.ref
        if to_wh is not None:
            event["to_warehouse"] = to_wh
        if self.check_events:
            parsed = parse_event(event, self.now)
            if not isinstance(parsed, StockEvent):
                for error in parsed:
                    self._bad(rec, out, cols, error["field"] or "qty", error["message"])
                return
        out.events.append(event)

    def _sales(self, rec: SalesColumns, out: Checked, cols: dict[str, str]) -> None:
        """Daily sales given as columns: one sale event per row, made here in one loop; a row
        with anything to say (an unknown code, the same day twice) goes the way of a
        ``StockMove``, with its message."""
        skus, warehouses, at_of = self.skus, self.warehouses, self.at
        naming, note = self.naming, self.ids.add
        check, now, append = self.check_events, self.now, out.events.append
        days = rec.days
        for date, sku, given, qty, row in zip(rec.date, rec.sku, rec.warehouse, rec.qty,
                                              rec.row, strict=True):
            at, day = days[date]
            raw_id = f"sale:{sku}:{given}:{day}"
            wh = warehouses.get(given)
            eid = raw_id if len(raw_id) <= MAX_TEXT else event_id(raw_id)
            if wh is None or sku not in skus or (
                    check and naming is not None and hash(eid) in naming):
                self._move(StockMove(raw_id, "sale", sku, given, qty, at, origin=f"row {row}"),
                           out, cols)
                continue
            if check and naming is None:  # 8 bytes an event, kept only while checking a file
                note(hash(eid))
            event = {"id": eid, "type": "sale", "sku": sku, "warehouse": wh, "qty": qty,
                     "at": at_of(at)}
            if check:
                parsed = parse_event(event, now)
                if not isinstance(parsed, StockEvent):
                    for error in parsed:
                        self._bad(StockMove(raw_id, "sale", sku, given, qty, at,
                                            origin=f"row {row}"), out, cols,
                                  error["field"] or "qty", error["message"])
                    continue
            append(event)

    def reversal(self, rec: StockMove, wh: str) -> dict[str, Any] | None:
        """The event that undoes an applied move cancelled at its source (ERPNext
        ``is_cancelled``, Kingdee 反审核): its opposite effect on stock; None for a count."""
        qty = rec.qty * rec.factor
        if rec.type == "transfer" and rec.to_warehouse:
            return {"id": event_id(rec.id + "~cancel"), "type": "transfer", "sku": rec.sku,
                    "warehouse": self.warehouse(rec.to_warehouse), "to_warehouse": wh,
                    "qty": qty, "at": self.now.isoformat(), "ref": f"cancel {rec.id}"[:MAX_TEXT]}
        found = _REVERSE.get(rec.type)
        if found is None:
            return None
        type_, sign = found
        return {"id": event_id(rec.id + "~cancel"), "type": type_, "sku": rec.sku,
                "warehouse": wh, "qty": sign * qty if type_ == "adjustment" else qty,
                "at": self.now.isoformat(), "ref": f"cancel {rec.id}"[:MAX_TEXT]}


def _code_ok(code: str) -> bool:
    try:
        CODE(code)
    except ValidationError:
        return False
    return True


def _describe(rec: Any) -> str:
    for name in ("id", "code", "sku"):
        value = getattr(rec, name, None)
        if value:
            return f"{type(rec).__name__} {value}"
    return type(rec).__name__


def _raw(rec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("code", "id", "type", "sku", "warehouse", "on_hand", "qty", "po", "line"):
        value = getattr(rec, name, None)
        if value is not None:
            out[name] = value if isinstance(value, (str, int, float)) else str(value)
    return out
