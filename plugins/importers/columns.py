"""Which column is which: the alias table (Chinese and English, ERP.md §2e and real exports)
and the header matching that uses it, or an explicit ``--map field=列名``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# canonical field -> aliases, most specific first (the order breaks ties between two columns)
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "sku code", "skucode", "sku编码", "item code", "itemcode", "item_code", "item no",
            "item", "product code", "productcode", "default_code", "internal reference",
            "part number", "partno", "商品编码", "商品编号", "商品代码", "货号", "货品编码",
            "货品编号", "物料编码", "物料代码", "物料编号", "存货编码", "存货代码", "产品编码",
            "产品编号", "产品代码", "料号", "商家编码", "规格编码"),
    "name": ("name", "item name", "product name", "title", "description", "商品名称", "品名",
             "物料名称", "存货名称", "产品名称", "货品名称", "名称"),
    "spec": ("规格型号", "规格", "型号", "specification", "spec"),
    "category": ("category", "item group", "item_group", "product category", "分类", "类别",
                 "商品分类", "商品类别", "物料分组", "存货分类", "存货大类", "产品类别", "大类"),
    "unit": ("unit", "uom", "stock uom", "单位", "计量单位", "基本单位", "主计量单位", "库存单位"),
    "unit_cost": ("unit cost", "unit_cost", "cost", "cost price", "standard price",
                  "valuation rate", "成本价", "成本", "单位成本", "进价", "参考成本", "单价"),
    "tags": ("tags", "tag", "标签"),
    "abc_class": ("abc class", "abc_class", "abc", "abc分类", "abc类别"),
    "barcode": ("barcode", "ean", "upc", "条码", "条形码", "国际条码"),
    "supplier": ("supplier", "supplier code", "vendor", "vendor code", "供应商编码", "供应商代码",
                 "供应商", "默认供应商", "主供应商", "供应商名称"),
    "lead_time_days": ("lead time days", "lead_time_days", "lead time", "leadtime", "delay",
                       "提前期", "采购提前期", "固定提前期", "采购周期", "交货周期", "到货周期"),
    "lead_time_std_days": ("lead time std days", "lead_time_std_days", "lead time std",
                           "提前期标准差"),
    "moq": ("moq", "min order qty", "min_order_qty", "minimum order quantity", "最小起订量",
            "起订量", "最小订货量", "最小采购量"),
    "pack_size": ("pack size", "pack_size", "case qty", "包装数量", "箱规", "装箱数", "每箱数量",
                  "最小包装量", "批量增量"),
    "min_qty": ("min qty", "min_qty", "min", "reorder level", "safety stock", "安全库存",
                "库存下限", "最低库存", "最小库存"),
    "max_qty": ("max qty", "max_qty", "max", "库存上限", "最高库存", "最大库存"),
    "on_time_rate": ("on time rate", "on_time_rate", "准时率", "准时交货率"),
    "contact": ("contact", "phone", "email", "联系人", "联系电话", "电话", "手机"),
    "region": ("region", "area", "区域", "地区", "所在地区"),
    "warehouse": ("warehouse code", "warehouse", "store id", "store", "location", "shop",
                  "仓库编码", "仓库代码", "仓库编号", "仓库", "调出仓库", "门店编码", "门店",
                  "库房", "仓库名称"),
    "to_warehouse": ("to warehouse", "to_warehouse", "target warehouse", "调入仓库", "目标仓库",
                     "调入仓"),
    "on_hand": ("on hand", "on_hand", "on hand (current)", "qty on hand", "actual qty",
                "actual_qty", "counted quantity", "quantity", "qty", "stock", "inventory",
                "inventory level", "库存数量", "现存数量", "现存量", "结存数量", "期末结存数量",
                "期末数量", "账面数量", "库存量", "在库数量", "实际库存", "当前库存", "库存", "结存",
                "数量"),
    "available": ("available", "available qty", "available (not editable)", "可用库存", "可用量",
                  "可用数量"),
    "reserved": ("reserved", "reserved qty", "committed", "committed (not editable)", "预留",
                 "预留数量", "锁库量", "锁定数量", "占用数量", "占用", "已分配"),
    "on_order": ("on order", "on_order", "incoming", "incoming (not editable)", "ordered qty",
                 "ordered_qty", "在途数量", "在途", "在途库存", "采购在途", "已订未到"),
    "as_of": ("as of", "as_of", "snapshot date", "date", "盘点日期", "统计日期", "截止日期",
              "日期"),
    "date": ("date", "day", "order date", "posting date", "日期", "单据日期", "业务日期",
             "销售日期", "出库日期", "发货日期", "下单日期", "订单日期"),
    "qty": ("qty", "quantity", "units", "units sold", "sales", "quantity ordered", "数量", "销量",
            "销售数量", "出库数量", "实发数量", "销售量", "件数"),
    "type": ("type", "movement type", "voucher type", "类型", "业务类型", "单据类型",
             "出入库类型", "收发类别"),
    "ref": ("ref", "reference", "order id", "order no", "order", "document no", "voucher no",
            "单号", "单据编号", "单据号", "订单号", "订单编号", "销售单号", "出库单号"),
    "id": ("id", "event id", "line id", "流水号"),
    "factor": ("factor", "conversion factor", "conversion_factor", "换算率", "转换率",
               "换算系数"),
    "po": ("po", "po number", "purchase order", "采购订单号", "采购单号", "采购订单编号",
           "订单编号", "订单号", "单据编号"),
    "line": ("line", "line no", "行号", "序号"),
    "qty_ordered": ("qty ordered", "qty_ordered", "ordered", "product qty", "订货数量",
                    "采购数量", "订单数量", "数量"),
    "qty_received": ("qty received", "qty_received", "received", "已入库数量", "累计入库数量",
                     "已收货数量", "已到货数量", "入库数量"),
    "qty_open": ("open qty", "qty_open", "remaining", "remain qty", "未入库数量", "剩余数量",
                 "未到货数量", "在途数量"),
    "expected_date": ("expected date", "expected_date", "date planned", "eta", "预计到货日期",
                      "计划到货日期", "交货日期", "到货日期"),
    "status": ("status", "state", "状态", "订单状态", "单据状态"),
}

# The fields of each kind: (required, optional). Kind-specific aliases come first.
KIND_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "items": (("sku",), ("name", "spec", "category", "unit", "unit_cost", "tags", "abc_class",
                         "barcode", "supplier", "lead_time_days", "moq", "pack_size", "min_qty",
                         "max_qty")),
    "warehouses": (("warehouse",), ("name", "region")),
    "suppliers": (("supplier",), ("name", "lead_time_days", "lead_time_std_days", "moq",
                                  "pack_size", "on_time_rate", "contact")),
    "stock": (("sku", "warehouse", "on_hand"), ("available", "reserved", "on_order", "as_of",
                                                "factor")),
    "moves": (("date", "type", "sku", "warehouse", "qty"), ("id", "to_warehouse", "ref",
                                                             "factor")),
    "sales": (("date", "sku", "warehouse", "qty"), ("ref", "factor")),
    "purchase-orders": (("po", "sku", "warehouse"), ("line", "supplier", "qty_ordered",
                                                      "qty_received", "qty_open",
                                                      "expected_date", "status", "factor")),
}
KIND_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "warehouses": {"warehouse": ("code", "编码", "仓库编码", "仓库代码", "warehouse code"),
                   "name": ("仓库名称", "name", "名称")},
    "suppliers": {"supplier": ("code", "编码", "供应商编码", "供应商代码", "supplier code"),
                  "name": ("供应商名称", "supplier name", "name", "名称")},
    "items": {"sku": ("code", "编码")},
    "purchase-orders": {"qty_ordered": ("quantity", "qty")},
}
# ``purchase-orders`` needs one of these quantities as well as its required columns
ONE_OF: dict[str, tuple[str, ...]] = {"purchase-orders": ("qty_ordered", "qty_open")}

_PAREN = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_JUNK = re.compile(r"[\s_\-*:：#]+")


def normalize(header: object) -> str:
    """The form headers are compared in: NFKC (full-width → half-width), lower case, no
    spaces, underscores, dashes, asterisks (required marks) or colons."""
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return _JUNK.sub("", text)


def _alias_table(kind: str) -> dict[str, tuple[str, int]]:
    """normalized alias -> (field, rank) for ``kind``: the kind's own aliases first (a
    warehouses file's 仓库名称 is its name, not its code), then the common table; the first
    field to claim an alias keeps it."""
    required, optional = KIND_FIELDS[kind]
    names = (*required, *optional)
    table: dict[str, tuple[str, int]] = {}
    own = KIND_ALIASES.get(kind, {})
    for name in names:
        for rank, alias in enumerate(own.get(name, ())):
            table.setdefault(normalize(alias), (name, rank))
    for name in names:
        for rank, alias in enumerate((name, *ALIASES[name])):
            table.setdefault(normalize(alias), (name, 100 + rank))
    return table


@dataclass
class Columns:
    """How a header row maps to canonical fields."""

    by_field: dict[str, int] = field(default_factory=dict)  # field -> column index
    headers: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers not used
    notes: list[str] = field(default_factory=list)  # e.g. two columns looked like one field

    def header_of(self, name: str) -> str:
        index = self.by_field.get(name)
        return self.headers[index] if index is not None else name

    def as_fields(self) -> dict[str, str]:
        return {name: self.headers[i] for name, i in self.by_field.items()}

    def missing(self, kind: str) -> list[str]:
        required, _ = KIND_FIELDS[kind]
        out = [f for f in required if f not in self.by_field]
        one_of = ONE_OF.get(kind)
        if one_of and not any(f in self.by_field for f in one_of):
            out.append(" or ".join(one_of))
        return out


class MappingInvalid(ValueError):
    """``--map`` names a field the kind does not have, or is not ``field=column`` pairs."""


def check_mapping(kind: str, mapping: Mapping[str, str]) -> None:
    required, optional = KIND_FIELDS[kind]
    for name in mapping:
        if name not in required and name not in optional:
            raise MappingInvalid(f"'{name}' is not a field of {kind}; the fields are "
                                 f"{', '.join((*required, *optional))}")


def match(kind: str, row: Sequence[object], mapping: Mapping[str, str] | None = None) -> Columns:
    """Map the cells of a candidate header row to fields: an explicit mapping first (by exact
    or normalized header), then the alias table; a field claimed by two columns goes to the
    better-ranked alias and the other is noted."""
    headers = ["" if c is None else str(c).strip() for c in row]
    cols = Columns(headers=headers)
    normal = [normalize(h) for h in headers]
    taken: set[int] = set()
    for name, column in (mapping or {}).items():
        wanted = normalize(column)
        index = next((i for i, h in enumerate(normal) if h == wanted and i not in taken), None)
        if index is not None:
            cols.by_field[name] = index
            taken.add(index)
    table = _alias_table(kind)
    ranks: dict[str, int] = {}
    for index, text in enumerate(normal):
        if index in taken or not text:
            continue
        found = table.get(text) or table.get(_PAREN.sub("", text))
        if found is None or (mapping and found[0] in mapping):
            continue
        name, rank = found
        if name in cols.by_field and ranks.get(name, -1) <= rank:
            cols.notes.append(f"column '{headers[index]}' also looks like '{name}'; "
                              f"using '{cols.header_of(name)}'")
            continue
        if name in cols.by_field:
            cols.notes.append(f"column '{cols.header_of(name)}' also looks like '{name}'; "
                              f"using '{headers[index]}'")
        cols.by_field[name], ranks[name] = index, rank
    used = set(cols.by_field.values())
    cols.ignored = [h for i, h in enumerate(headers) if h and i not in used]
    return cols
