"""``create_task``: a task for the owner role, following the workflow the action names."""

from __future__ import annotations

from engine.actions.context import ActionContext, Draft, TaskDraft
from engine.rules.compiled import CreateTask
from engine.templates import TemplateInvalid, render


def handle(action: CreateTask, key: str, ctx: ActionContext) -> list[Draft]:
    workflow = ctx.ruleset.workflows[action.workflow]
    try:
        title = render(action.title, ctx.template_context())[:500] or ctx.rule.name
    except TemplateInvalid:  # a title that cannot render must not lose the task
        title = ctx.rule.name
    return [TaskDraft(
        action_key=key,
        title=title,
        workflow=workflow.id,
        state=workflow.initial,
        role=action.role or ctx.rule.owner,
        due_at=ctx.at + action.due if action.due else None,
        severity=ctx.rule.severity,
    )]
