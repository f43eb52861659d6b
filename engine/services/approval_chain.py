"""Approval in several levels by amount (issue #18): each level's role approves in turn.

A requisition's chain is read from the rule that raised it (the ``approval`` thresholds of its
``create_requisition`` action, in the rule version of its alert): every threshold its amount is
above is a level, from the lowest (``engine.metrics.approval_chain``). ``approval_role`` is the
role of the level that approves next and ``approval_level`` counts the approvals given. An
approve that leaves levels to go keeps the requisition waiting for the next role; the last one
approves it. Requisitions raised before chains (one role) stay one level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import NotFound
from engine.metrics import approval_chain
from engine.rules import load_ruleset
from engine.rules.compiled import ApprovalThreshold, CompiledRuleset, CreateRequisition
from engine.services.rulesets import RulesetCache, version_text
from engine.storage.tables import alerts, requisition_history, requisitions


def thresholds_of(conn: Connection, row: Any,
                  rulesets: RulesetCache | None = None) -> tuple[ApprovalThreshold, ...]:
    """The approval thresholds of the action that raised requisition ``row`` (none if unknown)."""
    if row.alert_id is None:
        return ()
    alert = conn.execute(select(alerts.c.rule, alerts.c.rule_version)
                         .where(alerts.c.id == row.alert_id)).first()
    if alert is None:
        return ()
    compiled = _compiled(conn, alert.rule_version, rulesets)
    rule = compiled.rule(alert.rule) if compiled else None
    kind, _sep, index = str(row.action_key).partition(":")
    if rule is None or kind != "create_requisition" or not index.isdigit():
        return ()
    actions = rule.actions
    action = actions[int(index)] if int(index) < len(actions) else None
    return action.approval if isinstance(action, CreateRequisition) else ()


def _compiled(conn: Connection, number: int,
              rulesets: RulesetCache | None) -> CompiledRuleset | None:
    try:
        if rulesets is not None:
            return rulesets.get(conn, number)
        text, fmt = version_text(conn, number)
        return load_ruleset(text, fmt)
    except NotFound:
        return None


def chain_of(conn: Connection, row: Any, amount: float | None = None,
             rulesets: RulesetCache | None = None) -> tuple[str, ...]:
    """The roles that approve ``row`` in turn, for its amount (or ``amount``).

    Without thresholds to read (a rule gone, a requisition raised by hand) the chain is the
    requisition's own approval role, as before chains.
    """
    thresholds = thresholds_of(conn, row, rulesets)
    if not thresholds:
        return (row.approval_role,) if row.approval_role else ()
    return approval_chain(row.amount if amount is None else amount, thresholds)


def advance(conn: Connection, req_id: int, now: datetime,
            rulesets: RulesetCache | None = None) -> str | None:
    """After an ``approve`` was written: when levels remain, the requisition waits again, for
    the next level's role; returns that role (None: fully approved)."""
    row = conn.execute(select(requisitions).where(requisitions.c.id == req_id)).first()
    if row is None or row.state != "approved":
        return None
    chain = chain_of(conn, row, rulesets=rulesets)
    level = row.approval_level + 1
    # the role that just approved is still the row's approval role
    approved_by = row.approval_role
    position = chain.index(approved_by) + 1 if approved_by in chain else len(chain)
    following = chain[position] if position < len(chain) else None
    if following is None:
        conn.execute(update(requisitions).where(requisitions.c.id == req_id)
                     .values(approval_level=level))
        _note(conn, req_id, {"level": level, "of": max(len(chain), level)}, None)
        return None
    conn.execute(update(requisitions).where(requisitions.c.id == req_id).values(
        state="pending_approval", approval_role=following, approval_level=level,
        version=requisitions.c.version + 1, updated_at=now))
    _note(conn, req_id, {"level": level, "of": len(chain), "next": following},
          "pending_approval")
    return following


def _note(conn: Connection, req_id: int, data: dict[str, Any], to_state: str | None) -> None:
    """Write the level into the history line of the approve just taken."""
    last = conn.execute(
        select(requisition_history.c.id, requisition_history.c.data)
        .where(requisition_history.c.requisition_id == req_id,
               requisition_history.c.transition == "approve")
        .order_by(requisition_history.c.id.desc()).limit(1)).first()
    if last is None:
        return
    values: dict[str, Any] = {"data": {**(last.data or {}), **data}}
    if to_state:
        values["to_state"] = to_state
    conn.execute(update(requisition_history).where(requisition_history.c.id == last.id)
                 .values(**values))
