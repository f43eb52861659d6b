"""Why an alert was raised, for people: the facts it saw by name, its condition, the formulas.

An alert stores the facts its condition saw (``alerts.facts``). Here they become labelled
numbers in the viewer's language (the labels of engine/rules/variables.py), the rule's JsonLogic
condition becomes a sentence twice — once with names, once with the numbers — and the SPEC §3
replenishment formulas are written out with the values that went into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.web.i18n import language
from admin.web.pages import number
from engine.facts import fact_at
from engine.metrics import z_for
from engine.rules.variables import FACTS, GROUP_FACTS

SECTIONS = (
    ("stock", _l("Stock")),
    ("metrics", _l("Demand and replenishment")),
    ("params", _l("Parameters")),
    ("forecast", _l("Forecast")),
    ("supplier", _l("Supplier")),
    ("event", _l("Event")),
    ("calendar", _l("Calendar")),
)
COMPARE = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "===": "=", "!=": "≠", "!==": "≠"}
ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷", "%": "mod"}


def fact_label(path: str) -> str:
    fact = FACTS.get(path) or GROUP_FACTS.get(path)
    if fact is None:
        from admin.web.settings_form import SETTINGS  # the settings' labels (EOQ's costs…)
        name = path.split(".", 1)[-1]
        if path.startswith("params.") and name in SETTINGS:
            return str(SETTINGS[name][0])
        if path == "params.timezone":
            return str(_("Time zone"))
        return name  # an admin's own params.* name, as written
    return fact.label_zh if language() == "zh" else fact.label_en


def show(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) or "—"
    if value is None:
        return "—"
    return str(value)


GROUP_SECTIONS = (("group", _l("The group in this warehouse")),
                  ("group.all", _l("The group in all warehouses")))


def group_summary(facts: Mapping[str, Any]) -> str | None:
    """What a group rule's alert is about (issue #19), as a sentence; None for a SKU's."""
    group = facts.get("group")
    if not isinstance(group, Mapping):
        return None
    sku = (facts.get("sku") or {}).get("code", "")
    return _("This alert is about the group %(group)s in this warehouse as a whole: %(below)s "
             "of its %(skus)s SKUs are below their reorder point and %(out)s are out of stock. "
             "It is raised once for the group and warehouse, not per SKU; %(sku)s is the SKU "
             "whose stock movement was evaluated last.", group=group.get("id", ""),
             below=show(group.get("below_reorder_point")), skus=show(group.get("skus")),
             out=show(group.get("out_of_stock")), sku=sku)


def _group_sections(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, title in GROUP_SECTIONS:
        values = fact_at(facts, path)
        if not isinstance(values, Mapping):
            continue
        rows = [(fact_label(p), show(values.get(p.rsplit(".", 1)[1])))
                for p in GROUP_FACTS if p.rsplit(".", 1)[0] == path and p != "group.id"]
        out.append({"title": str(title), "rows": rows})
    return out


def fact_sections(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The facts as titled tables of (label, value), catalogue order first, then the rest; a
    group rule's aggregates first."""
    out = _group_sections(facts)
    for root, title in SECTIONS:
        values = facts.get(root)
        if not isinstance(values, Mapping) or not values:
            continue
        known = [p.split(".", 1)[1] for p in FACTS if p.startswith(root + ".")]
        keys = [k for k in known if k in values] + sorted(k for k in values if k not in known)
        rows = [(fact_label(f"{root}.{k}"), _shown(f"{root}.{k}", values[k])) for k in keys
                if not isinstance(values[k], Mapping)]
        out.append({"title": str(title), "rows": rows})
    return out


# Where the lead time of the metrics comes from (issue #19: ``supplier.lead_time_source``)
LEAD_TIME_SOURCES = {
    "master": _l("from the master data"),
    "learned": _l("learned from the supplier's receipts"),
    "learned_sku": _l("learned from the supplier's receipts of this SKU"),
}


def _shown(path: str, value: Any) -> str:
    """A fact's value; a code (event type, forecast method, lead time source) by its label."""
    from admin.web.rules import EVENT_LABELS
    labels: Mapping[str, Any] = {"event.type": EVENT_LABELS, "forecast.method": METHODS,
                                 "params.forecast_method": METHODS,
                                 "supplier.lead_time_source": LEAD_TIME_SOURCES}.get(path, {})
    return str(labels[value]) if isinstance(value, str) and value in labels else show(value)


