"""``suggest_transfer`` (issue #19): before buying, stock another warehouse has too much of.

A source has a surplus when its available stock is above its own max stock, or — with
``min_cover_days`` — when its days of cover are above that (no demand there: any stock is a
surplus). It gives at most what leaves it above its reorder point; the destination
asks for what order-up-to would order (max stock − inventory position, less what open
transfers already bring). The source giving the most is chosen; ties by warehouse code.
"""

from __future__ import annotations

import math

from engine.actions.context import ActionContext, Draft, Skipped, SourceStock, TransferDraft
from engine.rules.compiled import SuggestTransfer
from engine.supply import projected_stockout, split_by_arrival


def surplus(source: SourceStock, action: SuggestTransfer) -> bool:
    """Whether ``source`` holds more than it needs, by the action's measure."""
    if action.min_cover_days is None:
        return source.available > source.max_stock
    cover = source.days_of_cover
    return source.available > 0 if cover is None else cover > action.min_cover_days


def giveable(source: SourceStock) -> float:
    """The most whole units the source can give and stay above its reorder point."""
    return max(0.0, float(math.ceil(source.available - source.reorder_point - 1e-9) - 1))


def allowed(source: SourceStock, action: SuggestTransfer, here: str) -> bool:
    if source.warehouse == here:
        return False
    if action.sources and source.warehouse not in action.sources:
        return False
    return not action.regions or source.region in action.regions


def late_on_order(ctx: ActionContext) -> float:
    """What open orders landing after the projected stock-out bring (a supplier's delay): it
    covers nothing, as for ``create_requisition`` (issue #19) — a transfer lands now."""
    stock = ctx.facts["stock"]
    stockout = projected_stockout(ctx.at, stock["available"], ctx.metrics.avg_daily_demand)
    if not ctx.open_orders or stockout is None:
        return 0.0
    _, late = split_by_arrival(ctx.open_orders, stockout, ctx.at)
    return min(sum(o.quantity for o in late), max(float(stock["on_order"]), 0.0))


def handle(action: SuggestTransfer, key: str, ctx: ActionContext) -> list[Draft]:
    here = str(ctx.facts["warehouse"]["code"])
    position = float(ctx.facts["stock"]["inventory_position"]) + ctx.transfer_cover
    position -= late_on_order(ctx)
    need = ctx.metrics.max_stock - position
    if not need > 0:
        return [Skipped(key, f"no transfer needed: inventory position {position:g} (with open "
                             f"transfers) is at max stock {ctx.metrics.max_stock:.1f}")]
    candidates = [(giveable(s), s) for s in ctx.sources
                  if allowed(s, action, here) and surplus(s, action)]
    candidates = [(g, s) for g, s in candidates if g > 0]
    if not candidates:
        return [Skipped(key, "no transfer: no allowed warehouse has a surplus above its "
                             "reorder point")]
    best, source = min(candidates, key=lambda c: (-c[0], c[1].warehouse))
    quantity = min(float(math.ceil(need - 1e-9)), best)
    explanation = {
        "from": source.warehouse, "to": here, "need": round(need, 3), "quantity": quantity,
        "source_available": source.available,
        "source_reorder_point": round(source.reorder_point, 3),
        "source_max_stock": round(source.max_stock, 3),
        "source_days_of_cover": (round(source.days_of_cover, 1)
                                 if source.days_of_cover is not None else None),
        "min_cover_days": action.min_cover_days,
        "source_left": source.available - quantity,
    }
    return [TransferDraft(key, source.warehouse, quantity, action.ship or ctx.rule.owner,
                          action.receive or ctx.rule.owner, explanation)]
