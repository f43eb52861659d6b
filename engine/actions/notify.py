"""``notify``: a rendered message per channel, written to the outbox for delivery."""

from __future__ import annotations

from engine.actions.context import ActionContext, Draft, NotificationDraft, Skipped
from engine.rules.compiled import Notify
from engine.templates import TemplateInvalid, render

DEFAULT_MESSAGE = (
    "[{{ rule.severity }}] {{ rule.name }}: {{ sku.code }} {{ sku.name }} @ {{ warehouse.code }} — "
    "available {{ stock.available }}, reorder point {{ metrics.reorder_point | round(1) }}"
)


def supplier_concerned(ctx: ActionContext) -> str | None:
    """The supplier a notice goes to (issue #19): that of the requisition this rule just
    raised, else that of the order the event is about (a supplier_delay), else the SKU's
    preferred one."""
    if ctx.requisition_supplier is not None:
        return ctx.requisition_supplier
    event = ctx.facts.get("event") or {}
    if event.get("type") == "supplier_delay" and event.get("supplier"):
        return str(event["supplier"])
    code = (ctx.facts.get("supplier") or {}).get("code")
    return str(code) if code is not None else None


def handle(action: Notify, key: str, ctx: ActionContext) -> list[Draft]:
    role_id = ctx.rule.owner if action.to == "owner" else action.to
    if action.to == "supplier":
        role_id = None
        supplier = supplier_concerned(ctx)
        contact = ctx.supplier_contacts.get(supplier or "") or {}
        recipients = tuple(str(v) for k, v in sorted(contact.items()) if k in ("email", "phone", "webhook"))
        channels = action.channels or ("email",)
    else:
        role = ctx.ruleset.roles.get(role_id or "")
        if role is None:
            return [Skipped(key, "the rule has no owner role to notify")]
        recipients = role.members
        channels = action.channels or role.channels
    if not recipients or not channels:
        return [Skipped(key, f"nobody to notify for '{action.to}'")]
    context = ctx.template_context()
    try:
        message = render(action.message or DEFAULT_MESSAGE, context)
    except TemplateInvalid as exc:
        message = render(DEFAULT_MESSAGE, context) + f" (message template failed: {exc})"
    subject = render("{{ rule.name }}: {{ sku.code }} @ {{ warehouse.code }}", context)
    return [NotificationDraft(f"{key}:{channel}", channel, tuple(recipients), subject, message,
                              role_id, action.digest)
            for channel in channels]
