"""Yonyou U8 / U8+ (用友): read-only SQL over its tables in the ``UFDATA_<acct>_<year>``
database through a SQLAlchemy URL (``mssql+pyodbc://reader:…@host/UFDATA_001_2024?driver=…``),
the route ERP.md §2d recommends for small shops (a login the customer's DBA grants SELECT).

Warehouses (``Warehouse``), vendors (``Vendor``) and items (``Inventory``) are read in full each
run, by code. Stock is ``CurrentStock`` summed per item × warehouse over batches (on hand
``iQuantity``, to ship ``fOutQuantity`` as reserved, to receive ``fInQuantity`` as on order);
incremental runs re-sum the pairs whose rows have a newer ``ufts`` (a rowversion: a counter,
so no time overlap applies). Sales issues (``RdRecord32``/``RdRecords32``) and purchase
receipts (``RdRecord01``/``RdRecords01``) are moves, by ``AutoID``. Open purchase orders
(``PO_Pomain``/``PO_Podetails``: ordered ``iQuantity``, received ``iReceivedQTY``, the head's
``cVerifier`` once approved, ``cCloser``/``cbCloser`` once closed) are read in full each run
into a warehouse the ``po_warehouse`` option names (U8's order lines name none): their open
quantities are the pairs' on order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.imports.plugin import (
    CredentialsRefused,
    ImportFailed,
    ImportRequest,
    Option,
    SourceUnreachable,
)
from engine.imports.records import (
    PurchaseOrderLine,
    Record,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers.runs import (
    BadValue,
    Chunk,
    Start,
    Stream,
    bad_row,
    number,
    parse_local,
    run_streams,
    text,
    zone,
)

SOURCE = "u8"
TABLES = {
    "Warehouse": ["cWhCode", "cWhName"],
    "Vendor": ["cVenCode", "cVenName"],
    "Inventory": ["cInvCode", "cInvName", "cInvStd", "cInvCCode", "cComUnitCode"],
    "CurrentStock": ["AutoID", "cWhCode", "cInvCode", "iQuantity", "fOutQuantity", "fInQuantity",
                     "ufts"],
    "RdRecord32": ["ID", "cCode", "cWhCode", "dDate"], "RdRecords32": ["AutoID", "ID", "cInvCode",
                                                                     "iQuantity"],
    "RdRecord01": ["ID", "cCode", "cWhCode", "dDate"], "RdRecords01": ["AutoID", "ID", "cInvCode",
                                                                     "iQuantity"],
}
PO_TABLES = {
    "PO_Pomain": ["POID", "cPOID", "cVenCode", "cVerifier", "cCloser"],
    "PO_Podetails": ["ID", "POID", "cInvCode", "iQuantity", "iReceivedQTY", "dArriveDate",
                     "cbCloser"],
}
TABLES.update(PO_TABLES)
MOVES = (("RdRecords32", "RdRecord32", "sale"), ("RdRecords01", "RdRecord01", "receipt"))

OPTIONS = (
    Option("url", "SQLAlchemy URL of the UFDATA database, with a read-only login",
           "UFDATA 数据库的 SQLAlchemy URL（只读账号）", required=True, secret=True),
    Option("schema", "schema of the tables (dbo on SQL Server when empty)", "表所在的架构"),
    Option("po_warehouse", "warehouse code for purchase order lines (they name none); "
           "purchase orders are skipped without it",
           "采购订单行的仓库编码（未设置则不导入采购订单）"),
    Option("timezone", "the server's time zone", "服务器时区", default="Asia/Shanghai"),
    Option("page_size", "rows per query", "每次查询的行数", default=1000),
)


class U8Importer:
    name = "u8"
    label = {"zh": "用友 U8", "en": "Yonyou U8"}
    reads_files = False
    options = OPTIONS

    def _db(self, request: ImportRequest) -> _Db:
        o = request.options
        if not o.get("url"):
            raise ImportFailed(SOURCE, "option --url", "is required")
        try:
            engine = sa.create_engine(str(o["url"]), pool_pre_ping=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise ImportFailed(SOURCE, "option --url", f"cannot use this URL: {exc}") from None
        return _Db(engine, o.get("schema") or None, zone(SOURCE, str(o.get("timezone")
                                                                     or "Asia/Shanghai")),
                   max(1, int(o.get("page_size") or 1000)))

    def check(self, request: ImportRequest) -> str:
        db = self._db(request)
        try:
            with db.connect("check") as conn:
                db.table(conn, "CurrentStock")
                count = conn.execute(sa.select(sa.func.count()).select_from(
                    db.tables["CurrentStock"])).scalar()
        finally:
            db.engine.dispose()
        return f"U8 database {db.engine.url.database}: {count} CurrentStock rows"

    def read(self, request: ImportRequest) -> Iterator[Any]:
        db = self._db(request)
        try:
            streams = [
                Stream("Warehouse", "warehouses", lambda s: db.master(
                    s, "Warehouse", "cWhCode", lambda r: WarehouseRecord(
                        code=text(r["cWhCode"], "cWhCode"), name=r["cWhName"] or None))),
                Stream("Vendor", "suppliers", lambda s: db.master(
                    s, "Vendor", "cVenCode", lambda r: SupplierRecord(
                        code=text(r["cVenCode"], "cVenCode"), name=r["cVenName"] or None))),
                Stream("Inventory", "items", lambda s: db.master(
                    s, "Inventory", "cInvCode", _item)),
            ]
            # moves before the levels: a level then stands over the moves it includes (a move
            # dated before it, applied after it, would count twice until the next)
            streams += [Stream(lines, "moves", _moves(db, lines, head, kind))
                        for lines, head, kind in MOVES]
            streams.append(Stream("CurrentStock", "stock", db.stock))
            if request.options.get("po_warehouse"):
                warehouse = str(request.options["po_warehouse"])
                streams.append(Stream("PO_Podetails", "purchase-orders",
                                      lambda s: db.po_lines(s, warehouse)))
            yield from run_streams(SOURCE, request, streams)
        finally:
            db.engine.dispose()


importer = U8Importer()


def _item(r: dict[str, Any]) -> Record:
    name = " ".join(str(v) for v in (r["cInvName"], r["cInvStd"]) if v)
    return SkuRecord(code=text(r["cInvCode"], "cInvCode"), name=name or None,
                     category=r["cInvCCode"] or None, unit=r["cComUnitCode"] or None)


def _moves(db: _Db, lines: str, head: str, kind: str) -> Any:
    return lambda start: db.moves(start, lines, head, kind)


class _Db:
    def __init__(self, engine: sa.Engine, schema: str | None, tz: Any, page_size: int) -> None:
        self.engine, self.schema, self.tz, self.page_size = engine, schema, tz, page_size
        self.tables: dict[str, sa.TableClause] = {}

    def connect(self, where: str) -> Any:
        try:
            return self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise _failure(exc, where) from None

    def table(self, conn: Connection, name: str) -> sa.TableClause:
        """The table with the columns we read, after checking they are there."""
        if name not in self.tables:
            try:
                have = [c["name"] for c in sa.inspect(conn).get_columns(name, schema=self.schema)]
            except sa.exc.NoSuchTableError:
                have = []
            if not have:
                raise ImportFailed(SOURCE, f"table {name}", "no such table (or no permission to "
                                   "read it): is the URL the UFDATA database?")
            missing = [c for c in TABLES[name] if c not in have]
            if missing:
                near = {m: difflib.get_close_matches(m, have, n=1, cutoff=0.6) for m in missing}
                hints = "; ".join(f"{m}: did you mean {n[0]}?" for m, n in near.items() if n)
                raise ImportFailed(SOURCE, f"table {name}", f"no column {', '.join(missing)} "
                                   f"(renamed in this U8 version?){'; ' + hints if hints else ''}")
            self.tables[name] = sa.table(name, *[sa.column(c) for c in TABLES[name]],
                                         schema=self.schema)
        return self.tables[name]

    def rows(self, query: Any, where: str) -> list[dict[str, Any]]:
        try:
            with self.connect(where) as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        except sa.exc.DBAPIError as exc:
            raise _failure(exc, where) from None

    def master(self, start: Start, name: str, key: str, convert: Any) -> Iterator[Chunk]:
        """A whole table by code each run (U8 keeps no reliable change stamp on master data)."""
        with self.connect(name) as conn:
            t = self.table(conn, name)
        last = (start.position or {}).get("after") if start.resumed else None
        page = 0
        while True:
            page += 1
            where = f"{name} page {page}" + (f" (after {last})" if last else "")
            q = sa.select(*t.c).order_by(t.c[key]).limit(self.page_size)
            rows = self.rows(q.where(t.c[key] > last) if last is not None else q, where)
            out: list[Record] = []
            for r in rows:
                try:
                    out.append(convert(r))
                except BadValue as exc:
                    out.append(bad_row(f"{where}, {key} {r.get(key)}", exc, r))
            if rows:
                last = rows[-1][key]
            yield Chunk(out, where, {"after": last})
            if len(rows) < self.page_size:
                return

    def stock(self, start: Start) -> Iterator[Chunk]:
        with self.connect("CurrentStock") as conn:
            t = self.table(conn, "CurrentStock")
        pos = dict(start.position or {})
        ufts = sa.cast(t.c.ufts, sa.BigInteger)
        if start.mode == "incremental" and pos.get("ufts") is not None:
            since = int(pos["ufts"])
            while True:
                where = f"CurrentStock rows after ufts {since}"
                rows = self.rows(sa.select(t.c.cInvCode, t.c.cWhCode, ufts.label("v")).where(
                    ufts > since).order_by(ufts).limit(self.page_size), where)
                if not rows:
                    return
                pairs = {(r["cInvCode"], r["cWhCode"]) for r in rows}
                items = sorted({i for i, _ in pairs})
                every = self.rows(sa.select(*t.c, ufts.label("v")).where(
                    t.c.cInvCode.in_(items)).order_by(t.c.cInvCode, t.c.cWhCode, t.c.AutoID),
                    f"{where}: their items")
                since = max(int(r["v"]) for r in rows)
                out = self._levels([r for r in every if (r["cInvCode"], r["cWhCode"]) in pairs],
                                   where)
                yield Chunk(out, f"stock of the items in {where}", {"ufts": since})
                if len(rows) < self.page_size:
                    return
        newest = pos.get("ufts") if start.resumed else None
        after = pos.get("after") if start.resumed else None
        while True:
            where = "CurrentStock" + (f" after {after[0]} / {after[1]}" if after else "")
            q = sa.select(*t.c, ufts.label("v")).order_by(t.c.cInvCode, t.c.cWhCode, t.c.AutoID)
            if after:
                q = q.where(sa.or_(t.c.cInvCode > after[0], sa.and_(
                    t.c.cInvCode == after[0], t.c.cWhCode > after[1])))
            rows = self.rows(q.limit(self.page_size), where)
            full = len(rows) == self.page_size
            if full and _same_pair(rows[0], rows[-1]):
                rows = self.rows(q, where)  # one item × warehouse fills the page: all of it
                full = False
            cut = _last_pair_start(rows) if full else len(rows)
            ready = rows[:cut]
            for r in ready:
                if r["v"] is not None and (newest is None or int(r["v"]) > newest):
                    newest = int(r["v"])
            if ready:
                after = [ready[-1]["cInvCode"], ready[-1]["cWhCode"]]
            yield Chunk(self._levels(ready, where), f"stock of {where}",
                        {"after": after, "ufts": newest})
            if not full:
                return

    def _levels(self, rows: list[dict[str, Any]], where: str) -> list[Record]:
        as_of = datetime.now(UTC)
        sums: dict[tuple[str, str], list[float]] = {}
        out: list[Record] = []
        for r in rows:
            try:
                key = (text(r["cInvCode"], "cInvCode"), text(r["cWhCode"], "cWhCode"))
                values = [number(r["iQuantity"], "iQuantity") or 0.0,
                          number(r["fOutQuantity"], "fOutQuantity", required=False) or 0.0,
                          number(r["fInQuantity"], "fInQuantity", required=False) or 0.0]
            except BadValue as exc:
                out.append(bad_row(f"{where}, AutoID {r.get('AutoID')}", exc, r))
                continue
            acc = sums.setdefault(key, [0.0, 0.0, 0.0])
            for i, v in enumerate(values):
                acc[i] += v
        out.extend(StockSnapshot(sku=s, warehouse=w, on_hand=q, reserved=res, on_order=inc,
                                 as_of=as_of) for (s, w), (q, res, inc) in sums.items())
        return out

    def po_lines(self, start: Start, warehouse: str) -> Iterator[Chunk]:
        """Every order line by ``ID``, each run (U8 stamps no change on orders): the whole
        set, so a line that left it (deleted, its order deleted) leaves on order too."""
        with self.connect("PO_Podetails") as conn:
            d, h = self.table(conn, "PO_Podetails"), self.table(conn, "PO_Pomain")
        last = (start.position or {}).get("after") if start.resumed else None
        page = 0
        while True:
            page += 1
            where = f"PO_Podetails page {page}" + (f" (after ID {last})" if last else "")
            q = sa.select(*d.c, h.c.cPOID, h.c.cVenCode, h.c.cVerifier, h.c.cCloser).select_from(
                d.join(h, d.c.POID == h.c.POID))
            if last is not None:
                q = q.where(last < d.c.ID)
            rows = self.rows(q.order_by(d.c.ID).limit(self.page_size), where)
            out: list[Record] = []
            for r in rows:
                try:
                    out.append(_po_line(r, warehouse, self.tz))
                except BadValue as exc:
                    out.append(bad_row(f"{where}, ID {r['ID']}", exc, r))
            if rows:
                last = rows[-1]["ID"]
            yield Chunk(out, where, {"after": last})
            if len(rows) < self.page_size:
                return

    def moves(self, start: Start, lines: str, head: str, kind: str) -> Iterator[Chunk]:
        with self.connect(lines) as conn:
            s, h = self.table(conn, lines), self.table(conn, head)
        last = (start.position or {}).get("after")
        if start.mode == "snapshot" and not start.resumed:
            last = None
        page = 0
        while True:
            page += 1
            where = f"{lines} page {page}" + (f" (after AutoID {last})" if last else "")
            q = sa.select(s.c.AutoID, s.c.cInvCode, s.c.iQuantity, h.c.cWhCode, h.c.dDate,
                          h.c.cCode).select_from(s.join(h, s.c.ID == h.c.ID))
            if last is not None:
                q = q.where(s.c.AutoID > last)
            rows = self.rows(q.order_by(s.c.AutoID).limit(self.page_size), where)
            out: list[Record] = []
            for r in rows:
                try:
                    out.append(StockMove(
                        id=f"u8:{lines}:{r['AutoID']}", type=kind,
                        sku=text(r["cInvCode"], "cInvCode"),
                        warehouse=text(r["cWhCode"], "cWhCode"),
                        qty=abs(number(r["iQuantity"], "iQuantity") or 0.0),
                        at=parse_local(r["dDate"], self.tz, "dDate"), ref=r["cCode"]))
                except BadValue as exc:
                    out.append(bad_row(f"{where}, AutoID {r['AutoID']}", exc, r))
            if rows:
                last = rows[-1]["AutoID"]
            yield Chunk(out, where, {"after": last})
            if len(rows) < self.page_size:
                return


def _po_line(r: dict[str, Any], warehouse: str, tz: Any) -> PurchaseOrderLine:
    """An order line: cancelled while its order is not approved (no ``cVerifier``: it may
    still be changed or deleted), done once the order or the line is closed."""
    status = ("cancelled" if not r["cVerifier"]
              else "done" if r["cCloser"] or r["cbCloser"] else "open")
    arrive = r["dArriveDate"]
    return PurchaseOrderLine(
        po=text(r["cPOID"], "cPOID"), line=str(r["ID"]), supplier=str(r["cVenCode"] or ""),
        sku=text(r["cInvCode"], "cInvCode"), warehouse=warehouse,
        qty_ordered=number(r["iQuantity"], "iQuantity") or 0.0,
        qty_received=number(r["iReceivedQTY"], "iReceivedQTY", required=False) or 0.0,
        expected_date=parse_local(arrive, tz, "dArriveDate").astimezone(tz).date()
        if arrive else None, status=status)


def _same_pair(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["cInvCode"], a["cWhCode"]) == (b["cInvCode"], b["cWhCode"])


def _last_pair_start(rows: list[dict[str, Any]]) -> int:
    i = len(rows) - 1
    while i > 0 and _same_pair(rows[i - 1], rows[-1]):
        i -= 1
    return i


def _failure(exc: sa.exc.DBAPIError, where: str) -> ImportFailed:
    message = str(exc.orig).strip().splitlines()[0][:300] if exc.orig else str(exc)[:300]
    lowered = message.lower()
    if any(w in lowered for w in ("password", "login failed", "authentication", "access denied")):
        return CredentialsRefused(SOURCE, where, message)
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) and (
        exc.connection_invalidated or "connect" in lowered or "timeout" in lowered
        or "timed out" in lowered
    ):
        return SourceUnreachable(SOURCE, where, message)
    return ImportFailed(SOURCE, where, message)
