"""A requisition raised for a need open transfers already meet orders that much less (#19).

The transfers' quantity counts as if it were on order: ``order_up_to`` and a formula reading
``stock.inventory_position`` see the position raised by it, a ``fixed`` quantity is lowered
by it. The requisition's reasoning line ends with ``TRANSFER_NOTE`` (the pages say it in the
viewer's language: admin/web/requisition_view.py).
"""

from __future__ import annotations

from dataclasses import replace

from engine.actions.context import ActionContext
from engine.rules.compiled import CreateRequisition

TRANSFER_NOTE = "; less {:g} coming by open transfers"


def with_transfers(ctx: ActionContext, action: CreateRequisition,
                   ) -> tuple[ActionContext, CreateRequisition]:
    """The context and action a requisition is decided on once open transfers count."""
    cover = ctx.transfer_cover
    stock = dict(ctx.facts["stock"])
    stock["inventory_position"] = float(stock["inventory_position"]) + cover
    facts = dict(ctx.facts, stock=stock)
    if action.policy == "fixed" and action.fixed is not None:
        action = replace(action, fixed=max(0.0, float(action.fixed) - cover))
    return replace(ctx, facts=facts), action
