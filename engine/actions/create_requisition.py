"""``create_requisition``: how much, from whom, and whether someone must approve it.

Never a second requisition while open ones cover the shortage: the inventory position already
counts open requisitions (``on_order``), so ``order_up_to`` asks for nothing more; for the other
policies an existing open requisition covers the shortage while the position is at or above the
reorder point.
"""

from __future__ import annotations

from engine.actions.context import ActionContext, Draft, RequisitionDraft, Skipped
from engine.actions.transfer_cover import TRANSFER_NOTE, with_transfers
from engine.metrics import approval_chain, choose_supplier, requisition_quantity
from engine.rules.compiled import CreateRequisition


def handle(action: CreateRequisition, key: str, ctx: ActionContext) -> list[Draft]:
    if ctx.transfer_cover:  # issue #19: what open transfers bring is not ordered again
        ctx, action = with_transfers(ctx, action)
    position = ctx.facts["stock"]["inventory_position"]
    if ctx.open_requisitions and position >= ctx.metrics.reorder_point:
        return [Skipped(key, f"open requisitions already cover the shortage (inventory position "
                             f"{position:g} ≥ reorder point {ctx.metrics.reorder_point:.1f})")]
    supplier = choose_supplier(action.supplier, ctx.links)
    if supplier is None and action.supplier not in ("preferred", "fastest", "cheapest"):
        return [Skipped(key, f"no supplier '{action.supplier}' is linked to this SKU")]
    qty = requisition_quantity(action, ctx.facts, ctx.metrics, supplier)
    if not qty.quantity > 0:
        return [Skipped(key, (qty.reason or "nothing to order")
                        + (TRANSFER_NOTE.format(ctx.transfer_cover) if ctx.transfer_cover else ""))]
    price = supplier.price if supplier and supplier.price is not None else ctx.facts["sku"].get("unit_cost")
    amount = round(qty.quantity * price, 2) if price is not None else None
    # The first level of the approval chain approves first (issue #18); an unknown amount
    # never slips under a threshold: it goes through every level.
    chain = approval_chain(amount, action.approval)
    role = chain[0] if chain else None
    reason = (f"{action.policy}: asked {qty.raw:.2f}, rounded to {qty.quantity:g}"
              + (f" (MOQ {supplier.moq:g}, pack {supplier.pack_size:g})" if supplier else "")
              + (TRANSFER_NOTE.format(ctx.transfer_cover) if ctx.transfer_cover else ""))
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
