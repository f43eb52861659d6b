"""Odoo: warehouses, vendors, storable products with their vendors, stock per product ×
warehouse, done moves and purchase lines, over XML-RPC (≤ 18) or JSON-2 (19) (ERP.md §2a).

Every model is paged by the keyset ``(write_date, id)`` in that order; Odoo's datetimes are
naive UTC. Stock is summed from ``stock.quant`` over internal and transit locations per
warehouse; Odoo deletes empty quants, so only a snapshot (``--mode snapshot``) can tell that a
level went to zero: its last stock page names ``stock`` in ``complete_kinds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from engine.imports.records import (
    PurchaseOrderLine,
    Record,
    SkuRecord,
    SupplierLink,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers.odoo_read import OdooReader
from plugins.importers.odoo_transport import SOURCE, connect
from plugins.importers.runs import BadValue, Chunk, Start, Stream, bad_row, number, run_streams

OPTIONS = (
    Option("url", "Odoo address, e.g. https://erp.example.com", "Odoo 地址", required=True),
    Option("db", "database name", "数据库名", required=True),
    Option("login", "user login (XML-RPC; not needed for JSON-2)", "登录名（XML-RPC 需要）"),
    Option("api_key", "API key (or the user's password)", "API 密钥（或密码）",
           required=True, secret=True),
    Option("protocol", "auto, xmlrpc (Odoo ≤ 18) or json2 (Odoo 19)",
           "协议：auto、xmlrpc（≤18）或 json2（19）", default="auto"),
    Option("page_size", "records per request", "每次请求的记录数", default=500),
    Option("timeout", "seconds to wait for an answer", "等待应答的秒数", default=30),
)


class OdooImporter:
    name = "odoo"
    label = {"zh": "Odoo", "en": "Odoo"}
    reads_files = False
    options = OPTIONS

    def _reader(self, request: ImportRequest) -> OdooReader:
        o = request.options
        for opt in OPTIONS:
            if opt.required and not o.get(opt.name):
                raise ImportFailed(SOURCE, f"option --{opt.name.replace('_', '-')}",
                                   "is required")
        key = str(o.get("api_key") or o.get("password") or "")
        transport = connect(str(o["url"]), str(o["db"]), o.get("login"), key,
                            str(o.get("protocol") or "auto"), float(o.get("timeout") or 30))
        return OdooReader(transport, str(o["db"]), int(o.get("page_size") or 500))

    def check(self, request: ImportRequest) -> str:
        reader = self._reader(request)
        try:
            products = reader.call("product.product", "search_count",
                                   {"domain": reader.schema.storable_domain()}, "search_count")
            warehouses = len(reader.warehouses())
        finally:
            reader.close()
        return (f"Odoo {reader.transport.version or '?'}, database {reader.db}: "
                f"{products} storable products, {warehouses} warehouses")

    def read(self, request: ImportRequest) -> Iterator[Any]:
        reader = self._reader(request)
        try:
            streams = [
                Stream("stock.warehouse", "warehouses", lambda s: _warehouses(reader, s)),
                Stream("res.partner", "suppliers", lambda s: _suppliers(reader, s)),
                Stream("product.product", "items", lambda s: _items(reader, s)),
                # moves before the levels: a count then stands over the moves it includes
                # (a move dated before it, applied after it, would count twice until the next)
                Stream("stock.move", "moves", lambda s: _moves(reader, s)),
                Stream("stock.quant", "stock", lambda s: _stock(reader, s)),
                Stream("purchase.order.line", "purchase-orders", lambda s: _po_lines(reader, s)),
            ]
            yield from run_streams(SOURCE, request, streams)
        finally:
            reader.close()


importer = OdooImporter()


def _warehouses(r: OdooReader, start: Start) -> Iterator[Chunk]:
    fields = r.schema.require("stock.warehouse", ["code", "name", "lot_stock_id", "write_date"])
    for rows, where, pos in r.keyset("stock.warehouse", [], fields, start):
        yield Chunk([WarehouseRecord(code=str(w["code"]), name=w["name"] or None) for w in rows],
                    where, pos)


def _suppliers(r: OdooReader, start: Start) -> Iterator[Chunk]:
    fields = r.schema.require("res.partner", ["name", "ref", "write_date"])
    for rows, where, pos in r.keyset("res.partner", r.schema.supplier_domain(), fields, start):
        yield Chunk([SupplierRecord(code=r.partner_code(p["id"], p.get("ref")), name=p["name"])
                     for p in rows], where, pos)


def _items(r: OdooReader, start: Start) -> Iterator[Chunk]:
    fields = r.schema.require("product.product", [
        "default_code", "name", "categ_id", "uom_id", "standard_price", "product_tmpl_id",
        "write_date"])
    for rows, where, pos in r.keyset("product.product", r.schema.storable_domain(), fields,
                                     start):
        links = r.supplier_links([p["product_tmpl_id"][0] for p in rows if p["product_tmpl_id"]])
        out: list[Record] = []
        for p in rows:
            code = p.get("default_code")
            if not code:
                out.append(bad_row(f"{where}, product id {p['id']}", BadValue(
                    "default_code", "the product has no internal reference (default_code)"), p))
                continue
            tmpl = p["product_tmpl_id"][0] if p["product_tmpl_id"] else None
            mine = [lk for lk in links.get(tmpl, []) if lk[0] in (False, p["id"])]
            sups = tuple(SupplierLink(supplier=sup, preferred=i == 0, backup=i == 1, price=price)
                         for i, (_, sup, price) in enumerate(mine))
            out.append(SkuRecord(
                code=str(code), name=p["name"],
                category=p["categ_id"][1] if p["categ_id"] else None,
                unit=p["uom_id"][1] if p["uom_id"] else None,
                unit_cost=p.get("standard_price") if isinstance(p.get("standard_price"),
                                                                (int, float)) else None,
                suppliers=sups or None, attributes={"odoo_id": p["id"]}))
        yield Chunk(out, where, pos)


def _stock(r: OdooReader, start: Start) -> Iterator[Chunk]:
    """Snapshot: every storable product, a page of products at a time, its quants summed.
    Incremental: the quants written since the cursor; their products are summed again."""
    pos = dict(start.position or {})
    quant_fields = r.schema.require("stock.quant", [
        "product_id", "location_id", "quantity", "reserved_quantity", "write_date"])
    if start.mode == "snapshot":
        inner = Start(pos.get("product"), start.resumed, start.mode, start.overlap)
        newest = pos.get("quant") if start.resumed else None
        for rows, where, ppos in r.keyset("product.product", r.schema.storable_domain(),
                                          ["default_code", "uom_id", "write_date"], inner):
            records, seen = r.levels([p["id"] for p in rows], quant_fields, where)
            newest = _later(newest, seen)
            yield Chunk(records, f"stock of {where}", {"product": ppos, "quant": newest})
        return
    inner = Start(pos.get("quant"), start.resumed, start.mode, start.overlap)
    domain = [["location_id.usage", "in", ["internal", "transit"]]]
    for rows, where, qpos in r.keyset("stock.quant", domain, ["product_id", "write_date"], inner):
        products = sorted({q["product_id"][0] for q in rows if q["product_id"]})
        records, _ = r.levels(products, quant_fields, where)
        yield Chunk(records, f"stock of the products in {where}",
                    {"product": pos.get("product"), "quant": qpos})


def _later(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a or b
    return b if (b["ts"], b["id"]) > (a["ts"], a["id"]) else a


def _moves(r: OdooReader, start: Start) -> Iterator[Chunk]:
    qty_f = r.schema.pick("stock.move", "qty")
    uom_f = r.schema.pick("stock.move", "uom")
    fields = r.schema.require("stock.move", [
        "reference", "product_id", qty_f, uom_f, "date", "location_id", "location_dest_id",
        "write_date"])
    for rows, where, pos in r.keyset("stock.move", [["state", "=", "done"]], fields, start):
        r.products([m["product_id"][0] for m in rows if m["product_id"]], where)
        out: list[Record] = []
        for m in rows:
            try:
                out.extend(r.move(m, qty_f, uom_f))
            except BadValue as exc:
                out.append(bad_row(f"{where}, stock.move id {m['id']}", exc, m))
        yield Chunk(out, where, pos)


def _po_lines(r: OdooReader, start: Start) -> Iterator[Chunk]:
    model = "purchase.order.line"
    if not r.schema.has_model(model):
        return  # the purchase app is not installed
    uom_f = r.schema.pick(model, "uom")
    fields = r.schema.require(model, [
        "order_id", "product_id", "product_qty", "qty_received", uom_f, "date_planned",
        "state", "partner_id", "write_date"])
    for rows, where, pos in r.keyset(model, [["state", "in", ["purchase", "done", "cancel"]]],
                                     fields, start):
        r.products([ln["product_id"][0] for ln in rows if ln["product_id"]], where)
        orders = r.order_warehouses([ln["order_id"][0] for ln in rows if ln["order_id"]], where)
        out: list[Record] = []
        for ln in rows:
            try:
                out.append(_po_line(r, ln, uom_f, orders))
            except BadValue as exc:
                out.append(bad_row(f"{where}, {model} id {ln['id']}", exc, ln))
        yield Chunk(out, where, pos)


def _po_line(r: OdooReader, ln: dict[str, Any], uom_f: str,
             orders: dict[int, str | None]) -> PurchaseOrderLine:
    code, product_uom = r.product(ln["product_id"])
    warehouse = orders.get(ln["order_id"][0]) if ln["order_id"] else None
    if not warehouse:
        raise BadValue("order_id", "the order's operation type has no warehouse")
    ordered = number(ln["product_qty"], "product_qty") or 0.0
    received = number(ln["qty_received"], "qty_received") or 0.0
    state = ln["state"]
    status = ("cancelled" if state == "cancel"
              else "done" if state == "done" or received >= ordered else "open")
    planned = ln.get("date_planned")
    return PurchaseOrderLine(
        po=str(ln["order_id"][1]), line=str(ln["id"]),
        supplier=r.partner_code(ln["partner_id"][0]) if ln["partner_id"] else "",
        sku=code, warehouse=warehouse, qty_ordered=ordered, qty_received=received,
        expected_date=datetime.fromisoformat(planned).date() if planned else None,
        status=status, factor=r.factor(ln[uom_f], product_uom))