def formulas(facts: Mapping[str, Any]) -> list[str]:
    """SPEC §3's definitions written out: name = formula = the numbers = the value."""
    m, p, s = facts.get("metrics") or {}, facts.get("params") or {}, facts.get("stock") or {}
    out: list[str] = []
    n, lab = number, fact_label
    if {"on_hand", "reserved", "available"} <= s.keys():
        out.append(f"{lab('stock.available')} = {lab('stock.on_hand')} − {lab('stock.reserved')}"
                   f" = {n(s['on_hand'])} − {n(s['reserved'])} = {n(s['available'])}")
    needed = {"avg_daily_demand", "demand_std", "lead_time_days", "lead_time_std", "safety_stock",
              "reorder_point"}
    level = p.get("service_level")
    f = facts.get("forecast") or {}
    if needed <= m.keys() and _forecast_driven(f, p, m):
        out += forecast_formulas(m, p, f)
    elif needed <= m.keys() and isinstance(level, int | float) and 0 < level < 1:
        d, sd, lt, slt = (m[k] for k in ("avg_daily_demand", "demand_std", "lead_time_days",
                                         "lead_time_std"))
        ss, rop = m["safety_stock"], m["reorder_point"]
        out.append(f"{lab('metrics.safety_stock')} = z({n(level, 3)})·√(LT·σd² + d²·σLT²)"
                   f" = {n(z_for(level), 3)}·√({n(lt)}·{n(sd)}² + {n(d)}²·{n(slt)}²) = {n(ss)}")
        out.append(f"{lab('metrics.reorder_point')} = d·LT + {lab('metrics.safety_stock')}"
                   f" = {n(d)}·{n(lt)} + {n(ss)} = {n(rop)}")
        review = p.get("review_period_days")
        if "max_stock" in m and isinstance(review, int | float):
            out.append(f"{lab('metrics.max_stock')} = {lab('metrics.reorder_point')} + d·"
                       f"{lab('params.review_period_days')} = {n(rop)} + {n(d)}·{n(review)}"
                       f" = {n(m['max_stock'])}")
        if "days_of_cover" in m and d and "available" in s:
            out.append(f"{lab('metrics.days_of_cover')} = {lab('stock.available')} ÷ d"
                       f" = {n(s['available'])} ÷ {n(d)} = {n(m['days_of_cover'])}")
    source = (facts.get("supplier") or {}).get("lead_time_source")
    if source in LEAD_TIME_SOURCES and isinstance(m.get("lead_time_days"), int | float):
        out.append(_("Lead time %(lt)s days ± %(std)s: %(source)s", lt=n(m["lead_time_days"]),
                     std=n(m.get("lead_time_std") or 0), source=LEAD_TIME_SOURCES[source]))
    if {"available", "on_order", "inventory_position"} <= s.keys():
        out.append(f"{lab('stock.inventory_position')} = {lab('stock.available')} + "
                   f"{lab('stock.on_order')} = {n(s['available'])} + {n(s['on_order'])}"
                   f" = {n(s['inventory_position'])}")
    return out


def _forecast_driven(f: Mapping[str, Any], p: Mapping[str, Any], m: Mapping[str, Any]) -> bool:
    """True when the metrics came from the forecast over the lead time (issue #16): a forecast
    method, a fill-rate target or a calendar period (the lead-time demand is not d·LT)."""
    if not f or not isinstance(f.get("lead_time_demand"), int | float):
        return False
    ltd, d, lt = f["lead_time_demand"], m.get("avg_daily_demand", 0), m.get("lead_time_days", 0)
    return (f.get("method") not in (None, "mean") or isinstance(p.get("fill_rate"), int | float)
            or p.get("forecast_method") not in (None, "mean")
            or abs(ltd - d * lt) > 1e-9 * max(1.0, abs(ltd)))


