"""The audit trail: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select

from engine.storage.tables import audit_log


def record(
    conn: Connection, at: datetime, actor: str, action: str, target: str = "", **detail: Any
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at, actor=actor, action=action, target=target, detail=detail or None
        )
    )


def entries(conn: Connection, limit: int = 100, offset: int = 0, actor: str | None = None,
            area: str | None = None) -> list[dict[str, Any]]:
    """Newest first; ``area`` is the part of the action before the dot (``ruleset``, ``user``,
    ``token``, ``skus``, ``import``…)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    for condition in _filters(actor, area):
        query = query.where(condition)
    return [dict(r._mapping) for r in conn.execute(query)]


def count(conn: Connection, actor: str | None = None, area: str | None = None) -> int:
    query = select(func.count()).select_from(audit_log)
    for condition in _filters(actor, area):
        query = query.where(condition)
    return int(conn.execute(query).scalar_one())


def areas(conn: Connection) -> list[str]:
    """The areas present in the trail, for a filter's choices."""
    actions = conn.execute(select(audit_log.c.action).distinct()).scalars()
    return sorted({a.split(".", 1)[0] for a in actions})


def _filters(actor: str | None, area: str | None) -> list[Any]:
    out = []
    if actor:
        out.append(audit_log.c.actor == actor)
    if area:
        out.append(or_(audit_log.c.action == area, audit_log.c.action.like(f"{area}.%")))
    return out
