"""Transfers and their history (issue #19): one writer, used by the event pipeline (those an
alert's ``suggest_transfer`` proposes) and by the transfer use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.actions.context import TransferDraft
from engine.errors import Conflict
from engine.pipeline.state import NewAlert
from engine.snapshot import Snapshot
from engine.storage import bulk
from engine.storage.tables import transfer_history, transfers
from engine.workflows.tasks import HistoryEntry
from engine.workflows.transfers import proposed

COLUMNS = ("alert_id", "action_key", "sku_id", "from_warehouse_id", "to_warehouse_id",
           "quantity", "state", "ship_role", "receive_role", "explanation", "created_by",
           "created_at", "updated_at")


def add_new(conn: Connection, drafts: Sequence[tuple[NewAlert, TransferDraft]], snap: Snapshot,
            now: datetime) -> list[int]:
    """The transfers new alerts proposed, requested, each with its first history entry."""
    if not drafts:
        return []
    made = bulk.insert_returning(conn, transfers, COLUMNS, [
        (a.id, d.action_key, a.pair.sku_id, snap.warehouse_ids[d.from_warehouse], a.pair.wh_id,
         d.quantity, "requested", d.ship_role, d.receive_role, dict(d.explanation), "system",
         now, now) for a, d in drafts], ("id", "alert_id", "action_key"))
    by_key = {(alert_id, key): i for i, alert_id, key in made}
    ids = [by_key[(a.id, d.action_key)] for a, d in drafts]
    write_history(conn, [(i, proposed(a.id, {}, now)) for i, (a, _) in zip(ids, drafts,
                                                                              strict=True)])
    return ids


def add_one(conn: Connection, values: dict[str, Any], entry: HistoryEntry) -> int:
    new_id = int(conn.execute(insert(transfers).returning(transfers.c.id), values).scalar_one())
    write_history(conn, [(new_id, entry)])
    return new_id


def write_history(conn: Connection, entries: Sequence[tuple[int, HistoryEntry]]) -> None:
    if entries:
        conn.execute(insert(transfer_history), [
            dict(transfer_id=i, at=e.at, actor=e.actor, transition=e.transition,
                 from_state=e.from_state, to_state=e.to_state, data=dict(e.data))
            for i, e in entries])


def save_moved(conn: Connection, row: Any, state: str, entry: HistoryEntry, now: datetime) -> None:
    """A step's new state under the optimistic ``version`` check, and its history entry."""
    done = conn.execute(update(transfers)
                        .where(transfers.c.id == row.id, transfers.c.version == row.version)
                        .values(state=state, updated_at=now, version=row.version + 1))
    if done.rowcount != 1:
        raise Conflict(f"transfer {row.id} was changed by someone else meanwhile; reload it")
    write_history(conn, [(row.id, entry)])


def history(conn: Connection, transfer_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(transfer_history)
                        .where(transfer_history.c.transfer_id == transfer_id)
                        .order_by(transfer_history.c.id))
    return [{"at": r.at.isoformat(), "actor": r.actor, "transition": r.transition,
             "from": r.from_state, "to": r.to_state, "data": r.data} for r in rows]