def forecast_formulas(m: Mapping[str, Any], p: Mapping[str, Any], f: Mapping[str, Any]) -> list[str]:
    """The forecast-driven working: demand over the lead time from the forecast (× calendar
    multipliers), its deviation, the safety factor (service level or fill rate), then safety
    stock, reorder point and max stock."""
    n, lab = number, fact_label
    lt, slt = m["lead_time_days"], m["lead_time_std"]
    ltd, err, z = f["lead_time_demand"], f.get("error_std", 0.0), f.get("safety_factor", 0.0)
    review = f.get("review_demand", 0.0)
    method = METHODS.get(str(f.get("method")), str(f.get("method")))
    d_lt = ltd / lt if lt else 0.0
    sigma = (lt * err**2 + d_lt**2 * slt**2) ** 0.5
    each_day = _("forecast × calendar multiplier")
    out = [
        f"{lab('forecast.lead_time_demand')} = Σ {each_day} "
        f"({method}, LT = {n(lt)}) = {n(ltd)}",
        f"σ = √(LT·σe² + (D/LT)²·σLT²) = √({n(lt)}·{n(err)}² + {n(d_lt)}²·{n(slt)}²) = {n(sigma)}",
    ]
    fill = p.get("fill_rate")
    if isinstance(fill, int | float):
        q = (1 - fill) * review / sigma if sigma else 0.0
        out.append(f"z: L(z) = (1 − β)·Q/σ = (1 − {n(fill, 3)})·{n(review)}/{n(sigma)} = {n(q, 4)}"
                   f" → z = {n(z, 3)}")
    else:
        out.append(f"z = z({n(p.get('service_level', 0), 3)}) = {n(z, 3)}")
    out.append(f"{lab('metrics.safety_stock')} = z·σ = {n(z, 3)}·{n(sigma)} = {n(m['safety_stock'])}")
    out.append(f"{lab('metrics.reorder_point')} = {lab('forecast.lead_time_demand')} + "
               f"{lab('metrics.safety_stock')} = {n(ltd)} + {n(m['safety_stock'])} = "
               f"{n(m['reorder_point'])}")
    if "max_stock" in m:
        out.append(f"{lab('metrics.max_stock')} = {lab('metrics.reorder_point')} + "
                   f"{lab('forecast.review_demand')} = {n(m['reorder_point'])} + {n(review)} = "
                   f"{n(m['max_stock'])}")
    return out


METHODS = {"mean": _l("window mean"), "ses": _l("exponential smoothing"), "holt": _l("Holt"),
           "seasonal": _l("seasonal"), "weekday": _l("weekday profile")}


def legend() -> str:
    return "; ".join(f"{symbol} = {fact_label(path)}" for symbol, path in (
        ("d", "metrics.avg_daily_demand"), ("σd", "metrics.demand_std"),
        ("LT", "metrics.lead_time_days"), ("σLT", "metrics.lead_time_std"),
    )) + "; z = " + _("the normal quantile of the service level")


def condition(expr: Any, facts: Mapping[str, Any], values: bool = False) -> str:
    """A JsonLogic condition as text: with fact names, or (``values``) with the facts' numbers."""
    return _Writer(facts, values).write(expr, top=True)


class _Writer:
    def __init__(self, facts: Mapping[str, Any], values: bool) -> None:
        self.facts = facts
        self.values = values

    def write(self, expr: Any, top: bool = False) -> str:
        if isinstance(expr, list):
            return "[" + ", ".join(self.write(e) for e in expr) + "]"
        if not (isinstance(expr, Mapping) and len(expr) == 1):
            return f'"{expr}"' if isinstance(expr, str) else show(expr)
        op, args = next(iter(expr.items()))
        args = list(args) if isinstance(args, list) else [args]
        text = self._operation(str(op), args)
        nested = op in COMPARE or op in ARITHMETIC or op in ("and", "or", "in", "if", "?:")
        return f"({text})" if nested and not top else text

    def _operation(self, op: str, args: list[Any]) -> str:
        if op == "var":
            return self._var(args)
        if op in COMPARE:
            return f" {COMPARE[op]} ".join(self.write(a) for a in args)
        if op in ("and", "or"):
            word = _("and") if op == "and" else _("or")
            return f" {word} ".join(self.write(a) for a in args)
        if op in ("!", "!!"):
            inner = self.write(args[0], top=True) if args else ""
            negation = _("not")
            return f"{negation} ({inner})" if op == "!" else f"({inner})"
        if op in ARITHMETIC:
            if op == "-" and len(args) == 1:
                return "−" + self.write(args[0])
            return f" {ARITHMETIC[op]} ".join(self.write(a) for a in args)
        if op == "in" and len(args) == 2:
            return f"{self.write(args[0])} ∈ {self.write(args[1])}"
        if op in ("if", "?:") and len(args) >= 3:
            words = (_("if"), _("then"), _("else"))
            parts = (self.write(a) for a in args[:3])
            return " ".join(f"{word} {part}" for word, part in zip(words, parts, strict=True))
        return f"{op}(" + ", ".join(self.write(a, top=True) for a in args) + ")"

    def _var(self, args: list[Any]) -> str:
        path = str(args[0]) if args else ""
        default = args[1] if len(args) > 1 else None
        if self.values:
            found = fact_at(self.facts, path)
            return show(found if found is not None else default)
        text = fact_label(path)
        if len(args) > 1:
            when_empty = _("when empty")
            text += f" ({when_empty}: {show(default)})"
        return text
