"""The action registry: each action kind maps to one handler, listed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine.actions import create_requisition, create_task, escalate, notify, suggest_transfer
from engine.actions.context import ActionContext, Draft, RequisitionDraft, TransferDraft
from engine.rules.compiled import Action, Escalate

Handler = Callable[[Any, str, ActionContext], list[Draft]]

ACTIONS: dict[str, Handler] = {
    "create_task": create_task.handle,
    "create_requisition": create_requisition.handle,
    "notify": notify.handle,
    "escalate": escalate.handle,
    "suggest_transfer": suggest_transfer.handle,
}


def run_actions(actions: tuple[Action, ...], ctx: ActionContext) -> list[Draft]:
    """Every draft the rule's actions ask for; escalation levels count up in document order."""
    drafts: list[Draft] = []
    level = 0
    for index, action in enumerate(actions):
        key = f"{action.kind}:{index}"
        if isinstance(action, Escalate):
            level += 1
            drafts.extend(escalate.handle(action, key, ctx, level))
        else:
            made = ACTIONS[action.kind](action, key, ctx)
            drafts.extend(made)
            moved = sum(d.quantity for d in made if isinstance(d, TransferDraft))
            if moved:  # a requisition after it orders what the transfer does not bring
                ctx = replace(ctx, transfer_cover=ctx.transfer_cover + moved)
            for draft in made:  # a supplier notice after it goes to this one (issue #19)
                if isinstance(draft, RequisitionDraft) and draft.supplier is not None:
                    ctx = replace(ctx, requisition_supplier=draft.supplier)
    return drafts
