"""The words the import pages use for kinds of files, our fields, run states and counts.

The importers speak in canonical field names (``on_hand``, ``qty_open``); an admin reads
"On hand", "在手数量". Unknown names (a third-party importer's) are shown as they are.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

KIND_LABELS: dict[str, Any] = {
    "items": _l("Items (SKUs)"),
    "warehouses": _l("Warehouses"),
    "suppliers": _l("Suppliers"),
    "stock": _l("Stock on hand (snapshot)"),
    "moves": _l("Stock moves"),
    "sales": _l("Daily sales"),
    "purchase-orders": _l("Open purchase orders"),
}

FIELD_LABELS: dict[str, Any] = {
    "sku": _l("SKU code"),
    "name": _l("Name"),
    "spec": _l("Specification"),
    "category": _l("Category"),
    "unit": _l("Unit"),
    "unit_cost": _l("Unit cost"),
    "tags": _l("Tags"),
    "abc_class": _l("ABC class"),
    "barcode": _l("Barcode"),
    "supplier": _l("Supplier"),
    "lead_time_days": _l("Lead time (days)"),
    "lead_time_std_days": _l("Lead time spread (days)"),
    "moq": _l("Minimum order quantity"),
    "pack_size": _l("Pack size"),
    "min_qty": _l("Minimum stock"),
    "max_qty": _l("Maximum stock"),
    "on_time_rate": _l("On-time rate"),
    "contact": _l("Contact"),
    "region": _l("Region"),
    "warehouse": _l("Warehouse"),
    "to_warehouse": _l("To warehouse"),
    "on_hand": _l("On hand"),
    "available": _l("Available"),
    "reserved": _l("Reserved"),
    "on_order": _l("On order"),
    "as_of": _l("As of"),
    "date": _l("Date"),
    "qty": _l("Quantity"),
    "type": _l("Type of move"),
    "ref": _l("Document number"),
    "id": _l("Line id"),
    "factor": _l("Unit conversion factor"),
    "po": _l("Purchase order"),
    "line": _l("Line"),
    "qty_ordered": _l("Quantity ordered"),
    "qty_received": _l("Quantity received"),
    "qty_open": _l("Quantity still open"),
    "expected_date": _l("Expected date"),
    "status": _l("Status"),
    # the attributes of records that are not columns of a file
    "code": _l("Code"),
    "at": _l("When"),
    "suppliers": _l("Suppliers"),
    "attributes": _l("Attributes"),
}

RUN_STATE_LABELS: dict[str, Any] = {
    "queued": _l("waiting to start"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed to import"),
    "interrupted": _l("interrupted"),
}

COUNT_LABELS: dict[str, Any] = {
    "rows": _l("rows read"),
    "bad": _l("bad rows"),
    "created": _l("created"),
    "updated": _l("updated"),
    "unchanged": _l("unchanged"),
    "accepted": _l("events applied"),
    "duplicate": _l("events already in"),
    "rejected": _l("events rejected"),
    "reconciled": _l("levels set to zero (not in the snapshot)"),
    "cancelled": _l("cancellations"),
}

MODE_LABELS: dict[str, Any] = {
    "snapshot": _l("full snapshot"),
    "incremental": _l("changes since the last sync"),
}


def label(table: dict[str, Any], key: str | None) -> str:
    """``key`` in the viewer's language, or as it is when the table does not know it."""
    if key is None:
        return "—"
    found = table.get(key)
    return str(found) if found is not None else key


def jinja_globals() -> dict[str, Any]:
    return {
        "kind_label": lambda k: label(KIND_LABELS, k),
        "field_label": lambda k: label(FIELD_LABELS, k),
        "run_state_label": lambda k: label(RUN_STATE_LABELS, k),
        "count_label": lambda k: label(COUNT_LABELS, k),
        "mode_label": lambda k: label(MODE_LABELS, k),
        "import_kinds": list(KIND_LABELS),
    }
