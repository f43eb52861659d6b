"""A fake Odoo on 127.0.0.1: a real XML-RPC server (``/xmlrpc/2/common`` ``version`` and
``authenticate``, ``/xmlrpc/2/object`` ``execute_kw``), ``GET /web/version`` (16+) and Odoo 19's
JSON-2 (``POST /json/2/<model>/<method>``, ``Authorization: bearer <key>``), over a tiny
in-memory ORM: ``search_read`` with Polish-notation domains and dotted paths, ``offset``,
``limit`` and ``order``; ``search_count``; ``fields_get``; many2one as ``[id, name]``;
``write_date`` as naive UTC text; ``active`` honoured unless ``active_test`` is false.

Field names follow the version asked for (``quantity_done``/``quantity``, ``product_uom``/
``uom_id``, ``name``/``partner_id`` on vendors, ``type``/``is_storable``, the meaning of
``uom.uom.factor``), so the importer's ``fields_get`` mapping is exercised for real.
"""

from __future__ import annotations

import json
import threading
import xmlrpc.client
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

M2O = "many2one"


def schema(version: int) -> dict[str, dict[str, tuple[str, str | None]]]:
    """model -> field -> (type, relation) for an Odoo ``version``."""
    move_qty = "quantity" if version >= 17 else "quantity_done"
    move_uom = "uom_id" if version >= 19 else "product_uom"
    vendor = "partner_id" if version >= 16 else "name"
    product = {"default_code": ("char", None), "name": ("char", None),
               "display_name": ("char", None), "categ_id": (M2O, "product.category"),
               "uom_id": (M2O, "uom.uom"), "standard_price": ("float", None),
               "product_tmpl_id": (M2O, "product.template"), "active": ("boolean", None),
               "incoming_qty": ("float", None), "type": ("selection", None)}
    if version >= 18:
        product["is_storable"] = ("boolean", None)
    uom = {"name": ("char", None), "factor": ("float", None), "active": ("boolean", None)}
    if version >= 19:
        uom["relative_factor"] = ("float", None)
    models: dict[str, dict[str, tuple[str, str | None]]] = {
        "res.users": {"login": ("char", None)},
        "res.partner": {"name": ("char", None), "ref": ("char", None),
                        "supplier_rank": ("integer", None), "active": ("boolean", None)},
        "product.category": {"name": ("char", None)},
        "product.template": {"name": ("char", None)},
        "product.product": product,
        "uom.uom": uom,
        "product.supplierinfo": {vendor: (M2O, "res.partner"),
                                 "product_tmpl_id": (M2O, "product.template"),
                                 "product_id": (M2O, "product.product"),
                                 "price": ("float", None), "sequence": ("integer", None),
                                 "delay": ("integer", None)},
        "stock.warehouse": {"name": ("char", None), "code": ("char", None),
                            "lot_stock_id": (M2O, "stock.location")},
        "stock.location": {"name": ("char", None), "usage": ("selection", None),
                           "warehouse_id": (M2O, "stock.warehouse"), "active": ("boolean", None)},
        "stock.quant": {"product_id": (M2O, "product.product"),
                        "location_id": (M2O, "stock.location"), "quantity": ("float", None),
                        "reserved_quantity": ("float", None)},
        "stock.move": {"reference": ("char", None), "product_id": (M2O, "product.product"),
                       "product_uom_qty": ("float", None), move_qty: ("float", None),
                       move_uom: (M2O, "uom.uom"), "date": ("datetime", None),
                       "state": ("selection", None), "location_id": (M2O, "stock.location"),
                       "location_dest_id": (M2O, "stock.location")},
        "stock.picking.type": {"name": ("char", None), "warehouse_id": (M2O, "stock.warehouse")},
    }
    if version >= 0:  # purchase installed; tests may drop it
        models["purchase.order"] = {"name": ("char", None),
                                    "picking_type_id": (M2O, "stock.picking.type")}
        models["purchase.order.line"] = {
            "order_id": (M2O, "purchase.order"), "product_id": (M2O, "product.product"),
            "product_qty": ("float", None), "qty_received": ("float", None),
            ("product_uom_id" if version >= 19 else "product_uom"): (M2O, "uom.uom"),
            "date_planned": ("datetime", None), "state": ("selection", None),
            "partner_id": (M2O, "res.partner")}
    for fields in models.values():
        fields["id"] = ("integer", None)
        fields["write_date"] = ("datetime", None)
    return models


