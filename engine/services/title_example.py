"""A task title rendered for one real SKU×warehouse, so an admin sees "补货 SKU-0001 @ WH-SH：可用
12" while typing, not ``{{ sku.code }}`` (#17). Read in a short transaction, rendered after it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from engine.metrics import DemandWindow
from engine.rules.compiled import CompiledRuleset
from engine.services.engine_cache import Snapshot
from engine.services.preview import facts_now
from engine.stock import StockLevel
from engine.storage.tables import stock_levels
from engine.templates import TemplateInvalid, check_template, render


def example(conn: Connection, snap: Snapshot, ruleset: CompiledRuleset, text: str,
            now: datetime) -> dict[str, str | None]:
    """``{"text": the title for the first stocked pair, "pair": "SKU @ WH", "error": why not}``."""
    problems = check_template(text)
    if problems:
        return {"text": None, "pair": None, "error": problems[0]}
    row = conn.execute(select(stock_levels).order_by(stock_levels.c.sku_id,
                                                     stock_levels.c.warehouse_id).limit(1)).first()
    if row is None or row.sku_id not in snap.sku_facts or row.warehouse_id not in snap.warehouse_facts:
        return {"text": None, "pair": None, "error": None}
    total = conn.execute(select(func.sum(stock_levels.c.on_hand - stock_levels.c.reserved))
                         .where(stock_levels.c.sku_id == row.sku_id)).scalar() or 0.0
    level = StockLevel(row.on_hand, row.reserved, row.on_order_erp, row.on_order_local)
    window = DemandWindow.from_dict(row.demand_window) if row.demand_window else DemandWindow()
    groups = ()
    facts = facts_now(snap, row.sku_id, row.warehouse_id, level, window,
                      ruleset.params_for(groups), ZoneInfo(ruleset.settings.timezone),
                      float(total), frozenset(), now)
    pair = f"{facts['sku']['code']} @ {facts['warehouse']['code']}"
    try:
        return {"text": render(text, facts), "pair": pair, "error": None}
    except TemplateInvalid as exc:
        return {"text": None, "pair": pair, "error": str(exc)}
