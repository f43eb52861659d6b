"""The catalogue of facts a condition can read (SPEC §3), with their types and plain names.

The static checker uses it to refuse unknown variables and type mismatches at save time, the web
form uses the labels to offer facts by name, and the engine builds the data dict in this shape.
A fact is ``nullable`` when the engine can leave it without a value (``days_of_cover`` with no
demand): a comparison on it must say what null means (SPEC §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NUMBER, STRING, BOOLEAN, ARRAY, ANY = "number", "string", "boolean", "array", "any"

# The largest facts the catalogue allows (master data is refused beyond them): what the static
# cost bound of a condition assumes (``jsonlogic_cost``).
MAX_TAGS = 100  # tags of a SKU
MAX_TAG_CHARS = 64  # characters of a tag
MAX_TEXT_CHARS = 256  # characters of a text fact (codes, names, regions, event ids and refs)
MAX_OPEN_CHARS = 4096  # a SKU's attributes, written as JSON


@dataclass(frozen=True)
class Fact:
    path: str
    type: str
    nullable: bool = False
    label_en: str = ""
    label_zh: str = ""


def _f(path: str, type_: str, en: str, zh: str, nullable: bool = False) -> Fact:
    return Fact(path, type_, nullable, en, zh)


FACTS: dict[str, Fact] = {
    f.path: f
    for f in [
        _f("event.id", STRING, "event id", "事件编号"),
        _f("event.type", STRING, "event type", "事件类型"),
        _f("event.qty", NUMBER, "event quantity", "事件数量"),
        _f("event.at", STRING, "event time", "事件时间"),
        _f("event.ref", STRING, "event reference", "事件单号", nullable=True),
        _f("event.sku", STRING, "event SKU", "事件SKU"),
        _f("event.warehouse", STRING, "event warehouse", "事件仓库"),
        _f("event.to_warehouse", STRING, "transfer destination", "调入仓库", nullable=True),
        _f("event.supplier", STRING, "event supplier", "事件供应商", nullable=True),
        _f("event.eta", STRING, "new arrival time", "新到货时间", nullable=True),
        _f("event.delay_days", NUMBER, "delay (days)", "延误天数", nullable=True),
        _f("sku.code", STRING, "SKU code", "SKU编码"),
        _f("sku.name", STRING, "SKU name", "SKU名称"),
        _f("sku.category", STRING, "category", "品类", nullable=True),
        _f("sku.tags", ARRAY, "tags", "标签"),
        _f("sku.unit", STRING, "unit", "单位"),
        _f("sku.unit_cost", NUMBER, "unit cost", "单位成本"),
        _f("sku.abc_class", STRING, "ABC class", "ABC分类", nullable=True),
        _f("sku.attributes", ANY, "attributes", "属性"),
        _f("warehouse.code", STRING, "warehouse code", "仓库编码"),
        _f("warehouse.name", STRING, "warehouse name", "仓库名称"),
        _f("warehouse.region", STRING, "region", "区域", nullable=True),
        _f("stock.on_hand", NUMBER, "on hand", "现有库存"),
        _f("stock.reserved", NUMBER, "reserved", "已预留"),
        _f("stock.available", NUMBER, "available", "可用库存"),
        _f("stock.on_order", NUMBER, "on order", "在途数量"),
        _f("stock.inventory_position", NUMBER, "inventory position", "库存头寸(可用+在途)"),
        _f("stock.total_available", NUMBER, "available in all warehouses", "全部仓库可用库存"),
        _f("metrics.avg_daily_demand", NUMBER, "average daily demand", "日均需求"),
        _f("metrics.demand_std", NUMBER, "demand standard deviation", "需求标准差"),
        _f("metrics.lead_time_days", NUMBER, "lead time (days)", "采购提前期(天)"),
        _f("metrics.lead_time_std", NUMBER, "lead time deviation (days)", "提前期标准差(天)"),
        _f("metrics.safety_stock", NUMBER, "safety stock", "安全库存"),
        _f("metrics.reorder_point", NUMBER, "reorder point", "再订货点"),
        _f("metrics.max_stock", NUMBER, "maximum stock", "最高库存"),
        _f("metrics.days_of_cover", NUMBER, "days of cover", "可售天数", nullable=True),
        _f(
            "metrics.days_since_last_sale",
            NUMBER,
            "days since last sale",
            "距上次销售天数",
            nullable=True,
        ),
        _f("supplier.code", STRING, "supplier code", "供应商编码", nullable=True),
        _f("supplier.name", STRING, "supplier name", "供应商名称", nullable=True),
        _f("supplier.lead_time_days", NUMBER, "supplier lead time", "供应商提前期", nullable=True),
        _f(
            "supplier.lead_time_std_days",
            NUMBER,
            "supplier lead time deviation",
            "供应商提前期标准差",
            nullable=True,
        ),
        _f("supplier.moq", NUMBER, "minimum order quantity", "最小起订量", nullable=True),
        _f("supplier.pack_size", NUMBER, "pack size", "包装规格", nullable=True),
        _f("supplier.on_time_rate", NUMBER, "on-time rate", "准时交货率", nullable=True),
        _f("supplier.price", NUMBER, "supplier price", "采购单价", nullable=True),
        _f("supplier.open_delay_days", NUMBER, "open delay (days)", "未结延误天数", nullable=True),
        _f("supplier.lead_time_source", STRING, "lead time source", "提前期来源", nullable=True),
        _f("supplier.unavailable", BOOLEAN, "supplier unavailable", "供应商不可用", nullable=True),
        _f("order.eta", STRING, "open order ETA", "在途订单预计到货", nullable=True),
        _f("order.delay_days", NUMBER, "open order delay (days)", "在途订单延误天数", nullable=True),
        _f("order.supplier", STRING, "open order supplier", "在途订单供应商", nullable=True),
        _f("params.demand_window_days", NUMBER, "demand window (days)", "需求窗口(天)"),
        _f("params.review_period_days", NUMBER, "review period (days)", "盘点周期(天)"),
        _f("params.service_level", NUMBER, "service level", "服务水平"),
        _f("params.default_lead_time_days", NUMBER, "default lead time", "默认提前期"),
        _f("calendar.date", STRING, "date", "日期"),
        _f("calendar.weekday", NUMBER, "weekday (1 = Monday)", "星期几(1=周一)"),
        _f("calendar.month", NUMBER, "month", "月份"),
        _f("calendar.promotion", BOOLEAN, "promotion day", "促销日"),
        _f("calendar.demand_multiplier", NUMBER, "demand multiplier today", "今日需求系数"),
        _f("calendar.period", STRING, "calendar period today", "当前日历时段", nullable=True),
        _f("calendar.next_period", STRING, "next calendar period", "下一个日历时段",
           nullable=True),
        _f("calendar.days_to_next_period", NUMBER, "days to the next period", "距下一时段天数",
           nullable=True),
        _f("forecast.daily", NUMBER, "forecast demand tomorrow", "明日预测需求"),
        _f("forecast.lead_time_demand", NUMBER, "forecast demand over the lead time",
           "提前期内预测需求"),
        _f("forecast.review_demand", NUMBER, "forecast demand over the review period",
           "盘点周期内预测需求"),
        _f("forecast.error_std", NUMBER, "forecast error (daily std)", "预测误差(日标准差)"),
        _f("forecast.safety_factor", NUMBER, "safety factor z", "安全系数z"),
        _f("forecast.method", STRING, "forecast method", "预测方法"),
        _f("params.forecast_method", STRING, "forecast method", "预测方法", nullable=True),
        _f("params.fill_rate", NUMBER, "fill rate target", "满足率目标", nullable=True),
    ]
}

# The aggregates a group rule (``per: group_warehouse``, issue #19) reads: its group's member
# SKUs in the event's warehouse (``group.*``) and in every warehouse (``group.all.*``).
GROUP_FACTS: dict[str, Fact] = {
    f.path: f
    for scope, en_scope, zh_scope in (("group", "in this warehouse", "本仓"),
                                      ("group.all", "in all warehouses", "全部仓库"))
    for f in [
        _f(f"{scope}.skus", NUMBER, f"SKUs of the group {en_scope}", f"{zh_scope}组内SKU数"),
        _f(f"{scope}.on_hand", NUMBER, f"group on hand {en_scope}", f"{zh_scope}组现有库存合计"),
        _f(f"{scope}.available", NUMBER, f"group available {en_scope}",
           f"{zh_scope}组可用库存合计"),
        _f(f"{scope}.inventory_position", NUMBER, f"group inventory position {en_scope}",
           f"{zh_scope}组库存头寸合计"),
        _f(f"{scope}.below_reorder_point", NUMBER,
           f"SKUs below their reorder point {en_scope}", f"{zh_scope}低于再订货点的SKU数"),
        _f(f"{scope}.out_of_stock", NUMBER, f"SKUs out of stock {en_scope}",
           f"{zh_scope}缺货SKU数"),
        _f(f"{scope}.avg_daily_demand", NUMBER, f"group daily demand {en_scope}",
           f"{zh_scope}组日均需求合计"),
        _f(f"{scope}.days_of_cover", NUMBER, f"group days of cover {en_scope}",
           f"{zh_scope}组可售天数", nullable=True),
    ]
}
GROUP_FACTS["group.id"] = _f("group.id", STRING, "group", "商品组")

# Below these prefixes any name is accepted, with type ``any``: free-form SKU attributes and the
# group params an admin may add to a ruleset (``params.min_cover``).
OPEN_PREFIXES: tuple[str, ...] = ("sku.attributes.", "params.")


class Catalog:
    """The facts visible in one place of a document (a group's ``where`` sees only sku/warehouse)."""

    def __init__(self, roots: Iterable[str] | None = None, extra: Iterable[Fact] = ()) -> None:
        self.roots = frozenset(roots) if roots is not None else None
        self._facts = {
            p: f for p, f in FACTS.items() if self.roots is None or p.split(".")[0] in self.roots
        }
        self._facts.update({f.path: f for f in extra})

    def lookup(self, path: str) -> Fact | None:
        """The fact at ``path``, a record fact (``sku``) as ``any``, or None when unknown."""
        if path in self._facts:
            return self._facts[path]
        root = path.split(".")[0]
        if self.roots is not None and root not in self.roots:
            return None
        for prefix in OPEN_PREFIXES:
            if path.startswith(prefix) and len(path) > len(prefix):
                return Fact(path, ANY, nullable=True)
        if any(p.startswith(path + ".") for p in self._facts):
            return Fact(path, ANY)
        return None

    def names(self) -> list[str]:
        return sorted(self._facts)

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._facts.values())


CONDITION_CATALOG = Catalog()
GROUP_CATALOG = Catalog(roots=("sku", "warehouse"))
