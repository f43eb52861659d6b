"""Items in, events out: each item parsed (``engine.stock.parse_event``) and its codes checked
against the catalogue, with the answer per item (accepted, duplicate, rejected with reasons).

Pure: no database; the snapshot gives the codes that exist.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from engine.snapshot import Snapshot
from engine.stock import StockEvent, parse_event


@dataclass(frozen=True)
class Unparsed:
    """A line of an input file that was not JSON: rejected with its reason, its text kept."""

    text: str
    message: str


@dataclass
class ItemResult:
    """The answer for one item of a batch."""

    index: int
    id: str | None
    status: str  # accepted | duplicate | rejected
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.errors:
            out["errors"] = self.errors
        return out


def validate_items(items: Sequence[Any], snap: Snapshot, now: datetime,
                   ) -> tuple[list[tuple[int, StockEvent]], list[ItemResult]]:
    """Parse every item and check its SKU and warehouses exist; errors per item and field.

    Returns the valid events with their index, and the answers of the others (rejected, or a
    duplicate of an earlier item of the same batch)."""
    good: list[tuple[int, StockEvent]] = []
    results: list[ItemResult] = []
    seen: set[str] = set()
    sku_ids, wh_ids, supplier_ids = snap.sku_ids, snap.warehouse_ids, snap.supplier_ids
    for index, raw in enumerate(items):
        if isinstance(raw, Unparsed):
            results.append(ItemResult(index, None, "rejected", [{"field": "", "message": raw.message}]))
            continue
        parsed = parse_event(raw, now)
        if isinstance(parsed, list):
            raw_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            if isinstance(raw, dict):  # every problem at once: unknown codes too
                parsed.extend(_unknown_codes(raw.get, snap, {e.get("field") for e in parsed}))
            results.append(ItemResult(index, raw_id, "rejected", parsed))
            continue
        whole_order = parsed.type == "supplier_delay" and not parsed.sku  # issue #19
        if not ((whole_order or (parsed.sku in sku_ids and parsed.warehouse in wh_ids))
                and (parsed.to_warehouse is None or parsed.to_warehouse in wh_ids)
                and (parsed.supplier is None or parsed.supplier in supplier_ids)):
            results.append(ItemResult(index, parsed.id, "rejected",
                                      _unknown_codes(partial(getattr, parsed), snap)))
        elif parsed.id in seen:
            results.append(ItemResult(index, parsed.id, "duplicate"))
        else:
            seen.add(parsed.id)
            good.append((index, parsed))
    return good, results


_CODE_FIELDS = (("sku", "sku_ids", "SKU"), ("warehouse", "warehouse_ids", "warehouse"),
                ("to_warehouse", "warehouse_ids", "warehouse"), ("supplier", "supplier_ids", "supplier"))


def _unknown_codes(get: Callable[[str], Any], snap: Snapshot,
                   said: Container[Any] = ()) -> list[dict[str, str]]:
    """The errors of an event that names a SKU, warehouse or supplier that does not exist.

    ``get`` reads a field of the event (parsed, or the raw item of an event refused for other
    reasons); ``said``: fields whose own errors already speak for them."""
    errors = []
    for name, index, kind in _CODE_FIELDS:
        code = get(name)
        if type(code) is str and code and name not in said and code not in getattr(snap, index):
            errors.append({"field": name, "message": f"{kind} '{code}' does not exist"})
    return errors
