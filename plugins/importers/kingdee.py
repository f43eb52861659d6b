"""Kingdee K/3 Cloud (金蝶云星空): warehouses (BD_STOCK), suppliers (BD_Supplier), materials
(BD_MATERIAL), stock (STK_Inventory, base-unit ``FBase*`` quantities summed per material ×
warehouse over lots), sales issues (SAL_OUTSTOCK) and purchase receipts (STK_InStock) as moves,
and purchase order lines (PUR_PurchaseOrder) (ERP.md §2c).

Each stream is read with a filter fixed for the run (``FModifyDate``/``FUpdateTime >= since``,
the server's local time) in ``StartRow``/``Limit`` pages ordered by date then entry id; the
cursor keeps the filter's start and the next ``StartRow``, and the newest date seen starts the
next run. A bill that is no longer approved (反审核, C → D) or is voided comes as a cancelled
move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from engine.imports.records import (
    PurchaseOrderLine,
    Record,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers.http import HttpClient
from plugins.importers.kingdee_client import SOURCE, K3Client
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

FILTER_TS = "%Y-%m-%d %H:%M:%S"
MOVES = (  # form, entry id key, event type
    ("SAL_OUTSTOCK", "FEntity_FEntryID", "sale"),
    ("STK_InStock", "FInStockEntry_FEntryID", "receipt"),
)

OPTIONS = (
    Option("url", "K/3 Cloud address, e.g. http://erp.example.com/k3cloud/", "金蝶云星空地址",
           required=True),
    Option("acct_id", "account set id (数据中心 ID)", "数据中心 ID", required=True),
    Option("username", "user name", "用户名", required=True),
    Option("password", "password", "密码", required=True, secret=True),
    Option("lcid", "language id (2052 = Chinese)", "语言 ID（2052 = 中文）", default=2052),
    Option("org", "organisation number to read (all when empty)", "组织编码（空 = 全部）"),
    Option("po_warehouse", "warehouse code for purchase order lines (they name none); "
           "purchase orders are skipped without it",
           "采购订单行的仓库编码（未设置则不导入采购订单）"),
    Option("timezone", "the server's time zone", "服务器时区", default="Asia/Shanghai"),
    Option("page_size", "rows per query (≤ 2000, 10000 after patch 23.11)",
           "每次查询的行数（≤2000）", default=2000),
    Option("timeout", "seconds to wait for an answer", "等待应答的秒数", default=30),
)


class KingdeeImporter:
    name = "kingdee"
    label = {"zh": "金蝶云星空", "en": "Kingdee K/3 Cloud"}
    reads_files = False
    options = OPTIONS

    def _reader(self, request: ImportRequest) -> _Reader:
        o = request.options
        for opt in OPTIONS:
            if opt.required and not o.get(opt.name):
                raise ImportFailed(SOURCE, f"option --{opt.name.replace('_', '-')}", "is required")
        url = str(o["url"]).rstrip("/") + "/"
        http = HttpClient(SOURCE, url, timeout=float(o.get("timeout") or 30),
                          headers={"Content-Type": "application/json"})
        client = K3Client(http, str(o["acct_id"]), str(o["username"]), str(o["password"]),
                          int(o.get("lcid") or 2052))
        client.login()
        return _Reader(client, o, min(10000, int(o.get("page_size") or 2000)))

    def check(self, request: ImportRequest) -> str:
        reader = self._reader(request)
        try:
            rows = reader.client.query("STK_Inventory", ["FID"], reader.org("FStockOrgId"), "",
                                       0, 1, "STK_Inventory")
        finally:
            reader.client.http.close()
        return (f"K/3 Cloud account set {reader.client.acct_id} as {reader.client.user}: "
                f"{'stock readable' if rows else 'no stock rows (or no permission to query)'}")

    def read(self, request: ImportRequest) -> Iterator[Any]:
        r = self._reader(request)
        try:
            streams = [
                Stream("BD_STOCK", "warehouses", r.simple("BD_STOCK", r.warehouse, [
                    "FStockId", "FNumber", "FName"], "FForbidStatus='A'", "FUseOrgId")),
                Stream("BD_Supplier", "suppliers", r.simple("BD_Supplier", r.supplier, [
                    "FSupplierId", "FNumber", "FName"], "FForbidStatus='A'", "FUseOrgId")),
                Stream("BD_MATERIAL", "items", r.simple("BD_MATERIAL", r.material, [
                    "FMaterialId", "FNumber", "FName", "FSpecification", "FMaterialGroup.FName",
                    "FBaseUnitId.FName"], "FDocumentStatus='C' and FForbidStatus='A'",
                    "FUseOrgId")),
            ]
            # moves before the levels: a level then stands over the moves it includes (a move
            # dated before it, applied after it, would count twice until the next)
            for form, entry, kind in MOVES:
                streams.append(Stream(form, "moves", r.simple(form, r.mover(form, kind), [
                    "FID", "FBillNo", "FDate", "FDocumentStatus", "FCancelStatus", entry,
                    "FMaterialId.FNumber", "FStockId.FNumber", "FBaseUnitQty"], "",
                    "FStockOrgId", approved_when_fresh=True)))
            streams.append(Stream("STK_Inventory", "stock", r.stock))
            if request.options.get("po_warehouse"):
                streams.append(Stream("PUR_PurchaseOrder", "purchase-orders", r.simple(
                    "PUR_PurchaseOrder", r.po_line, [
                        "FID", "FBillNo", "FSupplierId.FNumber", "FDocumentStatus",
                        "FCloseStatus", "FCancelStatus", "FPOOrderEntry_FEntryID",
                        "FMaterialId.FNumber", "FQty", "FStockInQty", "FRemainStockINQty",
                        "FBaseUnitQty", "FDeliveryDate"], "", "FPurchaseOrgId",
                    approved_when_fresh=True)))
            yield from run_streams(SOURCE, request, streams)
        finally:
            r.client.http.close()


importer = KingdeeImporter()

Convert = Callable[[dict[str, Any]], Record]


class _Reader:
    def __init__(self, client: K3Client, options: Any, page_size: int) -> None:
        self.client = client
        self.page_size = max(1, page_size)
        self.org_number = options.get("org")
        self.po_warehouse = options.get("po_warehouse")
        self.tz = zone(SOURCE, str(options.get("timezone") or "Asia/Shanghai"))

    def org(self, field: str) -> str:
        return f"{field}.FNumber='{_quote(self.org_number)}'" if self.org_number else ""

    def pages(self, form: str, keys: list[str], base: str, ts_key: str, order: str,
              start: Start) -> Iterator[tuple[list[dict[str, Any]], str, dict[str, Any]]]:
        """``StartRow`` pages under a filter fixed for the run (kept in the position, so a
        resumed run counts rows under the same filter); rows as dicts by key."""
        pos = dict(start.position or {})
        newest = pos.get("max")
        if start.resumed and "filter" in pos:
            flt, row = str(pos["filter"]), int(pos.get("row") or 0)
        else:
            since = shift(newest[0], start.overlap.total_seconds(), FILTER_TS) if (
                newest and start.mode == "incremental") else None
            flt = " and ".join(f for f in (base, f"{ts_key}>='{since}'" if since else "") if f)
            row = 0
        while True:
            where = f"{form} StartRow {row}"
            rows = self.client.query(form, keys, flt, order, row, self.page_size, where)
            dicts = [dict(zip(keys, values, strict=True)) for values in rows]
            for d in dicts:
                key = [str(d.get(ts_key) or ""), d.get(keys[0])]
                if d.get(ts_key) and (newest is None or key > list(newest)):
                    newest = key
            row += len(rows)
            yield dicts, where, {"filter": flt, "row": row, "max": newest}
            if len(rows) < self.page_size:
                return

    def simple(self, form: str, convert: Convert, keys: list[str], base: str, org_field: str,
               approved_when_fresh: bool = False) -> Callable[[Start], Iterator[Chunk]]:
        def read(start: Start) -> Iterator[Chunk]:
            # a first or full read wants approved bills only; later runs also want the bills
            # that left the approved state since (反审核), to cancel them
            fresh = not start.position or start.mode == "snapshot"
            flt = " and ".join(f for f in (
                base, self.org(org_field),
                "FDocumentStatus='C'" if approved_when_fresh and fresh else "") if f)
            for rows, where, pos in self.pages(form, [*keys, "FModifyDate"], flt, "FModifyDate",
                                               f"FModifyDate ASC,{keys[0]} ASC", start):
                out: list[Record] = []
                for d in rows:
                    try:
                        out.append(convert(d))
                    except BadValue as exc:
                        out.append(bad_row(f"{where}, {keys[0]} {d.get(keys[0])}", exc, d))
                yield Chunk(out, where, pos)
        return read

    # --- rows -> records ------------------------------------------------------------------

    def warehouse(self, d: dict[str, Any]) -> Record:
        return WarehouseRecord(code=text(d["FNumber"], "FNumber"), name=d.get("FName"))

    def supplier(self, d: dict[str, Any]) -> Record:
        return SupplierRecord(code=text(d["FNumber"], "FNumber"), name=d.get("FName"))

    def material(self, d: dict[str, Any]) -> Record:
        name = " ".join(str(v) for v in (d.get("FName"), d.get("FSpecification")) if v)
        return SkuRecord(code=text(d["FNumber"], "FNumber"), name=name or None,
                         category=d.get("FMaterialGroup.FName") or None,
                         unit=d.get("FBaseUnitId.FName") or None)

    def mover(self, form: str, kind: str) -> Convert:
        entry = next(e for f, e, _ in MOVES if f == form)

        def convert(d: dict[str, Any]) -> Record:
            cancelled = d.get("FDocumentStatus") != "C" or d.get("FCancelStatus") == "B"
            return StockMove(
                id=f"k3:{form}:{text(d[entry], entry)}", type=kind,
                sku=text(d["FMaterialId.FNumber"], "FMaterialId.FNumber"),
                warehouse=text(d["FStockId.FNumber"], "FStockId.FNumber"),
                qty=number(d["FBaseUnitQty"], "FBaseUnitQty") or 0.0,
                at=parse_local(d["FDate"], self.tz, "FDate"), ref=d.get("FBillNo"),
                cancelled=cancelled)
        return convert

    def po_line(self, d: dict[str, Any]) -> Record:
        qty = number(d["FQty"], "FQty") or 0.0
        base = number(d["FBaseUnitQty"], "FBaseUnitQty", required=False)
        status = ("cancelled" if d.get("FCancelStatus") == "B" or d.get("FDocumentStatus") != "C"
                  else "done" if d.get("FCloseStatus") == "B" else "open")
        delivery = d.get("FDeliveryDate")
        # the open quantity (在途) is FRemainStockINQty: ordered less what was put in stock
        # (ERP.md §2c); FStockInQty only where a version leaves the remainder empty
        remain = number(d.get("FRemainStockINQty"), "FRemainStockINQty", required=False)
        received = qty - max(0.0, remain) if remain is not None else (
            number(d.get("FStockInQty"), "FStockInQty", required=False) or 0.0)
        return PurchaseOrderLine(
            po=str(d["FBillNo"]), line=text(d["FPOOrderEntry_FEntryID"], "FPOOrderEntry_FEntryID"),
            supplier=str(d.get("FSupplierId.FNumber") or ""),
            sku=text(d["FMaterialId.FNumber"], "FMaterialId.FNumber"),
            warehouse=str(self.po_warehouse), qty_ordered=qty, qty_received=received,
            expected_date=parse_local(delivery, self.tz, "FDeliveryDate").astimezone(
                self.tz).date() if delivery else None,
            status=status, factor=(base / qty) if base and qty else 1.0)

    # --- stock ----------------------------------------------------------------------------

    def stock(self, start: Start) -> Iterator[Chunk]:
        """Snapshot: every row by material and warehouse, summed; a group cut by the page end
        waits for the next page. Incremental: the rows updated since, then their materials'
        rows summed again."""
        keys = ["FID", "FMaterialId.FNumber", "FStockId.FNumber", "FBaseQty", "FBaseLockQty",
                "FUpdateTime"]
        org = self.org("FStockOrgId")
        if start.mode == "snapshot":
            yield from self._grouped(keys, org, start)
            return
        for rows, where, pos in self.pages("STK_Inventory", keys, org, "FUpdateTime",
                                           "FUpdateTime ASC,FID ASC", start):
            materials = sorted({str(d["FMaterialId.FNumber"]) for d in rows
                                if d.get("FMaterialId.FNumber")})
            out: list[Record] = []
            for at in range(0, len(materials), 200):
                chunk = ",".join(f"'{_quote(m)}'" for m in materials[at:at + 200])
                flt = " and ".join(f for f in (org, f"FMaterialId.FNumber in ({chunk})") if f)
                every = self._all("STK_Inventory", keys, flt, f"{where}: its materials")
                out.extend(self._levels(every, f"{where}: its materials"))
            yield Chunk(out, f"stock of the materials in {where}", pos)

    def _all(self, form: str, keys: list[str], flt: str, where: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            rows = self.client.query(form, keys, flt, "FID ASC", len(out), self.page_size,
                                     f"{where} StartRow {len(out)}")
            out.extend(dict(zip(keys, v, strict=True)) for v in rows)
            if len(rows) < self.page_size:
                return out

    def _grouped(self, keys: list[str], org: str, start: Start) -> Iterator[Chunk]:
        pos = dict(start.position or {}) if start.resumed else {}
        done, newest = int(pos.get("row") or 0), pos.get("max")
        order = "FMaterialId.FNumber ASC,FStockId.FNumber ASC,FID ASC"
        held: list[dict[str, Any]] = []
        fetched = done
        while True:
            where = f"STK_Inventory StartRow {fetched}"
            rows = [dict(zip(keys, v, strict=True)) for v in self.client.query(
                "STK_Inventory", keys, org, order, fetched, self.page_size, where)]
            fetched += len(rows)
            held.extend(rows)
            for d in rows:
                key = [str(d.get("FUpdateTime") or ""), d.get("FID")]
                if d.get("FUpdateTime") and (newest is None or key > list(newest)):
                    newest = key
            last_page = len(rows) < self.page_size
            cut = len(held) if last_page else _last_group_start(held)
            if cut or last_page:
                ready, held = held[:cut], held[cut:]
                done += len(ready)
                yield Chunk(self._levels(ready, where), f"stock of {where}",
                            {"filter": org, "row": done, "max": newest})
            if last_page:
                return

    def _levels(self, rows: list[dict[str, Any]], where: str) -> list[Record]:
        as_of = datetime.now(UTC)
        sums: dict[tuple[str, str], list[float]] = {}
        out: list[Record] = []
        for d in rows:
            try:
                key = (text(d["FMaterialId.FNumber"], "FMaterialId.FNumber"),
                       text(d["FStockId.FNumber"], "FStockId.FNumber"))
                qty = number(d["FBaseQty"], "FBaseQty") or 0.0
                lock = number(d["FBaseLockQty"], "FBaseLockQty", required=False) or 0.0
            except BadValue as exc:
                out.append(bad_row(f"{where}, FID {d.get('FID')}", exc, d))
                continue
            acc = sums.setdefault(key, [0.0, 0.0])
            acc[0] += qty
            acc[1] += lock
        out.extend(StockSnapshot(sku=s, warehouse=w, on_hand=q, reserved=lk, as_of=as_of)
                   for (s, w), (q, lk) in sums.items())
        return out


def _last_group_start(rows: list[dict[str, Any]]) -> int:
    """Index of the first row of the last material × warehouse group (0: one group only)."""
    def key(d: dict[str, Any]) -> tuple[Any, Any]:
        return d.get("FMaterialId.FNumber"), d.get("FStockId.FNumber")
    i = len(rows) - 1
    while i > 0 and key(rows[i - 1]) == key(rows[-1]):
        i -= 1
    return max(i, 0)


def _quote(value: Any) -> str:
    return str(value).replace("'", "''")
