"""Reading one Odoo database: keyset pages, the lookups (locations, warehouses, units,
products, vendors) and turning a done ``stock.move`` into a stock event (ERP.md §2a)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from engine.imports.plugin import ImportFailed
from engine.imports.records import Record, StockMove, StockSnapshot
from plugins.importers.odoo_schema import OdooSchema
from plugins.importers.odoo_transport import SOURCE, OdooTransport
from plugins.importers.runs import BadValue, Start, bad_row, number, parse_local, shift

INTERNAL = ("internal", "transit")
ORDER = "write_date asc, id asc"


class OdooReader:
    def __init__(self, transport: OdooTransport, db: str, page_size: int) -> None:
        self.transport = transport
        self.schema = OdooSchema(transport)
        self.db = db
        self.page_size = max(1, page_size)
        self._warehouses: dict[int, dict[str, Any]] | None = None
        self._locations: dict[int, tuple[str, str | None]] | None = None
        self._uoms: dict[int, float] | None = None
        self._products: dict[int, tuple[str | None, int | None]] = {}
        self._partners: dict[int, str] = {}
        self._orders: dict[int, str | None] = {}

    def call(self, model: str, method: str, params: dict[str, Any], where: str) -> Any:
        return self.transport.call(model, method, params, where)

    def close(self) -> None:
        self.transport.close()

    def search_read(self, model: str, domain: list[Any], fields: list[str], where: str,
                    **extra: Any) -> list[dict[str, Any]]:
        rows = self.call(model, "search_read", {"domain": domain, "fields": fields, **extra},
                         where)
        if not isinstance(rows, list):
            raise ImportFailed(SOURCE, where, f"search_read on {model} answered no list")
        return rows

    def keyset(self, model: str, base: list[Any], fields: list[str],
               start: Start) -> Iterator[tuple[list[dict[str, Any]], str, dict[str, Any] | None]]:
        """Pages of ``model`` in ``(write_date, id)`` order from ``start``: each page's rows,
        its name, and the position of its last row."""
        pos = dict(start.position) if start.position else None
        if pos and start.resumed:
            cond = _after(pos)
        elif pos:  # a new run: re-read the overlap window, the service dedupes
            cond = [["write_date", ">=", shift(pos["ts"], start.overlap.total_seconds())]]
        else:
            cond = []
        fields = list(dict.fromkeys([*fields, "write_date"]))
        page = 0
        while True:
            page += 1
            where = f"{model} page {page}" + (f" (after {pos['ts']} id {pos['id']})" if pos
                                              else "")
            rows = self.search_read(model, base + cond, fields, where, offset=0,
                                    limit=self.page_size, order=ORDER)
            if rows:
                pos = {"ts": rows[-1]["write_date"], "id": rows[-1]["id"]}
                cond = _after(pos)
            if rows or page == 1:
                yield rows, where, pos
            if len(rows) < self.page_size:
                return

    # --- lookups --------------------------------------------------------------------------

    def warehouses(self) -> dict[int, dict[str, Any]]:
        if self._warehouses is None:
            rows = self.search_read("stock.warehouse", [], ["code", "lot_stock_id"],
                                    "stock.warehouse lookup")
            self._warehouses = {w["id"]: w for w in rows}
        return self._warehouses

    def location(self, m2o: Any) -> tuple[str, str | None]:
        """A location's usage and the code of its warehouse (None outside warehouses)."""
        if self._locations is None:
            codes = {i: str(w["code"]) for i, w in self.warehouses().items()}
            rows = self.search_read("stock.location", [], ["usage", "warehouse_id"],
                                    "stock.location lookup", context={"active_test": False})
            self._locations = {
                loc["id"]: (loc["usage"], codes.get(loc["warehouse_id"][0])
                            if loc.get("warehouse_id") else None) for loc in rows}
        return self._locations.get(m2o[0] if m2o else -1, ("unknown", None))

    def factor(self, line_uom: Any, product_uom: int | None) -> float:
        """Line unit → the product's unit (Odoo's ``_compute_quantity``)."""
        line = line_uom[0] if line_uom else None
        if line is None or product_uom is None or line == product_uom:
            return 1.0
        if self._uoms is None:
            rows = self.search_read("uom.uom", [], ["factor"], "uom.uom lookup",
                                    context={"active_test": False})
            absolute = self.schema.factor_is_absolute()
            self._uoms = {u["id"]: (u["factor"] if absolute else 1.0 / u["factor"])
                          for u in rows if u.get("factor")}
        if line not in self._uoms or product_uom not in self._uoms:
            raise BadValue("uom", f"unit of measure id {line} or {product_uom} is unknown")
        return self._uoms[line] / self._uoms[product_uom]

    def products(self, ids: list[int], where: str) -> None:
        missing = sorted({i for i in ids if i not in self._products})
        for at in range(0, len(missing), 1000):
            rows = self.search_read("product.product", [["id", "in", missing[at:at + 1000]]],
                                    ["default_code", "uom_id"], f"{where}: its products",
                                    context={"active_test": False})
            for p in rows:
                self._products[p["id"]] = (p.get("default_code") or None,
                                           p["uom_id"][0] if p.get("uom_id") else None)

    def product(self, m2o: Any) -> tuple[str, int | None]:
        code, uom = self._products.get(m2o[0] if m2o else -1, (None, None))
        if not code:
            raise BadValue("product_id", f"product {m2o[1] if m2o else '?'} has no internal "
                           "reference (default_code)")
        return code, uom

    def partner_code(self, partner_id: int, ref: str | None = None) -> str:
        if ref:
            self._partners[partner_id] = str(ref)
        if partner_id not in self._partners:
            self._load_partners([partner_id])
        return self._partners[partner_id]

    def _load_partners(self, ids: list[int]) -> None:
        missing = sorted({i for i in ids if i not in self._partners})
        if missing:
            rows = self.search_read("res.partner", [["id", "in", missing]], ["ref"],
                                    "res.partner lookup", context={"active_test": False})
            for p in rows:
                self._partners[p["id"]] = str(p["ref"]) if p.get("ref") else f"odoo-{p['id']}"
            for i in missing:
                self._partners.setdefault(i, f"odoo-{i}")

    def supplier_links(self, templates: list[int]) -> dict[int, list[tuple[Any, str, Any]]]:
        """Vendors per product template in ``sequence`` order: (variant or False, code, price)."""
        if not templates:
            return {}
        partner = self.schema.pick("product.supplierinfo", "partner")
        rows = self.search_read("product.supplierinfo", [["product_tmpl_id", "in", templates]],
                                [partner, "product_tmpl_id", "product_id", "price", "sequence"],
                                "product.supplierinfo", order="sequence asc, id asc")
        self._load_partners([s[partner][0] for s in rows if s.get(partner)])
        links: dict[int, list[tuple[Any, str, Any]]] = {}
        for s in rows:
            if not s.get(partner) or not s.get("product_tmpl_id"):
                continue
            code = self._partners[s[partner][0]]
            variant = s["product_id"][0] if s.get("product_id") else False
            price = s["price"] if isinstance(s.get("price"), (int, float)) else None
            entries = links.setdefault(s["product_tmpl_id"][0], [])
            if all(code != c for _, c, _ in entries):
                entries.append((variant, code, price))
        return links

    def order_warehouses(self, orders: list[int], where: str) -> dict[int, str | None]:
        missing = sorted({i for i in orders if i not in self._orders})
        if missing:
            rows = self.search_read("purchase.order", [["id", "in", missing]], ["picking_type_id"],
                                    f"{where}: its orders")
            types = sorted({o["picking_type_id"][0] for o in rows if o.get("picking_type_id")})
            wh_of = {t["id"]: t["warehouse_id"][0] if t.get("warehouse_id") else None
                     for t in self.search_read("stock.picking.type", [["id", "in", types]],
                                               ["warehouse_id"], f"{where}: operation types")}
            codes = {i: str(w["code"]) for i, w in self.warehouses().items()}
            for o in rows:
                t = o["picking_type_id"][0] if o.get("picking_type_id") else None
                self._orders[o["id"]] = codes.get(wh_of.get(t)) if t else None
        return {i: self._orders.get(i) for i in orders}

    # --- stock and moves ------------------------------------------------------------------

    def levels(self, products: list[int], fields: list[str],
               where: str) -> tuple[list[Record], dict[str, Any] | None]:
        """Absolute levels of ``products`` in every warehouse they have quants or incoming
        goods in, and the newest quant seen (the next incremental run starts there)."""
        if not products:
            return [], None
        self.products(products, where)
        as_of = datetime.now(UTC)
        sums: dict[tuple[int, str], list[float]] = {}
        out: list[Record] = []
        newest: dict[str, Any] | None = None
        domain = [["product_id", "in", products], ["location_id.usage", "in", list(INTERNAL)]]
        last = 0
        while True:
            rows = self.search_read("stock.quant", domain + [["id", ">", last]], fields,
                                    f"{where}: stock.quant after id {last}",
                                    limit=self.page_size, order="id asc")
            for q in rows:
                key = (q["write_date"], q["id"])
                if newest is None or key > (newest["ts"], newest["id"]):
                    newest = {"ts": q["write_date"], "id": q["id"]}
                _, wh = self.location(q["location_id"])
                if wh is None or not q.get("product_id"):
                    continue
                try:
                    qty = number(q["quantity"], "quantity") or 0.0
                    res = number(q["reserved_quantity"], "reserved_quantity",
                                 required=False) or 0.0
                except BadValue as exc:
                    out.append(bad_row(f"{where}, stock.quant id {q['id']}", exc, q))
                    continue
                acc = sums.setdefault((q["product_id"][0], wh), [0.0, 0.0, 0.0])
                acc[0] += qty
                acc[1] += res
            if len(rows) < self.page_size:
                break
            last = rows[-1]["id"]
        for w in self.warehouses().values():
            if not w.get("lot_stock_id"):
                continue
            rows = self.search_read("product.product", [["id", "in", products]],
                                    ["incoming_qty"], f"{where}: incoming to {w['code']}",
                                    context={"location": w["lot_stock_id"][0]})
            for p in rows:
                incoming = p.get("incoming_qty") or 0.0
                if incoming or (p["id"], str(w["code"])) in sums:
                    sums.setdefault((p["id"], str(w["code"])), [0.0, 0.0, 0.0])[2] = incoming
        for (pid, wh), (qty, res, incoming) in sorted(sums.items()):
            code = self._products.get(pid, (None, None))[0]
            if not code:
                out.append(bad_row(f"{where}, product id {pid}", BadValue(
                    "default_code", "the product has no internal reference (default_code)"),
                    {"product_id": pid, "warehouse": wh}))
                continue
            out.append(StockSnapshot(sku=code, warehouse=wh, on_hand=qty, reserved=res,
                                     on_order=incoming, as_of=as_of))
        return out, newest

    def move(self, m: dict[str, Any], qty_f: str, uom_f: str) -> list[StockMove]:
        """A done move as the event it is, by its locations' usages (ERP.md §2a); none for a
        move inside one warehouse."""
        code, product_uom = self.product(m["product_id"])
        qty = number(m[qty_f], qty_f) or 0.0
        src, src_wh = self.location(m["location_id"])
        dst, dst_wh = self.location(m["location_dest_id"])
        src_in = src in INTERNAL and src_wh is not None
        dst_in = dst in INTERNAL and dst_wh is not None
        at = parse_local(m["date"], UTC, "date")
        base = {"id": f"odoo:{self.db}:stock.move:{m['id']}", "sku": code, "at": at,
                "ref": m.get("reference") or None, "factor": self.factor(m.get(uom_f),
                                                                         product_uom)}
        if src_in and dst_in:
            if src_wh == dst_wh:
                return []
            return [StockMove(type="transfer", warehouse=src_wh, to_warehouse=dst_wh, qty=qty,
                              **base)]
        if src_in:
            kind = {"customer": "sale", "production": "issue"}.get(dst)
            if kind:
                return [StockMove(type=kind, warehouse=src_wh, qty=qty, **base)]
            return [StockMove(type="adjustment", warehouse=src_wh, qty=-qty, **base)]
        if dst_in:
            kind = {"customer": "return", "supplier": "receipt", "production": "receipt"}.get(src)
            return [StockMove(type=kind or "adjustment", warehouse=dst_wh, qty=qty, **base)]
        return []


def _after(pos: dict[str, Any]) -> list[Any]:
    ts, last = pos["ts"], pos["id"]
    return ["|", ["write_date", ">", ts], "&", ["write_date", "=", ts], ["id", ">", last]]
