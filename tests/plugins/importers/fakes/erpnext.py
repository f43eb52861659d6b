"""A fake ERPNext (Frappe REST) on 127.0.0.1: ``GET /api/resource/<DocType>`` with JSON
``fields``, ``filters`` (``[field, op, value]`` or ``[doctype, field, op, value]``, AND),
``or_filters`` (OR), ``order_by``, ``limit_start`` and ``limit_page_length`` (default 20);
``GET /api/resource/<DocType>/<name>`` with child tables; ``Authorization: token key:secret``
(401 ``AuthenticationError`` otherwise); an unknown field is MariaDB's 1054 error as Frappe
passes it on (HTTP 500 with ``exc_type``/``exception``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.plugins.importers.fakes.httpfake import Answer, HttpFake, Request, compare

DOCTYPES = {
    "Warehouse": ["warehouse_name", "is_group", "disabled", "company"],
    "Supplier": ["supplier_name", "disabled"],
    "Item": ["item_code", "item_name", "item_group", "stock_uom", "is_stock_item", "disabled",
             "valuation_rate"],
    "Bin": ["item_code", "warehouse", "actual_qty", "reserved_qty",
            "reserved_qty_for_production", "ordered_qty", "projected_qty", "stock_uom"],
    "Stock Ledger Entry": ["item_code", "warehouse", "posting_date", "posting_time",
                           "actual_qty", "qty_after_transaction", "voucher_type", "voucher_no",
                           "is_cancelled", "stock_uom"],
    "Purchase Order": ["supplier", "status", "docstatus", "transaction_date"],
}


class FakeErpNext(HttpFake):
    def __init__(self, key: str = "3f2a9c1e0b7d4e5", secret: str = "9a8b7c6d5e4f3a2",
                 time_zone: str | None = "Asia/Shanghai") -> None:
        super().__init__()
        self.key, self.secret, self.time_zone = key, secret, time_zone
        self.fields = {d: ["name", "creation", "modified", "owner", *f]
                       for d, f in DOCTYPES.items()}
        self.docs: dict[str, dict[str, dict[str, Any]]] = {d: {} for d in DOCTYPES}
        self.clock = datetime(2024, 5, 20, 15, 31, 12, 42118)
        self.fail: dict[tuple[str, int], str] = {}  # (doctype, n-th list) -> error message
        self.lists: dict[str, int] = {}

    def tick(self) -> str:
        self.clock += timedelta(seconds=1, microseconds=1)
        return self.clock.strftime("%Y-%m-%d %H:%M:%S.%f")

    def add(self, doctype: str, name: str, **values: Any) -> dict[str, Any]:
        now = self.tick()
        doc = {"name": name, "creation": now, "modified": now, "owner": "Administrator",
               **values}
        self.docs[doctype][name] = doc
        return doc

    def update(self, doctype: str, name: str, **values: Any) -> None:
        self.docs[doctype][name].update(values, modified=self.tick())

    def handle(self, req: Request) -> Answer:
        if req.headers.get("authorization") != f"token {self.key}:{self.secret}":
            return Answer(401, {"exc_type": "AuthenticationError",
                                "exception": "frappe.exceptions.AuthenticationError",
                                "_server_messages": json.dumps([json.dumps(
                                    {"message": "Invalid API key or secret"})])})
        if req.path == "/api/method/frappe.auth.get_logged_user":
            return Answer(200, {"message": "api@example.com"})
        parts = req.path.split("/")
        if len(parts) < 4 or parts[1:3] != ["api", "resource"]:
            return Answer(404, {"exc_type": "DoesNotExistError", "exception": "Not found"})
        doctype = parts[3]
        if doctype == "System Settings":
            if self.time_zone is None:
                return Answer(403, {"exc_type": "PermissionError",
                                    "exception": "frappe.exceptions.PermissionError"})
            return Answer(200, {"data": {"name": "System Settings",
                                         "time_zone": self.time_zone}})
        if doctype not in self.docs:
            return Answer(404, {"exc_type": "DoesNotExistError",
                                "exception": f"DocType {doctype} not found"})
        if len(parts) > 4:
            doc = self.docs[doctype].get("/".join(parts[4:]))
            if doc is None:
                return Answer(404, {"exc_type": "DoesNotExistError",
                                    "exception": f"{doctype} not found"})
            return Answer(200, {"data": doc})
        return self._list(doctype, req.query)

    def _list(self, doctype: str, q: dict[str, str]) -> Answer:
        n = self.lists[doctype] = self.lists.get(doctype, 0) + 1
        if (doctype, n) in self.fail:
            return Answer(500, {"exc_type": "OperationalError",
                                "exception": self.fail.pop((doctype, n))})
        fields = json.loads(q.get("fields", '["name"]'))
        if fields == ["*"]:
            fields = self.fields[doctype]
        for f in fields:
            if f not in self.fields[doctype]:
                return Answer(500, {"exc_type": "OperationalError", "exception":
                                    "pymysql.err.OperationalError: (1054, \"Unknown column "
                                    f"'{f}' in 'field list'\")"})
        rows = list(self.docs[doctype].values())
        for flt in json.loads(q.get("filters", "[]")):
            field, op, value = flt[-3:]
            rows = [r for r in rows if compare(r.get(field), op, value)]
        ors = json.loads(q.get("or_filters", "[]"))
        if ors:
            rows = [r for r in rows if any(compare(r.get(f[-3]), f[-2], f[-1]) for f in ors)]
        for part in reversed((q.get("order_by") or "modified desc").split(",")):
            name, _, direction = part.strip().partition(" ")
            rows.sort(key=lambda r: r.get(name) or "", reverse=direction.lower() == "desc")
        start = int(q.get("limit_start") or 0)
        length = int(q.get("limit_page_length") or 20)
        rows = rows[start:start + length] if length else rows[start:]
        return Answer(200, {"data": [{f: r.get(f) for f in fields} for r in rows]})


def seed(fake: FakeErpNext) -> None:
    """Two warehouses (and their group), two stock items and a service, bins, a ledger with a
    cancelled delivery, and a submitted and a cancelled purchase order."""
    fake.add("Warehouse", "All Warehouses - SH", warehouse_name="All Warehouses", is_group=1)
    fake.add("Warehouse", "Stores - SH", warehouse_name="Stores", is_group=0)
    fake.add("Warehouse", "Finished Goods - SH", warehouse_name="Finished Goods", is_group=0)
    fake.add("Supplier", "Acme", supplier_name="Acme Supplies")
    fake.add("Item", "SKU-0001", item_code="SKU-0001", item_name="Bolt M6", item_group="Parts",
             stock_uom="Nos", is_stock_item=1, valuation_rate=0.5)
    fake.add("Item", "SKU-0002", item_code="SKU-0002", item_name="Flour", item_group="Raw",
             stock_uom="Kg", is_stock_item=1, valuation_rate=2.0)
    fake.add("Item", "SRV-1", item_code="SRV-1", item_name="Install", is_stock_item=0)
    fake.add("Supplier", "Mill", supplier_name="Golden Mill")
    # child tables, as GET /api/resource/Item/<name> returns them (never in lists)
    fake.docs["Item"]["SKU-0001"]["supplier_items"] = [
        {"name": "is-1", "idx": 1, "parenttype": "Item", "parentfield": "supplier_items",
         "supplier": "Acme", "supplier_part_no": "AC-M6"},
        {"name": "is-2", "idx": 2, "parenttype": "Item", "parentfield": "supplier_items",
         "supplier": "Mill", "supplier_part_no": None}]
    fake.docs["Item"]["SKU-0001"]["item_defaults"] = [
        {"name": "id-1", "idx": 1, "parenttype": "Item", "parentfield": "item_defaults",
         "company": "Shanghai Co", "default_warehouse": "Stores - SH", "default_supplier": "Mill"}]
    fake.docs["Item"]["SKU-0002"]["supplier_items"] = []
    fake.docs["Item"]["SKU-0002"]["item_defaults"] = [
        {"name": "id-2", "idx": 1, "parenttype": "Item", "parentfield": "item_defaults",
         "company": "Shanghai Co", "default_warehouse": None, "default_supplier": "Acme"}]
    fake.add("Bin", "BIN-1", item_code="SKU-0001", warehouse="Stores - SH", actual_qty=120.0,
             reserved_qty=15.0, reserved_qty_for_production=5.0, ordered_qty=200.0)
    fake.add("Bin", "BIN-2", item_code="SKU-0002", warehouse="Stores - SH", actual_qty=0.0,
             reserved_qty=0.0, reserved_qty_for_production=0.0, ordered_qty=0.0)
    fake.add("Bin", "BIN-3", item_code="SKU-0001", warehouse="Finished Goods - SH",
             actual_qty=7.0, reserved_qty=0.0, reserved_qty_for_production=0.0, ordered_qty=0.0)
    for name, item, wh, qty, vtype, vno, cancelled in (
        ("SLE-1", "SKU-0001", "Stores - SH", 200.0, "Purchase Receipt", "PR-1", 0),
        ("SLE-2", "SKU-0001", "Stores - SH", -80.0, "Delivery Note", "DN-1", 0),
        ("SLE-3", "SKU-0001", "Stores - SH", -5.0, "Delivery Note", "DN-2", 1),
        ("SLE-4", "SKU-0001", "Stores - SH", 5.0, "Delivery Note", "DN-2", 1),
        ("SLE-5", "SKU-0001", "Stores - SH", -7.0, "Stock Entry", "STE-1", 0),
        ("SLE-6", "SKU-0001", "Finished Goods - SH", 7.0, "Stock Entry", "STE-1", 0),
        ("SLE-7", "SKU-0001", "Stores - SH", 2.0, "Sales Invoice", "SINV-1", 0),
    ):
        fake.add("Stock Ledger Entry", name, item_code=item, warehouse=wh,
                 posting_date="2024-05-20", posting_time="9:05:00.5", actual_qty=qty,
                 voucher_type=vtype, voucher_no=vno, is_cancelled=cancelled, stock_uom="Nos")
    po = fake.add("Purchase Order", "PUR-ORD-0001", supplier="Acme", status="To Receive and Bill",
                  docstatus=1, transaction_date="2024-05-18")
    po["items"] = [{"name": "poi-1", "idx": 1, "item_code": "SKU-0001", "qty": 10.0,
                    "received_qty": 2.0, "uom": "Box", "conversion_factor": 20.0,
                    "stock_qty": 200.0, "warehouse": "Stores - SH", "schedule_date": "2024-06-01"}]
    po = fake.add("Purchase Order", "PUR-ORD-0002", supplier="Acme", status="Cancelled",
                  docstatus=2, transaction_date="2024-05-19")
    po["items"] = [{"name": "poi-2", "idx": 1, "item_code": "SKU-0002", "qty": 3.0,
                    "received_qty": 0.0, "uom": "Kg", "conversion_factor": 1.0,
                    "warehouse": "Stores - SH", "schedule_date": "2024-06-02"}]
    fake.add("Purchase Order", "PUR-ORD-0003", supplier="Acme", status="Draft", docstatus=0)
