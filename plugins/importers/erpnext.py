"""ERPNext (Frappe REST): warehouses, suppliers, stock items, ``Bin`` levels, the
``Stock Ledger Entry`` log and purchase orders (ERP.md §2b).

Auth is ``Authorization: token <key>:<secret>``. Lists are ``GET /api/resource/<DocType>`` with
``fields``/``filters``/``or_filters``/``order_by``/``limit_start``/``limit_page_length`` as JSON;
pages follow the keyset ``(modified, name)``: ``modified >= T`` and (``modified > T`` or
``name > N``). Timestamps are in the site's time zone (System Settings, or ``--timezone``).
A cancelled voucher's ledger entries carry ``is_cancelled = 1``: they come as cancelled moves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from engine.imports.records import (
    PurchaseOrderLine,
    Record,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierLink,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers.http import HttpClient
from plugins.importers.runs import (
    BadValue,
    Chunk,
    Start,
    Stream,
    bad_row,
    number,
    parse_local,
    run_streams,
    shift,
    text,
    zone,
)

SOURCE = "erpnext"
TS = "%Y-%m-%d %H:%M:%S.%f"
SALES = ("Delivery Note", "Sales Invoice", "POS Invoice")
PURCHASES = ("Purchase Receipt", "Purchase Invoice")

OPTIONS = (
    Option("url", "ERPNext address, e.g. https://erp.example.com", "ERPNext 地址", required=True),
    Option("api_key", "API key (User → API Access)", "API Key", required=True),
    Option("api_secret", "API secret", "API Secret", required=True, secret=True),
    Option("timezone", "the site's time zone (default: read from System Settings)",
           "站点时区（默认读取系统设置）"),
    Option("page_size", "records per request (ERPNext's default is 20)", "每页记录数",
           default=500),
    Option("timeout", "seconds to wait for an answer", "等待应答的秒数", default=30),
)


class ErpNextImporter:
    name = "erpnext"
    label = {"zh": "ERPNext", "en": "ERPNext"}
    reads_files = False
    options = OPTIONS

    def _client(self, request: ImportRequest) -> _Site:
        o = request.options
        for opt in OPTIONS:
            if opt.required and not o.get(opt.name):
                raise ImportFailed(SOURCE, f"option --{opt.name.replace('_', '-')}", "is required")
        http = HttpClient(SOURCE, str(o["url"]), timeout=float(o.get("timeout") or 30),
                          headers={"Authorization": f"token {o['api_key']}:{o['api_secret']}",
                                   "Accept": "application/json"})
        return _Site(http, int(o.get("page_size") or 500), o.get("timezone"))

    def check(self, request: ImportRequest) -> str:
        site = self._client(request)
        try:
            user = site.http.json("GET", "/api/method/frappe.auth.get_logged_user", "log in")
            bins = site.list("Bin", ["name"], [], 0, 1, "read Bin")
        finally:
            site.http.close()
        return (f"ERPNext at {site.http.base_url} as {user.get('message')}: "
                f"{'stock levels readable' if bins is not None else 'no Bin'}")

    def read(self, request: ImportRequest) -> Iterator[Any]:
        site = self._client(request)
        try:
            streams = [
                Stream("Warehouse", "warehouses", site.warehouses),
                Stream("Supplier", "suppliers", site.suppliers),
                Stream("Item", "items", site.items),
                # moves before the levels: a level then stands over the moves it includes (a
                # move dated before it, applied after it, would count twice until the next)
                Stream("Stock Ledger Entry", "moves", site.ledger),
                Stream("Bin", "stock", site.bins),
                Stream("Purchase Order", "purchase-orders", site.purchase_orders),
            ]
            yield from run_streams(SOURCE, request, streams)
        finally:
            site.http.close()


importer = ErpNextImporter()


class _Site:
    def __init__(self, http: HttpClient, page_size: int, timezone: str | None) -> None:
        self.http = http
        self.page_size = max(1, page_size)
        self._tz = zone(SOURCE, timezone) if timezone else None

    @property
    def tz(self) -> ZoneInfo:
        if self._tz is None:
            try:
                doc = self.http.json("GET", "/api/resource/System Settings/System Settings",
                                     "System Settings (time zone)")
                name = (doc.get("data") or {}).get("time_zone")
            except ImportFailed as exc:
                raise ImportFailed(SOURCE, exc.where, f"{exc.reason}; set --timezone to the "
                                   "site's time zone") from None
            if not name:
                raise ImportFailed(SOURCE, "System Settings", "no time zone set; use --timezone")
            self._tz = zone(SOURCE, name)
        return self._tz

    def list(self, doctype: str, fields: list[str], filters: list[Any], start: int,
             limit: int, where: str, or_filters: list[Any] | None = None) -> list[dict]:
        params = {"fields": json.dumps(fields), "filters": json.dumps(filters),
                  "order_by": "modified asc, name asc", "limit_start": str(start),
                  "limit_page_length": str(limit)}
        if or_filters:
            params["or_filters"] = json.dumps(or_filters)
        body = self.http.json("GET", f"/api/resource/{quote(doctype)}", where, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ImportFailed(SOURCE, where, "the answer has no 'data' list")
        return data

    def keyset(self, doctype: str, fields: list[str], filters: list[Any],
               start: Start) -> Iterator[tuple[list[dict], str, dict[str, Any] | None]]:
        pos = dict(start.position) if start.position else None
        fields = list(dict.fromkeys([*fields, "name", "modified"]))
        if pos and not start.resumed:  # a new run: the overlap window, deduped by the service
            floor: list[Any] = [["modified", ">=", shift(pos["ts"],
                                                         start.overlap.total_seconds(), TS)]]
            after = None
        else:
            floor, after = [], pos
        page = 0
        while True:
            page += 1
            extra, ors = floor, None
            if after:
                extra = [["modified", ">=", after["ts"]]]
                ors = [["modified", ">", after["ts"]], ["name", ">", after["id"]]]
            where = f"{doctype} page {page}" + (f" (after {after['ts']} {after['id']})"
                                                if after else "")
            rows = self.list(doctype, fields, filters + extra, 0, self.page_size, where, ors)
            if rows:
                after = pos = {"ts": rows[-1]["modified"], "id": rows[-1]["name"]}
            if rows or page == 1:
                yield rows, where, pos
            if len(rows) < self.page_size:
                return

    # --- streams --------------------------------------------------------------------------

    def warehouses(self, start: Start) -> Iterator[Chunk]:
        for rows, where, pos in self.keyset("Warehouse", ["warehouse_name", "disabled"],
                                            [["is_group", "=", 0]], start):
            yield Chunk([WarehouseRecord(code=w["name"], name=w.get("warehouse_name"))
                         for w in rows], where, pos)

    def suppliers(self, start: Start) -> Iterator[Chunk]:
        for rows, where, pos in self.keyset("Supplier", ["supplier_name"], [], start):
            yield Chunk([SupplierRecord(code=s["name"], name=s.get("supplier_name"))
                         for s in rows], where, pos)

    def items(self, start: Start) -> Iterator[Chunk]:
        fields = ["item_name", "item_group", "stock_uom", "valuation_rate", "disabled"]
        for rows, where, pos in self.keyset("Item", fields, [["is_stock_item", "=", 1]], start):
            yield Chunk([SkuRecord(code=i["name"], name=i.get("item_name"),
                                   category=i.get("item_group"), unit=i.get("stock_uom"),
                                   unit_cost=i.get("valuation_rate") or None,
                                   attributes={"disabled": bool(i.get("disabled"))},
                                   suppliers=self._links(i["name"], where))
                         for i in rows], where, pos)

    def _links(self, item: str, where: str) -> tuple[SupplierLink, ...] | None:
        """An item's suppliers: its ``Item Supplier`` rows (``supplier_items``) and the
        ``default_supplier`` of its ``Item Default`` rows, which is the preferred one. Child
        tables come only with the document (one request per item read). None (links left
        as they are) for an item that names no supplier."""
        doc = self.http.json("GET", f"/api/resource/Item/{quote(item)}",
                             f"{where}, Item {item}").get("data") or {}
        default = next((str(d["default_supplier"]) for d in doc.get("item_defaults") or []
                        if d.get("default_supplier")), None)
        names = [str(s["supplier"]) for s in doc.get("supplier_items") or []
                 if s.get("supplier")]
        if default is not None and default not in names:
            names.insert(0, default)
        names = list(dict.fromkeys(names))
        if not names:
            return None
        return tuple(SupplierLink(n, preferred=n == (default or names[0])) for n in names)

    def bins(self, start: Start) -> Iterator[Chunk]:
        """One ``Bin`` is one level in the stock unit: on hand, reserved, on order."""
        fields = ["item_code", "warehouse", "actual_qty", "reserved_qty",
                  "reserved_qty_for_production", "ordered_qty"]
        for rows, where, pos in self.keyset("Bin", fields, [], start):
            as_of = datetime.now(UTC)
            out: list[Record] = []
            for b in rows:
                try:
                    out.append(StockSnapshot(
                        sku=text(b["item_code"], "item_code"),
                        warehouse=text(b["warehouse"], "warehouse"),
                        on_hand=number(b["actual_qty"], "actual_qty") or 0.0,
                        reserved=(number(b["reserved_qty"], "reserved_qty", required=False) or 0)
                        + (number(b.get("reserved_qty_for_production"),
                                  "reserved_qty_for_production", required=False) or 0),
                        on_order=number(b["ordered_qty"], "ordered_qty", required=False),
                        as_of=as_of, id=f"erpnext:Bin:{b['name']}:{b['modified']}"))
                except BadValue as exc:
                    out.append(bad_row(f"{where}, Bin {b.get('name')}", exc, b))
            yield Chunk(out, where, pos)

    def ledger(self, start: Start) -> Iterator[Chunk]:
        fields = ["item_code", "warehouse", "posting_date", "posting_time", "actual_qty",
                  "voucher_type", "voucher_no", "is_cancelled"]
        for rows, where, pos in self.keyset("Stock Ledger Entry", fields, [], start):
            out: list[Record] = []
            for e in rows:
                try:
                    out.append(self._move(e))
                except BadValue as exc:
                    out.append(bad_row(f"{where}, Stock Ledger Entry {e.get('name')}", exc, e))
            yield Chunk(out, where, pos)

    def _move(self, e: dict[str, Any]) -> StockMove:
        qty = number(e["actual_qty"], "actual_qty") or 0.0
        voucher = e.get("voucher_type") or ""
        if voucher in SALES:
            kind = "sale" if qty < 0 else "return"
        elif voucher in PURCHASES and qty > 0:
            kind = "receipt"
        else:  # stock entries, reconciliations, purchase returns: the signed change
            kind = "adjustment"
        return StockMove(
            id=f"erpnext:SLE:{e['name']}", type=kind, sku=text(e["item_code"], "item_code"),
            warehouse=text(e["warehouse"], "warehouse"),
            qty=qty if kind == "adjustment" else abs(qty),
            at=_posting(e, self.tz), ref=f"{voucher} {e.get('voucher_no') or ''}".strip(),
            cancelled=bool(e.get("is_cancelled")))

    def purchase_orders(self, start: Start) -> Iterator[Chunk]:
        """Submitted and cancelled orders; each order's lines come with the document."""
        fields = ["supplier", "status", "docstatus"]
        for rows, where, pos in self.keyset("Purchase Order", fields,
                                            [["docstatus", "in", [1, 2]]], start):
            out: list[Record] = []
            for po in rows:
                doc = self.http.json("GET", f"/api/resource/Purchase Order/{quote(po['name'])}",
                                     f"{where}, Purchase Order {po['name']}").get("data") or {}
                for item in doc.get("items") or []:
                    try:
                        out.append(_po_line(po, item))
                    except BadValue as exc:
                        out.append(bad_row(f"{where}, Purchase Order {po['name']} item "
                                           f"{item.get('idx')}", exc, item))
            yield Chunk(out, where, pos)


