"""The audit trail: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from engine.storage.tables import audit_log


def record(
    conn: Connection, at: datetime, actor: str, action: str, target: str = "", **detail: Any
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at, actor=actor, action=action, target=target, detail=detail or None
        )
    )


def entries(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
