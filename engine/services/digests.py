"""Digests, rate limits and quiet hours at delivery (issue #17 item 4), in the caller's
transaction. The decisions are ``engine.noise``'s; this module reads what they need and keeps
the notification rows' states:

- ``snoozed``: the alert is snoozed; the notice goes out when the snooze ends;
- ``held``: the role's quiet hours; an outbox row due at their end sends it then;
- ``queued``: waiting for the role's daily digest on its channel — a rule's ``digest: daily``
  notice, or one the rate limit folded (``digest = 'folded'``); nothing is dropped;
- ``digested``: listed in a digest, and listed again as "still open" while its alert is open;
  ``digest_done`` once its alert is resolved.

The digest goes once per role, channel and local day (its dedupe key), from ``DIGEST_AT`` in
the settings' time zone, at the first periodic sweep after it (the worker's with Redis, the web
process's without).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update

from engine.noise import (
    FOLD,
    HOLD,
    RATE_WINDOW,
    DigestItem,
    QuietHours,
    compose_digest,
    digest_day,
    gate,
)
from engine.rules.compiled import CompiledRuleset, Role
from engine.services.noise_control import FollowUps, snoozed
from engine.storage.tables import OPEN_ALERT_STATES, alerts, notifications, outbox, skus, warehouses

WAITING = ("queued", "digested")


@dataclass(frozen=True)
class Policy:
    """What delivery needs of the active ruleset: the roles and the time zone."""

    roles: Mapping[str, Role]
    tz: tzinfo

    @classmethod
    def of(cls, compiled: CompiledRuleset | None) -> Policy | None:
        if compiled is None:
            return None
        return cls(compiled.roles, ZoneInfo(compiled.settings.timezone))


def hold_or_fold(conn: Connection, note: Any, policy: Policy | None, now: datetime) -> bool:
    """True when ``note`` must not go now; its new state is written here (snoozed, held with
    an outbox row due when the quiet hours end, or queued for the digest)."""
    if note.alert_id is not None and note.digest != "digest" and conn.execute(
            select(snoozed(alerts.c.id, now)).where(alerts.c.id == note.alert_id)).scalar():
        _set(conn, note.id, state="snoozed", last_error="the alert is snoozed")
        return True
    role = policy.roles.get(note.role) if policy is not None and note.role else None
    if role is None:
        return False
    assert policy is not None
    limit = role.limit_for(note.channel)
    sent = _sent_last_hour(conn, note.role, note.channel, now) if limit is not None else 0
    decision = gate(now=now, tz=policy.tz,
                    quiet=QuietHours.parse(role.quiet_hours) if role.quiet_hours else None,
                    rate_limit=limit, sent_last_hour=sent, is_digest=note.digest == "digest")
    if decision.decision == HOLD:
        assert decision.until is not None
        _set(conn, note.id, state="held", held_until=decision.until, last_error=decision.reason)
        conn.execute(insert(outbox).values(kind="deliver", payload={"notification": note.id},
                                           status="pending", available_at=decision.until,
                                           created_at=now))
        return True
    if decision.decision == FOLD:
        _set(conn, note.id, state="queued", digest=note.digest or "folded",
             last_error=decision.reason)
        return True
    return False


def _set(conn: Connection, note_id: int, **values: Any) -> None:
    conn.execute(update(notifications).where(notifications.c.id == note_id).values(**values))


def _sent_last_hour(conn: Connection, role: str, channel: str, now: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(notifications).where(
        notifications.c.role == role, notifications.c.channel == channel,
        notifications.c.state == "sent", notifications.c.sent_at > now - RATE_WINDOW)).scalar_one())


def run(conn: Connection, compiled: CompiledRuleset | None, now: datetime,
        deliverable: frozenset[str] | None = None) -> FollowUps:
    """Write today's digest of every role and channel that has something waiting, once per
    day (from ``DIGEST_AT`` local time); the outbox rows to dispatch after commit."""
    if compiled is None:
        return []
    day = digest_day(now, ZoneInfo(compiled.settings.timezone))
    if day is None:
        return []
    pairs = conn.execute(select(notifications.c.role, notifications.c.channel).distinct()
                         .where(notifications.c.state.in_(WAITING),
                                notifications.c.role.is_not(None))).all()
    follow: FollowUps = []
    for role, channel in pairs:
        follow += _one(conn, compiled, role, channel, day, now, deliverable)
    return follow


def _one(conn: Connection, compiled: CompiledRuleset, role: str, channel: str, day: date,
         now: datetime, deliverable: frozenset[str] | None) -> FollowUps:
    key = f"digest:{role}:{channel}:{day.isoformat()}"
    if conn.execute(select(notifications.c.id).where(notifications.c.dedupe_key == key)).first():
        return []
    mine = (notifications.c.role == role, notifications.c.channel == channel)
    # the alerts resolved since they were listed leave the digest for good
    conn.execute(update(notifications).where(
        *mine, notifications.c.state.in_(WAITING),
        notifications.c.alert_id.in_(select(alerts.c.id).where(
            alerts.c.state.not_in(OPEN_ALERT_STATES)))).values(state="digest_done"))
    rows = conn.execute(
        select(notifications.c.id, notifications.c.state, notifications.c.digest,
               notifications.c.recipients, alerts.c.id.label("alert_id"), alerts.c.rule,
               alerts.c.severity, alerts.c.opened_at, skus.c.code.label("sku"),
               warehouses.c.code.label("warehouse"))
        .join(alerts, alerts.c.id == notifications.c.alert_id)
        .join(skus, skus.c.id == alerts.c.sku_id)
        .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
        .where(*mine, notifications.c.state.in_(WAITING), ~snoozed(alerts.c.id, now))
        .order_by(alerts.c.opened_at, notifications.c.id)).all()
    new: dict[int, DigestItem] = {}
    still: dict[int, DigestItem] = {}
    for r in rows:
        item = DigestItem(r.alert_id, r.rule, r.sku, r.warehouse, r.severity, r.opened_at,
                          folded=r.digest == "folded")
        (new if r.state == "queued" else still).setdefault(r.alert_id, item)
    for alert_id in new:
        still.pop(alert_id, None)
    if not new and not still:
        return []
    found = compiled.roles.get(role)
    recipients = list(found.members) if found is not None else sorted(
        {str(x) for r in rows for x in (r.recipients or [])})
    subject, message = compose_digest(role, channel, day, list(new.values()), list(still.values()))
    ok = deliverable is None or channel in deliverable
    note_id = conn.execute(insert(notifications).returning(notifications.c.id).values(
        dedupe_key=key, channel=channel, recipients=recipients, subject=subject, message=message,
        state="pending" if ok else "undeliverable",
        last_error=None if ok else f"channel '{channel}' is not configured",
        role=role, digest="digest", created_at=now)).scalar_one()
    queued = [r.id for r in rows if r.state == "queued"]
    if queued:
        conn.execute(update(notifications).where(notifications.c.id.in_(queued))
                     .values(state="digested"))
    if not ok:
        return []
    row_id = conn.execute(insert(outbox).returning(outbox.c.id).values(
        kind="deliver", payload={"notification": note_id}, status="pending", available_at=now,
        created_at=now)).scalar_one()
    return [(row_id, "deliver")]
