"""A purchase order as rows an ERP's importer reads: one layout per importer (issue #18).

- ``stockwarn``: our own CSV/Excel importer's ``purchase_orders`` template
  (po, line, supplier, sku, warehouse, qty_ordered, qty_received, expected_date, status), which
  the generic importer takes back as open purchase orders.
- ``odoo``: Odoo's import of ``purchase.order`` with its ``order_line`` one2many: the order's
  fields on the first line only, technical field names as headers (Odoo's "Import" matches them).
- ``erpnext``: ERPNext's Data Import of a Purchase Order: the parent's fields on the first row,
  the child table's columns named ``<Field> (Items)``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

LAYOUTS = ("stockwarn", "odoo", "erpnext")


def rows(order: dict[str, Any], layout: str, today: date) -> tuple[list[str], list[list[Any]]]:
    """``(headers, rows)`` of ``order`` (``purchase_orders.load``) in ``layout``."""
    expected = (today + timedelta(days=float(order.get("lead_time_days") or 0))).isoformat()
    number = f"SW-PO-{order['id']}"
    lines = order["lines"]
    if layout == "odoo":
        headers = ["id", "partner_id", "date_order", "order_line/product_id",
                   "order_line/product_qty", "order_line/price_unit", "order_line/date_planned",
                   "picking_type_id"]
        out = [[f"__import__.stockwarn_po_{order['id']}" if i == 0 else "",
                order["supplier_name"] if i == 0 else "", today.isoformat() if i == 0 else "",
                line["sku"], line["quantity"], line["unit_price"], expected,
                line["warehouse_name"] if i == 0 else ""] for i, line in enumerate(lines)]
        return headers, out
    if layout == "erpnext":
        headers = ["ID", "Supplier", "Date", "Required By", "Item Code (Items)",
                   "Quantity (Items)", "Rate (Items)", "Warehouse (Items)",
                   "Required By (Items)"]
        out = [[number if i == 0 else "", order["supplier"] if i == 0 else "",
                today.isoformat() if i == 0 else "", expected if i == 0 else "", line["sku"],
                line["quantity"], line["unit_price"], line["warehouse"], expected]
               for i, line in enumerate(lines)]
        return headers, out
    headers = ["po", "line", "supplier", "sku", "warehouse", "qty_ordered", "qty_received",
               "expected_date", "status"]
    out = [[number, i + 1, order["supplier"], line["sku"], line["warehouse"], line["quantity"],
            0, expected, "open"] for i, line in enumerate(lines)]
    return headers, out
