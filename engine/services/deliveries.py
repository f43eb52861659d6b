"""Delivering notifications through their channels: the outbox ``deliver`` handler and its books.

A notification row is the delivery record (RELIABILITY D3): it exists, under a unique dedupe
key, before anything is sent, and its id gives the stable ``delivery_id`` (``ntf-<id>``) that
receivers can deduplicate on. States: ``pending`` → ``sent``; a retryable failure → ``retrying``
(until ``MAX_ATTEMPTS``, then ``failed``); a permanent one → ``failed``; no plugin, no config or
nobody reachable → ``undeliverable``. ``retry`` puts failed and undeliverable ones back to
``pending``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from engine.channels import (
    Channel,
    DeliveryFailed,
    OutgoingMessage,
    address_kind,
    requires_address,
)
from engine.services import digests
from engine.storage.tables import notifications, users

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SENDABLE = ("pending", "retrying", "held")  # held: quiet hours over (issue #17)
RETRYABLE_STATES = ("failed", "undeliverable")
_WANTED = {"email": "email address", "phone": "phone number"}
# The address kinds a user's contacts answer (issue #18: chat ids for robots' @-mentions).
USER_COLUMNS = {"email": "email", "phone": "phone", "wecom_id": "wecom_id",
                "dingtalk_id": "dingtalk_id", "feishu_id": "feishu_id"}
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()\-.]{4,29}")


def deliver(
    conn: Connection,
    notification_id: int,
    channels: Mapping[str, Channel],
    config: Mapping[str, dict[str, Any]],
    now: datetime,
    policy: digests.Policy | None = None,
) -> list[tuple[int, str]]:
    """Send one notification inside the caller's transaction; returns no follow-up outbox rows.

    ``policy`` (the active ruleset's roles): a snoozed alert's notice, one in its role's quiet
    hours or past its rate limit is not sent now (``digests.hold_or_fold`` says where it went).

    A retryable failure is raised as ``DeliveryFailed`` (this transaction then rolls back and the
    caller records it with ``mark_failed`` in its own); every other outcome is written here.
    """
    note = _locked(conn, notification_id)
    if note is None or note.state not in SENDABLE:
        return []
    if digests.hold_or_fold(conn, note, policy, now):
        return []
    channel = channels.get(note.channel)
    if channel is None:
        _finish(
            conn, note, "undeliverable", f"no channel plugin named '{note.channel}' is installed"
        )
        return []
    settings = config.get(note.channel) or config.get(channel.name)
    if settings is None:
        _finish(conn, note, "undeliverable", f"channel '{note.channel}' is not configured")
        return []
    kind = address_kind(channel)
    addresses, missing = resolve_recipients(conn, kind, [str(r) for r in note.recipients or []])
    wanted = _WANTED.get(kind, kind)
    missing_note = f"no {wanted} for: {', '.join(missing)}" if missing else None
    if requires_address(channel) and not addresses:
        _finish(conn, note, "undeliverable", missing_note or f"no recipient has a usable {wanted}")
        return []
    message = OutgoingMessage(
        f"ntf-{note.id}", note.channel, tuple(addresses), note.subject, note.message, note.alert_id
    )
    try:
        channel.send(message, settings)
    except DeliveryFailed as exc:
        if exc.retryable:
            raise
        _finish(conn, note, "failed", exc.reason)
        return []
    except Exception as exc:  # a plugin bug: keep it visible and let the job be retried
        log.exception("channel %r raised while sending notification %s", note.channel, note.id)
        raise DeliveryFailed(
            f"channel '{note.channel}' crashed: {type(exc).__name__}: {exc}", True
        ) from exc
    conn.execute(
        update(notifications)
        .where(notifications.c.id == note.id)
        .values(state="sent", sent_at=now, attempts=note.attempts + 1, last_error=missing_note)
    )
    return []


def mark_failed(
    conn: Connection,
    notification_id: int,
    error: str,
    retryable: bool,
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> str | None:
    """Record a failed attempt (called by the job runner in its own transaction after ``deliver``
    raised); returns the new state: ``retrying``, or ``failed`` once attempts reach the limit."""
    note = _locked(conn, notification_id)
    if note is None or note.state == "sent":
        return None
    attempts = note.attempts + 1
    state = "retrying" if retryable and attempts < max_attempts else "failed"
    conn.execute(
        update(notifications)
        .where(notifications.c.id == note.id)
        .values(state=state, attempts=attempts, last_error=error[:2000])
    )
    return state


def retry(conn: Connection, notification_ids: Iterable[int] | None, now: datetime) -> list[int]:
    """Put failed and undeliverable notifications (all, or those listed) back to ``pending``,
    with a fresh attempt budget; returns their ids, for which the caller adds outbox rows."""
    query = select(notifications.c.id).where(notifications.c.state.in_(RETRYABLE_STATES))
    if notification_ids is not None:
        query = query.where(notifications.c.id.in_(list(notification_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    ids = list(conn.execute(query.order_by(notifications.c.id)).scalars())
    if ids:
        conn.execute(
            update(notifications)
            .where(notifications.c.id.in_(ids), notifications.c.state.in_(RETRYABLE_STATES))
            .values(state="pending", attempts=0)
        )
    return ids


def list_notifications(
    conn: Connection, state: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    query = select(notifications).order_by(notifications.c.id.desc())
    if state:
        query = query.where(notifications.c.state == state)
    query = query.limit(max(1, min(int(limit), 500))).offset(max(0, int(offset)))
    return [dict(row._mapping) for row in conn.execute(query)]


def resolve_recipients(
    conn: Connection, kind: str, recipients: list[str]
) -> tuple[list[str], list[str]]:
    """Turn usernames into the ``kind`` of address a channel wants (``users.email``/``phone``).

    A recipient that is not a username is a supplier's contact value and is kept when it is of
    the right kind. Returns the addresses and the recipients that have none (users without an
    address, inactive or unknown names), not counting contact values of another kind.
    """
    if kind not in USER_COLUMNS:
        return list(dict.fromkeys(recipients)), []
    column = users.c[USER_COLUMNS[kind]]
    known = (
        {
            row.username: row
            for row in conn.execute(
                select(users.c.username, users.c.active, column.label("address")).where(
                    users.c.username.in_(recipients)
                )
            )
        }
        if recipients
        else {}
    )
    addresses: list[str] = []
    missing: list[str] = []
    for recipient in recipients:
        user = known.get(recipient)
        if user is not None and user.active and user.address:
            addresses.append(user.address)
        elif user is not None:
            missing.append(recipient)
        elif _is_contact(recipient, kind):
            addresses.append(recipient)
        elif not _is_contact(recipient, None):
            missing.append(recipient)
    return list(dict.fromkeys(addresses)), missing


def _is_contact(value: str, kind: str | None) -> bool:
    is_email = "@" in value
    is_phone = _PHONE_LIKE.fullmatch(value) is not None
    if kind == "email":
        return is_email
    if kind == "phone":
        return is_phone
    return is_email or is_phone or "://" in value


def _locked(conn: Connection, notification_id: int) -> Row[Any] | None:
    query = select(notifications).where(notifications.c.id == notification_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def _finish(conn: Connection, note: Row[Any], state: str, reason: str) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.id == note.id)
        .values(state=state, attempts=note.attempts + 1, last_error=reason[:2000])
    )