class OdooError(Exception):
    """What Odoo raises: ``kind`` is the exception's name (AccessDenied, ValueError, …)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class FakeOdoo:
    def __init__(self, version: int = 17, db: str = "prod", login: str = "bot",
                 key: str = "secret-key") -> None:
        self.version, self.db, self.login, self.key = version, db, login, key
        self.models = schema(version)
        self.rows: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in self.models}
        self.clock = datetime(2024, 5, 20, 7, 0, 0)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.fail: dict[tuple[str, int], str] = {}  # (model, n-th search_read) -> message
        self.incoming: dict[tuple[int, int], float] = {}  # (product, location) -> qty
        self.counts: dict[str, int] = {}
        self.via: set[str] = set()  # "xmlrpc", "json2": the transports that were used
        self.url = ""
        self._server: Any = None

    # --- data ------------------------------------------------------------------------------

    def tick(self, seconds: int = 1) -> str:
        self.clock += timedelta(seconds=seconds)
        return self.clock.strftime("%Y-%m-%d %H:%M:%S")

    def add(self, model: str, **values: Any) -> int:
        new_id = max(self.rows[model], default=0) + 1
        unknown = set(values) - set(self.models[model])
        assert not unknown, f"{model} has no {unknown} in Odoo {self.version}"
        row = {"id": new_id, "write_date": self.tick(), **values}
        if "active" in self.models[model]:
            row.setdefault("active", True)
        self.rows[model][new_id] = row
        return new_id

    def write(self, model: str, rid: int, **values: Any) -> None:
        self.rows[model][rid].update(values, write_date=self.tick())

    def unlink(self, model: str, rid: int) -> None:
        del self.rows[model][rid]

    # --- the ORM ---------------------------------------------------------------------------

    def _name(self, model: str, rid: int) -> str:
        row = self.rows[model].get(rid, {})
        if model == "product.product" and row.get("default_code"):
            return f"[{row['default_code']}] {row.get('name')}"
        return str(row.get("display_name") or row.get("name") or row.get("code") or rid)

    def _value(self, model: str, row: dict[str, Any], path: str) -> Any:
        head, _, rest = path.partition(".")
        if head not in self.models[model]:
            raise OdooError("ValueError", f"Invalid field {model}.{head} in leaf")
        ftype, relation = self.models[model][head]
        value = row.get(head, False)
        if not rest:
            return value
        if ftype != M2O or not value:
            return False
        return self._value(relation, self.rows[relation].get(value, {}), rest)

    def _match(self, model: str, row: dict[str, Any], domain: list[Any]) -> bool:
        def walk(i: int) -> tuple[bool, int]:
            token = domain[i]
            if token in ("|", "&"):
                a, j = walk(i + 1)
                b, k = walk(j)
                return (a or b) if token == "|" else (a and b), k
            if token == "!":
                a, j = walk(i + 1)
                return not a, j
            field, op, value = token
            return _compare(self._value(model, row, field), op, value), i + 1

        terms, i = [], 0
        while i < len(domain):
            ok, i = walk(i)
            terms.append(ok)
        return all(terms)

    def search(self, model: str, domain: list[Any], offset: int = 0, limit: int | None = None,
               order: str | None = None, context: dict[str, Any] | None = None) -> list[dict]:
        rows = list(self.rows[model].values())
        if "active" in self.models[model] and (context or {}).get("active_test", True):
            rows = [r for r in rows if r.get("active", True)]
        rows = [r for r in rows if self._match(model, r, domain or [])]
        for part in reversed([p.strip() for p in (order or "id asc").split(",") if p.strip()]):
            name, _, direction = part.partition(" ")
            if name not in self.models[model]:
                raise OdooError("ValueError", f"Invalid field {name!r} on model {model!r}")
            rows.sort(key=lambda r: (r.get(name) is False, r.get(name) or 0),
                      reverse=direction.strip().lower() == "desc")
        return rows[offset:offset + limit if limit else None]

    def execute(self, model: str, method: str, params: dict[str, Any]) -> Any:
        self.calls.append((model, method, params))
        if model not in self.models:
            raise OdooError("KeyError", f"Object {model} doesn't exist")
        if method == "fields_get":
            return {f: {"type": t, "relation": r or False, "string": f}
                    for f, (t, r) in self.models[model].items()}
        context = params.get("context") or {}
        if method == "search_count":
            return len(self.search(model, params.get("domain") or [], context=context))
        if method != "search_read":
            raise OdooError("AttributeError", f"The method '{model}.{method}' does not exist")
        n = self.counts[model] = self.counts.get(model, 0) + 1
        if (model, n) in self.fail:
            raise OdooError("psycopg2.OperationalError", self.fail.pop((model, n)))
        fields = params.get("fields") or list(self.models[model])
        for f in fields:
            if f not in self.models[model]:
                raise OdooError("ValueError", f"Invalid field {f!r} on model {model!r}")
        rows = self.search(model, params.get("domain") or [], int(params.get("offset") or 0),
                           params.get("limit"), params.get("order"), context)
        return [self._read(model, r, fields, context) for r in rows]

    def _read(self, model: str, row: dict[str, Any], fields: list[str],
              context: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": row["id"]}
        for f in fields:
            ftype, relation = self.models[model][f]
            if model == "product.product" and f == "incoming_qty":
                loc = context.get("location")
                out[f] = sum(q for (p, lc), q in self.incoming.items()
                             if p == row["id"] and (loc is None or lc == loc))
            elif ftype == M2O:
                value = row.get(f) or False
                out[f] = [value, self._name(relation, value)] if value else False
            else:
                out[f] = row.get(f, False)
        return out

    # --- the servers -----------------------------------------------------------------------

    def start(self) -> str:
        server = _Server(("127.0.0.1", 0), requestHandler=_Handler, allow_none=True,
                         logRequests=False)
        server.fake = self
        common = SimpleXMLRPCDispatcher(allow_none=True)
        common.register_function(self._version, "version")
        common.register_function(self._authenticate, "authenticate")
        obj = SimpleXMLRPCDispatcher(allow_none=True)
        obj.register_function(self._execute_kw, "execute_kw")
        server.add_dispatcher("/xmlrpc/2/common", common)
        server.add_dispatcher("/xmlrpc/2/object", obj)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _version(self) -> dict[str, Any]:
        return {"server_version": f"{self.version}.0", "protocol_version": 1,
                "server_version_info": [self.version, 0, 0, "final", 0, ""]}

    def _authenticate(self, db: str, login: str, password: str, env: dict) -> Any:
        if db != self.db:
            raise xmlrpc.client.Fault(1, f'database "{db}" does not exist')
        return 2 if (login, password) == (self.login, self.key) else False

    def _execute_kw(self, db: str, uid: int, password: str, model: str, method: str,
                    args: list, kwargs: dict | None = None) -> Any:
        if db != self.db or uid != 2 or password != self.key:
            raise xmlrpc.client.Fault(3, "Access Denied")
        if args:
            raise xmlrpc.client.Fault(1, "the fake takes keyword arguments only")
        self.via.add("xmlrpc")
        try:
            return self.execute(model, method, kwargs or {})
        except OdooError as exc:
            raise xmlrpc.client.Fault(2, f"Traceback (most recent call last):\n  ...\n"
                                      f"{exc.kind}: {exc}") from None


class _Server(ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    fake: FakeOdoo


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path == "/web/version" and fake.version >= 16:
            self._json(200, {"version_info": [fake.version, 0, 0, "final", 0, ""],
                             "version": f"{fake.version}.0"})
        else:
            self._json(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})

    def do_POST(self) -> None:
        if not self.path.startswith("/json/2/"):
            return super().do_POST()
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if fake.version < 19:
            return self._json(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})
        scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or key != fake.key:
            return self._json(401, {"name": "werkzeug.exceptions.Unauthorized",
                                    "message": "Invalid apikey", "arguments": [], "context": {},
                                    "debug": ""})
        if self.headers.get("X-Odoo-Database") not in (None, fake.db):
            return self._json(404, {"name": "werkzeug.exceptions.NotFound",
                                    "message": "database not found"})
        _, _, _, model, method = self.path.split("?")[0].split("/", 4)
        fake.via.add("json2")
        try:
            result = fake.execute(model, method, json.loads(body or b"{}"))
        except OdooError as exc:
            status = 404 if exc.kind == "KeyError" else 422
            return self._json(status, {"name": exc.kind, "message": str(exc), "arguments": [],
                                       "context": {}, "debug": ""})
        self._json(200, result)

    def _json(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return left == right or (right is False and left in (None, False))
    if op == "!=":
        return left != right
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op in ("like", "ilike"):
        return str(right).lower() in str(left or "").lower()
    if left is False or left is None:
        return False
    return {">": left > right, ">=": left >= right, "<": left < right,
            "<=": left <= right}[op]


def seed(fake: FakeOdoo) -> dict[str, int]:
    """A small company: two warehouses, units and dozens, three storable products (one without
    a reference), vendors, quants, done moves of every kind and purchase lines."""
    v, ids = fake.version, {}
    absolute = v >= 19
    ids["units"] = fake.add("uom.uom", name="Units", factor=1.0,
                            **({"relative_factor": 1.0} if absolute else {}))
    ids["dozens"] = fake.add("uom.uom", name="Dozens", factor=12.0 if absolute else 1 / 12,
                             **({"relative_factor": 12.0} if absolute else {}))
    ids["sup"] = fake.add("stock.location", name="Vendors", usage="supplier")
    ids["cus"] = fake.add("stock.location", name="Customers", usage="customer")
    ids["inv"] = fake.add("stock.location", name="Inventory adjustment", usage="inventory")
    for code in ("WH", "SH"):
        loc = fake.add("stock.location", name=f"{code}/Stock", usage="internal")
        wh = fake.add("stock.warehouse", name=f"Warehouse {code}", code=code, lot_stock_id=loc)
        fake.rows["stock.location"][loc]["warehouse_id"] = wh
        ids[f"{code}_loc"], ids[code] = loc, wh
        ids[f"{code}_in"] = fake.add("stock.picking.type", name="Receipts", warehouse_id=wh)
    ids["shelf"] = fake.add("stock.location", name="WH/Stock/Shelf 1", usage="internal",
                            warehouse_id=ids["WH"])
    ids["acme"] = fake.add("res.partner", name="Acme Supplies", ref="ACME", supplier_rank=1)
    ids["bolt"] = fake.add("res.partner", name="Bolt Co", ref=False, supplier_rank=2)
    fake.add("res.partner", name="A customer", supplier_rank=0)
    cat = fake.add("product.category", name="All / Saleable")
    storable = {"is_storable": True, "type": "consu"} if v >= 18 else {"type": "product"}
    for code, name in (("FURN_7800", "Desk Combination"), ("E-COM11", "Cabinet"),
                       (False, "No reference")):
        tmpl = fake.add("product.template", name=name)
        ids[str(code)] = fake.add("product.product", default_code=code, name=name,
                                  categ_id=cat, uom_id=ids["units"], standard_price=100.0,
                                  product_tmpl_id=tmpl, **storable)
        ids[f"{code}_tmpl"] = tmpl
    fake.add("product.product", default_code="SERVICE", name="A service", uom_id=ids["units"],
             **({"is_storable": False, "type": "service"} if v >= 18 else {"type": "service"}))
    vendor = "partner_id" if v >= 16 else "name"
    fake.add("product.supplierinfo", **{vendor: ids["acme"]}, product_tmpl_id=ids["FURN_7800_tmpl"],
             price=80.0, sequence=1)
    fake.add("product.supplierinfo", **{vendor: ids["bolt"]}, product_tmpl_id=ids["FURN_7800_tmpl"],
             price=85.0, sequence=2)
    p1, p2 = ids["FURN_7800"], ids["E-COM11"]
    ids["q1"] = fake.add("stock.quant", product_id=p1, location_id=ids["WH_loc"], quantity=12.0,
                         reserved_quantity=2.0)
    fake.add("stock.quant", product_id=p1, location_id=ids["shelf"], quantity=3.0,
             reserved_quantity=0.0)
    fake.add("stock.quant", product_id=p1, location_id=ids["SH_loc"], quantity=5.0,
             reserved_quantity=1.0)
    fake.add("stock.quant", product_id=p2, location_id=ids["SH_loc"], quantity=40.0,
             reserved_quantity=0.0)
    fake.add("stock.quant", product_id=p2, location_id=ids["sup"], quantity=-99.0,
             reserved_quantity=0.0)  # a vendor location: not stock
    fake.incoming[(p1, ids["WH_loc"])] = 24.0
    qty = "quantity" if v >= 17 else "quantity_done"
    uom = "uom_id" if v >= 19 else "product_uom"
    for ref, product, src, dst, amount, unit, state in (
        ("WH/OUT/1", p1, "WH_loc", "cus", 2.0, "units", "done"),
        ("WH/IN/1", p1, "sup", "WH_loc", 2.0, "dozens", "done"),
        ("WH/RET/1", p1, "cus", "WH_loc", 1.0, "units", "done"),
        ("WH/INT/1", p2, "WH_loc", "SH_loc", 4.0, "units", "done"),
        ("WH/INT/2", p2, "WH_loc", "shelf", 4.0, "units", "done"),
        ("INV/1", p2, "inv", "SH_loc", 3.0, "units", "done"),
        ("INV/2", p2, "SH_loc", "inv", 1.0, "units", "done"),
        ("WH/OUT/2", p1, "WH_loc", "cus", 9.0, "units", "assigned"),
    ):
        ids[ref] = fake.add("stock.move", reference=ref, product_id=product,
                            product_uom_qty=amount, **{qty: amount, uom: ids[unit]},
                            date=fake.clock.strftime("%Y-%m-%d %H:%M:%S"), state=state,
                            location_id=ids[src], location_dest_id=ids[dst])
    po = fake.add("purchase.order", name="P00001", picking_type_id=ids["WH_in"])
    pol_uom = "product_uom_id" if v >= 19 else "product_uom"
    ids["pol1"] = fake.add("purchase.order.line", order_id=po, product_id=p1, product_qty=2.0,
                           qty_received=1.0, **{pol_uom: ids["dozens"]},
                           date_planned="2024-06-01 00:00:00", state="purchase",
                           partner_id=ids["acme"])
    ids["pol2"] = fake.add("purchase.order.line", order_id=po, product_id=p2, product_qty=5.0,
                           qty_received=0.0, **{pol_uom: ids["units"]},
                           date_planned="2024-06-02 00:00:00", state="draft",
                           partner_id=ids["acme"])
    return ids
