"""Stock events (SPEC §4): their validation, field by field, and their effect on a stock level.

Pure: no database. ``parse_event`` turns one JSON object into a ``StockEvent`` or a list of
``{"field", "message"}`` errors; ``apply`` changes a ``StockLevel`` in place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.rules.compiled import EVENT_TYPES

# qty > 0 is required for these types; adjustment is signed, count is absolute (≥ 0).
POSITIVE_QTY = frozenset({"receipt", "sale", "issue", "return", "transfer", "reserve", "release"})
DEMAND_TYPES = frozenset({"sale", "issue"})
KNOWN_FIELDS = frozenset({
    "id", "type", "sku", "warehouse", "qty", "at", "ref", "to_warehouse", "supplier", "eta",
    "reserved", "on_order", "meta",
})
MAX_QTY = 1e9
MAX_FUTURE = timedelta(minutes=5)
MAX_TEXT = 128  # characters of an id or a ref
MAX_CODE = 64  # characters of a SKU, warehouse or supplier code


@dataclass(frozen=True)
class StockEvent:
    id: str
    type: str
    sku: str
    warehouse: str
    at: datetime
    qty: float | None = None
    ref: str | None = None
    to_warehouse: str | None = None
    supplier: str | None = None
    eta: datetime | None = None
    reserved: float | None = None
    on_order: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def facts(self) -> dict[str, Any]:
        """The ``event.*`` facts; absent values are left out (null facts are never set)."""
        out: dict[str, Any] = {"id": self.id, "type": self.type, "sku": self.sku,
                               "warehouse": self.warehouse, "at": self.at.isoformat()}
        # Attribute by attribute, not a loop over names with getattr: built once per evaluation.
        if self.qty is not None:
            out["qty"] = self.qty
        if self.ref is not None:
            out["ref"] = self.ref
        if self.to_warehouse is not None:
            out["to_warehouse"] = self.to_warehouse
        if self.supplier is not None:
            out["supplier"] = self.supplier
        if self.eta is not None:
            out["eta"] = self.eta.isoformat()
            out["delay_days"] = round((self.eta - self.at).total_seconds() / 86400, 3)
        return out


Errors = list[dict[str, str]]


def _text(raw: Mapping[str, Any], name: str, errors: Errors, required: bool,
          limit: int = MAX_TEXT) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            errors.append({"field": name, "message": f"'{name}' is required"})
        return None
    if not isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False, default=repr)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        errors.append({"field": name, "message": f"'{name}' must be text, got {shown}"})
        return None
    if not value.strip():
        errors.append({"field": name, "message": f"'{name}' must not be empty"})
        return None
    if len(value) > limit:
        errors.append({"field": name, "message": f"'{name}' is longer than {limit} characters"})
        return None
    return value


def _number(raw: Mapping[str, Any], name: str, errors: Errors) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        errors.append({"field": name, "message": f"'{name}' must be a number, got {shown}"})
        return None
    if not math.isfinite(value) or abs(value) > MAX_QTY:
        errors.append({"field": name, "message": f"'{name}' is out of range (at most {MAX_QTY:.0e})"})
        return None
    return float(value)


def _time(raw: Mapping[str, Any], name: str, errors: Errors, required: bool) -> datetime | None:
    value = raw.get(name)
    if value is None:
        if required:
            errors.append({"field": name, "message": f"'{name}' is required (ISO 8601 with a time zone)"})
        return None
    if not isinstance(value, str):
        errors.append({"field": name, "message": f"'{name}' must be an ISO 8601 time as text"})
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.append({"field": name, "message": f"'{name}' is not an ISO 8601 time: {value!r}"})
        return None
    if parsed.tzinfo is None:
        errors.append({"field": name, "message": f"'{name}' must include a time zone, e.g. {value}+08:00"})
        return None
    return parsed


def parse_event(raw: Any, now: datetime | None = None) -> StockEvent | Errors:
    """Validate one event; the event, or every error found as ``{"field", "message"}``."""
    if type(raw) is dict and KNOWN_FIELDS.issuperset(raw):
        event = _plain_event(raw, now)
        if event is not None:
            return event
    return _checked_event(raw, now)


def recorded_event(raw: Mapping[str, Any]) -> StockEvent:
    """An event read back from the log: ``parse_event`` accepted it when it was recorded, so its
    fields are taken as they are, not checked again (a recorded payload is parsed once)."""
    get = raw.get
    qty, reserved, on_order, eta = get("qty"), get("reserved"), get("on_order"), get("eta")
    return StockEvent(
        raw["id"], raw["type"], raw["sku"], raw["warehouse"],
        datetime.fromisoformat(raw["at"].replace("Z", "+00:00")),
        None if qty is None else float(qty), get("ref"), get("to_warehouse"), get("supplier"),
        None if eta is None else datetime.fromisoformat(eta.replace("Z", "+00:00")),
        None if reserved is None else float(reserved),
        None if on_order is None else float(on_order), raw)


# The types whose plain form ``_plain_event`` takes: a quantity with the sign the type asks for.
_PLAIN_QTY: dict[str, Any] = {
    **{t: (lambda q: q > 0) for t in POSITIVE_QTY if t != "transfer"},
    "adjustment": lambda q: q != 0,
    "count": lambda q: q >= 0,
}
_new = object.__new__


def _plain_event(raw: dict[str, Any], now: datetime | None) -> StockEvent | None:
    """The event of the usual valid item (a dict with id, type, sku, warehouse, at, qty and
    maybe ref or supplier, nothing else), or None for anything else, which
    ``_checked_event`` then checks field by field (with the same answer for a valid one: a
    test compares the two). A fifth of the cost of the full check, most of it saved by not
    calling a helper per field nor the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field)."""
    get = raw.get
    event_id, type_, sku, warehouse = get("id"), get("type"), get("sku"), get("warehouse")
    qty, at_text, ref, supplier = get("qty"), get("at"), get("ref"), get("supplier")
    sign_ok = _PLAIN_QTY.get(type_) if type(type_) is str else None  # a list is unhashable
    if (sign_ok is None or type(event_id) is not str or type(sku) is not str
            or type(warehouse) is not str or type(at_text) is not str
            or (type(qty) is not float and type(qty) is not int)
            or len(event_id) > MAX_TEXT or len(sku) > MAX_CODE or len(warehouse) > MAX_CODE
            or not (event_id.strip() and sku.strip() and warehouse.strip())
            or not -MAX_QTY <= qty <= MAX_QTY or not sign_ok(qty)
            or (ref is not None and (type(ref) is not str or len(ref) > MAX_TEXT or not ref.strip()))
            or (supplier is not None and (type(supplier) is not str or len(supplier) > MAX_CODE
                                          or not supplier.strip()))
            or get("to_warehouse") is not None or get("eta") is not None
            or get("reserved") is not None or get("on_order") is not None or "meta" in raw):
        return None
    try:
        at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None or (now is not None and at - now > MAX_FUTURE):
        return None
    event = _new(StockEvent)
    d = event.__dict__  # filled in field order, one store each: what __init__ leaves there
    d["id"], d["type"], d["sku"], d["warehouse"], d["at"], d["qty"] = (
        event_id, type_, sku, warehouse, at, float(qty))
    d["ref"], d["to_warehouse"], d["supplier"], d["eta"], d["reserved"], d["on_order"], d["raw"] = (
        ref, None, supplier, None, None, None, raw)
    return event  # type: ignore[no-any-return]


def _checked_event(raw: Any, now: datetime | None) -> StockEvent | Errors:
    """``parse_event`` field by field: every error of an invalid item, in field order."""
    if not isinstance(raw, Mapping):
        return [{"field": "", "message": "an event must be a JSON object"}]
    errors: Errors = []
    if not KNOWN_FIELDS.issuperset(raw):
        for name in sorted(set(raw) - KNOWN_FIELDS):
            errors.append({"field": name, "message": f"'{name}' is not a field of a stock event"})
    event_id = _text(raw, "id", errors, required=True)
    type_ = raw.get("type")
    if type_ not in EVENT_TYPES:
        errors.append({"field": "type", "message": f"'type' must be one of {', '.join(EVENT_TYPES)}; "
                                                   f"got {type_!r}"})
    # a supplier_delay may cover a whole order: its SKU and warehouse are optional (issue #19)
    delay = type_ == "supplier_delay"
    sku = _text(raw, "sku", errors, required=not delay, limit=MAX_CODE)
    warehouse = _text(raw, "warehouse", errors, required=not delay, limit=MAX_CODE)
    at = _time(raw, "at", errors, required=True)
    if at is not None and now is not None and at - now > MAX_FUTURE:
        errors.append({"field": "at", "message": f"'at' is {_ahead(at - now)} in the future"})
    qty = _number(raw, "qty", errors)
    ref = _text(raw, "ref", errors, required=False)
    to_wh = _text(raw, "to_warehouse", errors, required=False, limit=MAX_CODE)
    supplier = _text(raw, "supplier", errors, required=False, limit=MAX_CODE)
    eta = _time(raw, "eta", errors, required=False)
    reserved = _number(raw, "reserved", errors)
    on_order = _number(raw, "on_order", errors)
    if "meta" in raw and not isinstance(raw["meta"], Mapping):
        errors.append({"field": "meta", "message": "'meta' must be an object"})
    if type_ in EVENT_TYPES:
        _check_type_rules(type_, raw, qty, warehouse, to_wh, supplier, reserved, on_order, errors)
    if delay:
        _check_delay(raw, sku, warehouse, at, eta, errors)
    if errors:
        return errors
    assert event_id and at and isinstance(type_, str)
    # "" for the SKU or warehouse a whole-order supplier_delay leaves out
    return StockEvent(event_id, type_, sku or "", warehouse or "", at, qty, ref, to_wh,
                      supplier, eta, reserved, on_order, raw)


def _check_delay(raw: Mapping[str, Any], sku: str | None, warehouse: str | None,
                 at: datetime | None, eta: datetime | None, errors: Errors) -> None:
    """A supplier_delay names the order (``ref``) and its new ``eta``, later than ``at``; a
    SKU and a warehouse go together (one line of the order) or not at all (all of it)."""
    if raw.get("ref") is None:
        errors.append({"field": "ref", "message": "a supplier_delay needs 'ref', the order it "
                                                  "delays"})
    if raw.get("eta") is None:
        errors.append({"field": "eta", "message": "a supplier_delay needs 'eta', the new arrival "
                                                  "(ISO 8601 with a time zone)"})
    elif eta is not None and at is not None and eta <= at:
        errors.append({"field": "eta", "message": f"'eta' {eta.isoformat()} is not after the "
                                                  f"event's time {at.isoformat()}: a new arrival "
                                                  "cannot be in the past"})
    if (sku is None) != (warehouse is None) and not any(
            e["field"] in ("sku", "warehouse") for e in errors):
        missing = "warehouse" if sku is not None else "sku"
        errors.append({"field": missing, "message": "a supplier_delay of one line names both "
                                                    "'sku' and 'warehouse' (or neither, for the "
                                                    "whole order)"})


def _check_type_rules(type_: str, raw: Mapping[str, Any], qty: float | None, warehouse: str | None,
                      to_wh: str | None, supplier: str | None, reserved: float | None,
                      on_order: float | None, errors: Errors) -> None:
    has_qty_error = bool(errors) and any(e["field"] == "qty" for e in errors)
    # A count may set only reserved and/or on_order (an ERP's open purchase orders, imported
    # without touching on_hand): then it carries no qty.
    partial_count = type_ == "count" and (reserved is not None or on_order is not None)
    if type_ != "supplier_delay" and qty is None and not has_qty_error and not partial_count:
        errors.append({"field": "qty", "message": f"'qty' is required for a {type_} event"})
    if type_ in POSITIVE_QTY and qty is not None and qty <= 0:
        errors.append({"field": "qty", "message": f"'qty' must be greater than 0 for a {type_} "
                                                  "event (the type says the direction)"})
    if type_ == "adjustment" and qty == 0:
        errors.append({"field": "qty", "message": "'qty' of an adjustment must not be 0"})
    if type_ == "count":
        for name, value in (("qty", qty), ("reserved", reserved), ("on_order", on_order)):
            if value is not None and value < 0:
                errors.append({"field": name, "message": f"'{name}' of a count must not be negative"})
    elif reserved is not None or on_order is not None:
        errors.append({"field": "reserved" if reserved is not None else "on_order",
                       "message": "only a count event may carry 'reserved' or 'on_order'"})
    if type_ == "transfer":
        if to_wh is None and "to_warehouse" not in raw:
            errors.append({"field": "to_warehouse", "message": "a transfer needs 'to_warehouse'"})
        elif to_wh is not None and to_wh == warehouse:
            errors.append({"field": "to_warehouse", "message": "a transfer cannot go to the warehouse "
                                                               "it comes from"})
    elif to_wh is not None:
        errors.append({"field": "to_warehouse", "message": "only a transfer has 'to_warehouse'"})
    if type_ == "supplier_delay" and supplier is None and "supplier" not in raw:
        errors.append({"field": "supplier", "message": "a supplier_delay event needs 'supplier'"})


def _ahead(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


@dataclass
class StockLevel:
    """One SKU×warehouse: what is there, promised and coming."""

    on_hand: float = 0.0
    reserved: float = 0.0
    on_order_erp: float = 0.0
    on_order_local: float = 0.0

    @property
    def available(self) -> float:
        return self.on_hand - self.reserved

    @property
    def on_order(self) -> float:
        return self.on_order_erp + self.on_order_local

    @property
    def inventory_position(self) -> float:
        return self.available + self.on_order


def apply(level: StockLevel, event: StockEvent, side: str = "from", erp_receipt: bool = True) -> None:
    """Change ``level`` by ``event``; a transfer is applied to each side with ``side``.

    A receipt against an ERP order (``erp_receipt``) lowers the ERP's open-order quantity by
    what arrived (clamped at 0) until the ERP's next count reports it; a receipt of a
    requisition raised here lowers the local one instead (the caller does that). A release
    never takes reserved below 0.
    """
    t, q = event.type, event.qty or 0.0
    if t == "receipt":
        level.on_hand += q
        if erp_receipt:
            level.on_order_erp = max(0.0, level.on_order_erp - q)
    elif t in DEMAND_TYPES:
        level.on_hand -= q
    elif t in ("return", "adjustment"):
        level.on_hand += q
    elif t == "count":
        if event.qty is not None:  # a count of reserved/on_order only leaves on_hand alone
            level.on_hand = q
        if event.reserved is not None:
            level.reserved = event.reserved
        if event.on_order is not None:
            level.on_order_erp = event.on_order
    elif t == "transfer":
        level.on_hand += q if side == "to" else -q
    elif t == "reserve":
        level.reserved += q
    elif t == "release":
        level.reserved = max(0.0, level.reserved - q)
