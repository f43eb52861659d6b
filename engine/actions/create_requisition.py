"""``create_requisition``: how much, from whom, and whether someone must approve it.

Never a second requisition while open ones cover the shortage. Covered means: the inventory
position of the open requisitions that land in time is at or above the reorder point, and once
they have arrived the rule's own condition no longer holds (issue #19) — the reorder point
alone stalled rules with a higher minimum of their own. Open orders landing after the
stock-out (a supplier's delay) and after a new order would cover nothing: they are left out
of the position the quantity is worked from. With a ``fallback``, the requisition goes
to the fallback supplier when the chosen one is unavailable, late beyond the threshold, or
cannot deliver before the stock-out (``engine.supply.failover``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from engine.actions.context import ActionContext, Draft, RequisitionDraft, Skipped
from engine.actions.transfer_cover import TRANSFER_NOTE, with_transfers
from engine.metrics import approval_chain, choose_supplier, requisition_quantity
from engine.rules.compiled import CreateRequisition
from engine.rules.jsonlogic_convert import truthy
from engine.supply import (
    failover,
    late_note,
    projected_stockout,
    split_by_arrival,
    with_pair_delay,
)


def handle(action: CreateRequisition, key: str, ctx: ActionContext) -> list[Draft]:
    if ctx.transfer_cover:  # issue #19: what open transfers bring is not ordered again
        ctx, action = with_transfers(ctx, action)
    # an economic order quantity does not look at the position: the transfer changes nothing
    # in it, and the reasoning must not say it was ordered less
    cover_note = (TRANSFER_NOTE.format(ctx.transfer_cover)
                  if ctx.transfer_cover and action.policy != "eoq" else "")
    facts = ctx.facts
    stock = facts["stock"]
    position = stock["inventory_position"]
    stockout = projected_stockout(ctx.at, stock["available"], ctx.metrics.avg_daily_demand)
    notes: list[str] = []
    supplier = choose_supplier(action.supplier, ctx.links)
    if supplier is None and action.supplier not in ("preferred", "fastest", "cheapest"):
        return [Skipped(key, f"no supplier '{action.supplier}' is linked to this SKU")]
    if action.fallback is not None:
        supplier, why = failover(with_pair_delay(supplier, ctx.open_orders),
                                 choose_supplier(action.fallback, ctx.links), ctx.at,
                                 stockout, action.fallback_after_late_days)
        if why:
            notes.append(why)
    late_qty = 0.0
    if ctx.open_orders and stockout is not None:
        lead = supplier.lead_time_days if supplier and supplier.lead_time_days is not None \
            else ctx.metrics.lead_time_days
        _, late = split_by_arrival(ctx.open_orders, stockout, ctx.at + timedelta(days=lead))
        if late:
            late_qty = min(sum(o.quantity for o in late), max(stock["on_order"], 0.0))
            notes.append(late_note(late, stockout))
    position -= late_qty
    # whether open requisitions cover the shortage is theirs to say: what open transfers
    # bring is ordered less by, not a reason to order nothing (a late order left aside)
    if ctx.open_requisitions and _covered(ctx, position - ctx.transfer_cover, late_qty):
        return [Skipped(key, f"open requisitions already cover the shortage (inventory position "
                             f"{position:g} ≥ reorder point {ctx.metrics.reorder_point:.1f}, and "
                             "the rule's condition no longer holds once they arrive)")]
    if late_qty:
        facts = dict(facts, stock=dict(stock, inventory_position=position))
    qty = requisition_quantity(action, facts, ctx.metrics, supplier)
    if not qty.quantity > 0:
        return [Skipped(key, (qty.reason or "nothing to order") + cover_note)]
    price = supplier.price if supplier and supplier.price is not None else ctx.facts["sku"].get("unit_cost")
    amount = round(qty.quantity * price, 2) if price is not None else None
    # The first level of the approval chain approves first (issue #18); an unknown amount
    # never slips under a threshold: it goes through every level.
    chain = approval_chain(amount, action.approval)
    role = chain[0] if chain else None
    reason = (f"{action.policy}: asked {qty.raw:.2f}, rounded to {qty.quantity:g}"
              + (f" (MOQ {supplier.moq:g}, pack {supplier.pack_size:g})" if supplier else "")
              + cover_note)
    reason = "; ".join([reason, *notes])
    return [RequisitionDraft(
        action_key=key,
        supplier=supplier.code if supplier else None,
        quantity=qty.quantity,
        unit_price=price,
        amount=amount,
        state="pending_approval" if role else "approved",
        approval_role=role,
        reason=reason,
    )]


def _covered(ctx: ActionContext, position: float, late_qty: float) -> bool:
    """Whether the open orders landing in time cover the shortage: the position they make is
    at or above the reorder point, and the rule's own condition no longer holds once they have
    arrived (available = that position) — a rule with a higher minimum of its own still
    orders (bench/README.md, #16's known issue)."""
    if position < ctx.metrics.reorder_point:
        return False
    stock = ctx.facts["stock"]
    landed_available = position
    arrived = landed_available - stock["available"]
    landed_stock = dict(stock, available=landed_available, on_hand=stock["on_hand"] + arrived,
                        on_order=late_qty, inventory_position=position)
    metrics: Mapping[str, Any] = ctx.facts.get("metrics") or {}
    d = ctx.metrics.avg_daily_demand
    if d > 0:
        metrics = dict(metrics, days_of_cover=landed_available / d)
    landed = dict(ctx.facts, stock=landed_stock, metrics=metrics)
    try:
        return not truthy(ctx.rule.condition(landed))
    except Exception:
        return True
