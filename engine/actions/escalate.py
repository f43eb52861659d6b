"""``escalate``: when the alert is still open after a while, hand it to another role.

The due time is recorded with the alert; ``flask --app wsgi escalations run`` (and, in
production, the sweeper) fires what is due, once per level.
"""

from __future__ import annotations

from engine.actions.context import ActionContext, Draft, EscalationDraft
from engine.rules.compiled import Escalate


def handle(action: Escalate, key: str, ctx: ActionContext, level: int = 1) -> list[Draft]:
    return [EscalationDraft(level=level, to_role=action.to, due_at=ctx.at + action.after)]