def _po_line(po: dict[str, Any], item: dict[str, Any]) -> PurchaseOrderLine:
    status = ("cancelled" if po.get("docstatus") == 2
              else "done" if po.get("status") in ("Completed", "Closed") else "open")
    schedule = item.get("schedule_date")
    return PurchaseOrderLine(
        po=po["name"], line=str(item.get("name") or item.get("idx")),
        supplier=str(po.get("supplier") or ""), sku=text(item.get("item_code"), "item_code"),
        warehouse=text(item.get("warehouse"), "warehouse"),
        qty_ordered=number(item.get("qty"), "qty") or 0.0,
        qty_received=number(item.get("received_qty"), "received_qty", required=False) or 0.0,
        expected_date=datetime.fromisoformat(schedule).date() if schedule else None,
        status=status,
        factor=number(item.get("conversion_factor"), "conversion_factor", required=False) or 1.0)


def _posting(e: dict[str, Any], tz: ZoneInfo) -> datetime:
    """``posting_date`` + ``posting_time`` (Frappe sends a time as "9:05:00.5"), site-local."""
    day = parse_local(e.get("posting_date"), tz, "posting_date")
    raw = str(e.get("posting_time") or "0:00:00")
    try:
        h, m, s = raw.split(":")
        offset = timedelta(hours=int(h), minutes=int(m), seconds=float(s))
    except ValueError:
        raise BadValue("posting_time", f"{raw!r} is not a time") from None
    local = day.astimezone(tz).replace(tzinfo=None) + offset
    return local.replace(tzinfo=tz).astimezone(UTC)
