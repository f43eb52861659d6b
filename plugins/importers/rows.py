"""One spreadsheet row → the canonical records of its kind (engine.imports.records).

A converter takes the row's cells and returns records, or raises ``RowInvalid`` naming the
column and the reason. Sales rows are the hot path (a year of daily sales is millions of rows):
their records are built without the frozen dataclass's per-field ``__setattr__``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from engine.imports.records import (
    PurchaseOrderLine,
    Record,
    SalesColumns,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierLink,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers import cells
from plugins.importers.columns import Columns

# Movement types as 进销存 systems and ERPs name them → SPEC §4 types (sign: a 盘亏 is negative)
MOVE_TYPES: dict[str, tuple[str, int]] = {
    **{t: (t, 1) for t in ("receipt", "sale", "issue", "return", "adjustment", "count",
                           "transfer", "reserve", "release")},
    "delivery": ("sale", 1), "delivery note": ("sale", 1), "sales invoice": ("sale", 1),
    "purchase receipt": ("receipt", 1), "material issue": ("issue", 1),
    "stock reconciliation": ("count", 1), "material transfer": ("transfer", 1),
    "销售": ("sale", 1), "销售出库": ("sale", 1), "出库": ("sale", 1), "发货": ("sale", 1),
    "零售": ("sale", 1), "销售出库单": ("sale", 1),
    "入库": ("receipt", 1), "采购入库": ("receipt", 1), "收货": ("receipt", 1),
    "采购入库单": ("receipt", 1), "到货": ("receipt", 1), "其他入库": ("receipt", 1),
    "领用": ("issue", 1), "领料": ("issue", 1), "生产领料": ("issue", 1), "材料出库": ("issue", 1),
    "其他出库": ("issue", 1),
    "退货": ("return", 1), "销售退货": ("return", 1), "客户退货": ("return", 1),
    "调整": ("adjustment", 1), "盘盈": ("adjustment", 1), "盘亏": ("adjustment", -1),
    "库存调整": ("adjustment", 1), "报损": ("adjustment", -1),
    "盘点": ("count", 1), "调拨": ("transfer", 1), "库存调拨": ("transfer", 1),
    "预留": ("reserve", 1), "锁库": ("reserve", 1), "释放": ("release", 1), "解锁": ("release", 1),
}
PO_STATUS = {
    "open": "open", "purchase": "open", "to receive": "open", "approved": "open", "sent": "open",
    "done": "done", "closed": "done", "completed": "done", "received": "done",
    "cancel": "cancelled", "cancelled": "cancelled", "canceled": "cancelled",
    "未完成": "open", "执行中": "open", "已审核": "open", "部分入库": "open", "待入库": "open",
    "已完成": "done", "完成": "done", "关闭": "done", "已关闭": "done", "全部入库": "done",
    "已入库": "done", "作废": "cancelled", "已作废": "cancelled", "取消": "cancelled",
    "已取消": "cancelled",
}
# quantities of a page joined by commas: digits, decimal points and exponents only
_PLAIN_NUMBERS = re.compile(r"[0-9.eE,+-]*")
TOTAL_WORDS = ("合计", "总计", "小计", "合 计", "总 计", "total", "grand total", "subtotal")


class RowInvalid(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


Converter = Callable[[Sequence[Any], int], list[Record]]


class RowReader:
    """Reads the cells of one kind's rows through a header's ``Columns``."""

    def __init__(self, kind: str, cols: Columns, as_of: datetime, source: str) -> None:
        self.kind = kind
        self.cols = cols
        self.index = cols.by_field
        self.as_of = as_of
        self.source = source  # the file's name: ids of moves without an id column
        self.zeros: dict[int, int] = {}  # column -> zero-padding width (Excel 000000 formats)
        self.occurrences: dict[int, int] = {}  # moves without ids: identical rows told apart
        self._day_ids: dict[object, tuple[datetime, str]] = {}
        self.convert: Converter = getattr(self, "_" + kind.replace("-", "_"))

    # -- cells -----------------------------------------------------------------------------
    def cell(self, row: Sequence[Any], name: str) -> Any:
        index = self.index.get(name)
        return row[index] if index is not None and index < len(row) else None

    def _get(self, row: Sequence[Any], name: str, parse: Callable[[Any], Any],
             required: bool = False) -> Any:
        value = self.cell(row, name)
        try:
            out = parse(value)
        except cells.CellInvalid as exc:
            raise RowInvalid(name, str(exc)) from None
        if out is None and required:
            raise RowInvalid(name, "is empty")
        return out

    def code(self, row: Sequence[Any], name: str, required: bool = False) -> str | None:
        index = self.index.get(name)
        value = cells.code(self.cell(row, name), self.zeros.get(index, 0) if self.zeros else 0)
        if value is None and required:
            raise RowInvalid(name, "is empty")
        return value

    def num(self, row: Sequence[Any], name: str, required: bool = False) -> float | None:
        return self._get(row, name, cells.number, required)  # type: ignore[no-any-return]

    def text(self, row: Sequence[Any], name: str) -> str | None:
        return cells.text(self.cell(row, name))

    def factor(self, row: Sequence[Any]) -> float:
        value = self.num(row, "factor")
        if value is not None and value <= 0:
            raise RowInvalid("factor", "must be greater than 0")
        return 1.0 if value is None else value

    # -- kinds -----------------------------------------------------------------------------
    def _items(self, row: Sequence[Any], number: int) -> list[Record]:
        origin = f"row {number}"
        sku = self.code(row, "sku", True)
        supplier = self.code(row, "supplier")
        tags = self.text(row, "tags")
        attributes = {k: v for k in ("spec", "barcode") if (v := self.text(row, k)) is not None}
        for k in ("min_qty", "max_qty"):
            if (n := self.num(row, k)) is not None:
                attributes[k] = n
        out: list[Record] = []
        lead, moq, pack = (self.num(row, k) for k in ("lead_time_days", "moq", "pack_size"))
        if supplier and (lead is not None or moq is not None or pack is not None):
            out.append(SupplierRecord(supplier, lead_time_days=lead, moq=moq, pack_size=pack,
                                      origin=origin))
        abc = self.text(row, "abc_class")
        out.append(SkuRecord(
            sku or "", name=self.text(row, "name"), category=self.text(row, "category"),
            tags=tuple(t.strip() for t in tags.replace("，", ",").split(",") if t.strip())
            if tags else None,
            unit=self.text(row, "unit"), unit_cost=self.num(row, "unit_cost"),
            abc_class=abc.upper() if abc else None,
            suppliers=(SupplierLink(supplier, preferred=True),) if supplier else None,
            attributes=attributes or None, origin=origin))
        return out

    def _warehouses(self, row: Sequence[Any], number: int) -> list[Record]:
        return [WarehouseRecord(self.code(row, "warehouse", True) or "", self.text(row, "name"),
                                self.text(row, "region"), origin=f"row {number}")]

    def _suppliers(self, row: Sequence[Any], number: int) -> list[Record]:
        return [SupplierRecord(
            self.code(row, "supplier", True) or "", name=self.text(row, "name"),
            lead_time_days=self.num(row, "lead_time_days"),
            lead_time_std_days=self.num(row, "lead_time_std_days"), moq=self.num(row, "moq"),
            pack_size=self.num(row, "pack_size"), on_time_rate=self.num(row, "on_time_rate"),
            contact=self.text(row, "contact"), origin=f"row {number}")]

    def _stock(self, row: Sequence[Any], number: int) -> list[Record]:
        on_hand = self.num(row, "on_hand", True)
        reserved = self.num(row, "reserved")
        available = self.num(row, "available")
        if reserved is None and available is not None and on_hand is not None:
            reserved = max(0.0, on_hand - available)
        as_of = self._get(row, "as_of", lambda v: None if cells.is_blank(v) else cells.when(v))
        return [StockSnapshot(
            self.code(row, "sku", True) or "", self.code(row, "warehouse", True) or "",
            on_hand or 0.0, as_of or self.as_of, reserved, self.num(row, "on_order"),
            self.factor(row), origin=f"row {number}")]

    def _moves(self, row: Sequence[Any], number: int) -> list[Record]:
        word = self.text(row, "type")
        found = MOVE_TYPES.get((word or "").lower())
        if found is None:
            raise RowInvalid("type", f"'{word}' is not a movement type (sale/销售, receipt/入库, "
                             "issue/领用, return/退货, adjustment/盘盈/盘亏, count/盘点, "
                             "transfer/调拨, reserve, release)" if word else "is empty")
        type_, sign = found
        qty = self.num(row, "qty", True) or 0.0
        at = self._get(row, "date", cells.when, True)
        sku, wh = self.code(row, "sku", True) or "", self.code(row, "warehouse", True) or ""
        ref, to_wh = self.text(row, "ref"), self.code(row, "to_warehouse")
        event_id = self.text(row, "id")
        if event_id is None:
            key = (type_, sku, wh, to_wh, at.isoformat(), qty, ref)
            digest = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest())
            n = self.occurrences[digest] = self.occurrences.get(digest, 0) + 1
            event_id = f"{self.kind}:{digest:016x}:{n}"
        return [StockMove(event_id, type_, sku, wh, qty * sign if sign < 0 and qty > 0 else qty,
                          at, ref, to_wh, self.factor(row), origin=f"row {number}")]

    def _sales(self, row: Sequence[Any], number: int) -> list[Record]:
        index = self.index
        i = index["qty"]
        raw = row[i] if i < len(row) else None
        try:
            qty = float(raw) if type(raw) is str or type(raw) is int or type(raw) is float else None
        except ValueError:
            qty = None
        if qty is None or qty != qty or qty in (float("inf"), float("-inf")):
            qty = self.num(row, "qty", True) or 0.0
        if qty == 0:
            return []  # a day without sales is no event (demand counts days without sales)
        i = index["date"]
        raw = row[i] if i < len(row) else None
        day = self._day_ids.get(raw)
        if day is None:
            at = self._get(row, "date", cells.when, True)
            day = self._day_ids[raw] = (at, at.date().isoformat())
        i, j = index["sku"], index["warehouse"]
        sku, wh = (row[i] if i < len(row) else None), (row[j] if j < len(row) else None)
        if type(sku) is not str or not sku.isascii() or sku != sku.strip() or not sku \
                or sku.startswith(("'", '="')) or self.zeros:
            sku = self.code(row, "sku", True)
        if type(wh) is not str or not wh.isascii() or wh != wh.strip() or not wh \
                or wh.startswith(("'", '="')) or self.zeros:
            wh = self.code(row, "warehouse", True)
        ref = self.text(row, "ref") if "ref" in index else None
        factor = self.factor(row) if "factor" in index else 1.0
        return [StockMove(f"sale:{sku}:{wh}:{day[1]}" + (f":{ref}" if ref else ""),
                          "sale" if qty > 0 else "return", sku or "", wh or "", abs(qty), day[0],
                          ref, None, factor, origin=f"row {number}")]

    def fast_sales(self) -> Callable[..., list[Record] | None] | None:
        """A page of plain sales rows (text cells: dates, positive numbers, codes without
        spaces or Excel quoting) as one ``SalesColumns``, taken apart column by column with
        the interpreter's own loops (``zip``, ``map``, one ``json`` parse of the page's
        quantities). None for a page with anything else (a blank, total or repeated header
        row, a bad cell): it is then read row by row, with every check and message. Only for
        files without ref or factor columns and without zero-padded code formats."""
        index = self.index
        if self.kind != "sales" or "ref" in index or "factor" in index or self.zeros:
            return None
        i_date, i_sku, i_wh, i_qty = index["date"], index["sku"], index["warehouse"], index["qty"]
        width = max(i_date, i_sku, i_wh, i_qty) + 1
        days = self._day_ids

        def plain(codes: tuple[Any, ...]) -> bool:
            """Every code non-empty ASCII without blanks or Excel's quoting: one scan of
            them all joined (a non-text cell raises TypeError)."""
            joined = "\x00".join(codes)
            return (all(codes) and joined.isascii() and " " not in joined
                    and "\t" not in joined and "\x00'" not in joined
                    and '\x00="' not in joined and joined[0] not in "'=")

        def quantities(texts: tuple[Any, ...]) -> Any:
            """The page's quantity cells as numbers, parsed at once as one JSON array; None
            unless every cell is a plain decimal number (JSON's grammar, no sign: a
            thousands separator, a unit, an empty cell or a sign goes the row path)."""
            joined = ",".join(texts)  # TypeError for a cell that is not text
            if _PLAIN_NUMBERS.fullmatch(joined) is None:
                return None
            try:
                found = json.loads("[" + joined + "]")
            except ValueError:
                return None
            return found if len(found) == len(texts) else None

        def convert(numbers: Sequence[int], rows: list[Sequence[Any]] | None,
                    columns: list[Sequence[Any]] | None = None) -> list[Record] | None:
            try:
                if columns is None:
                    columns = list(zip(*rows))  # type: ignore[misc]  # as the shortest row
                if len(columns) < width:
                    return None
                dates, skus, whs = columns[i_date], columns[i_sku], columns[i_wh]
                if not (plain(skus) and plain(tuple(set(whs)))):  # a few warehouses
                    return None
                qtys = quantities(columns[i_qty])
                if qtys is None:
                    return None
                for raw in set(dates) - days.keys():  # once per date of the file
                    at = cells.when(raw)
                    days[raw] = (at, at.date().isoformat())
            except (TypeError, ValueError):  # CellInvalid too: the row path names the cell
                return None
            if not 0 < min(qtys) <= max(qtys) < 1e15:
                return None
            return [SalesColumns(dates, days, skus, whs, qtys, numbers)]

        return convert

    def _purchase_orders(self, row: Sequence[Any], number: int) -> list[Record]:
        sku, wh = self.code(row, "sku", True) or "", self.code(row, "warehouse", True) or ""
        ordered, received = self.num(row, "qty_ordered"), self.num(row, "qty_received") or 0.0
        open_qty = self.num(row, "qty_open")
        if open_qty is not None and ordered is None:
            ordered, received = open_qty, 0.0
        if ordered is None:
            raise RowInvalid("qty_ordered" if "qty_ordered" in self.index else "qty_open",
                             "is empty")
        word = self.text(row, "status")
        status = PO_STATUS.get(word.lower()) if word else "open"
        if status is None:
            raise RowInvalid("status", f"'{word}' is not a status (open/执行中, done/已完成, "
                             "cancelled/作废)")
        expected = self._get(row, "expected_date",
                             lambda v: None if cells.is_blank(v) else cells.when(v).date())
        return [PurchaseOrderLine(
            self.code(row, "po", True) or "", self.text(row, "line") or f"{sku}@{wh}",
            self.code(row, "supplier") or "", sku, wh, ordered, received, expected, status,
            self.factor(row), origin=f"row {number}")]


def is_total(row: Sequence[Any]) -> bool:
    """A 合计/总计/Total row (a spreadsheet's sums, not data): one of its first cells says so."""
    for value in row[:4]:
        if isinstance(value, str):
            word = value.strip().lower().rstrip(":：")
            if word in TOTAL_WORDS or word.startswith(("合计", "总计", "小计")):
                return True
    return False


def is_blank_row(row: Sequence[Any]) -> bool:
    return all(cells.is_blank(v) for v in row)
