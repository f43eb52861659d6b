"""Rules that failed at run time: counted per rule and ruleset version, and told to admins.

A rule whose condition fails on an event (its budget exceeded, a division by zero) is skipped
for that event; every other rule and SKU carries on (issue #13). The failures of a batch are
kept here and written with it: one row per rule and ruleset version counts them and names the
last event, SKU and warehouse, and the first failure of a rule in a version leaves one
notification to the admins (its dedupe key makes it once, whichever worker sees it first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from engine.pipeline.failures import BUDGET, ERROR, Failure, RuleFailures, kind_of
from engine.storage.tables import notifications, outbox, rule_failures, skus, users, warehouses
from engine.storage.upsert import insert_for

ADMIN_CHANNEL = "email"


class RuleFailureWriter:
    """Writes the failures a batch noted (``engine.pipeline.failures.RuleFailures``)."""

    def __init__(self, seen: dict[str, Failure]) -> None:
        self.seen = seen

    def write(self, conn: Connection, version: int, now: datetime,
              deliverable: frozenset[str] | None) -> list[tuple[int, str]]:
        """Count them in ``rule_failures``; notify the admins of each rule's first failure in
        this version. Returns the outbox rows to hand to the jobs port."""
        if not self.seen:
            return []
        table = rule_failures
        for rule_id in sorted(self.seen):  # in key order: two writers lock rows alike
            f = self.seen[rule_id]
            stmt = insert_for(conn, table).values(
                rule=rule_id, rule_version=version, kind=f.kind, message=f.message[:2000],
                count=f.count, first_at=f.first_at, last_at=f.last_at, last_sku_id=f.sku_id,
                last_warehouse_id=f.warehouse_id, last_event_id=f.event_id)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["rule", "rule_version"],
                set_={"count": table.c.count + stmt.excluded.count, "kind": stmt.excluded.kind,
                      "message": stmt.excluded.message, "last_at": stmt.excluded.last_at,
                      "last_sku_id": stmt.excluded.last_sku_id,
                      "last_warehouse_id": stmt.excluded.last_warehouse_id,
                      "last_event_id": stmt.excluded.last_event_id}))
        return self._notify(conn, version, now, deliverable)

    def _notify(self, conn: Connection, version: int, now: datetime,
                deliverable: frozenset[str] | None) -> list[tuple[int, str]]:
        admins = sorted(conn.execute(select(users.c.username).where(
            users.c.is_admin.is_(True), users.c.active.is_(True))).scalars())
        if not admins:
            return []
        ok = deliverable is None or ADMIN_CHANNEL in deliverable
        rows = [dict(dedupe_key=f"rule-failure:{version}:{rule_id}", channel=ADMIN_CHANNEL,
                     recipients=admins, subject=_subject(rule_id, f, version),
                     message=_message(rule_id, f, version),
                     state="pending" if ok else "undeliverable",
                     last_error=None if ok else f"channel '{ADMIN_CHANNEL}' is not configured",
                     created_at=now)
                for rule_id, f in sorted(self.seen.items())]
        stmt = (insert_for(conn, notifications).on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(notifications.c.id, notifications.c.state))
        made = [row.id for row in conn.execute(stmt, rows).all() if row.state == "pending"]
        if not made:
            return []
        ids = conn.execute(insert(outbox).returning(outbox.c.id), [
            dict(kind="deliver", payload={"notification": n}, status="pending", available_at=now,
                 created_at=now) for n in made]).scalars().all()
        return [(row_id, "deliver") for row_id in ids]


def _subject(rule_id: str, f: Failure, version: int) -> str:
    what = "exceeded its budget" if f.kind == BUDGET else "failed"
    return f"Rule '{rule_id}' {what} and was skipped (ruleset version {version})"


def _message(rule_id: str, f: Failure, version: int) -> str:
    return (f"The rule '{rule_id}' of ruleset version {version} could not be evaluated on event "
            f"'{f.event_id}': {f.message}. It is skipped for each event it fails on; every other "
            "rule goes on. Fix its condition in the rule editor (the Rules page lists the "
            "failures).")


@dataclass(frozen=True)
class FailureView:
    """What the Rules page shows of a rule's failures in the active version."""

    rule: str
    kind: str
    message: str
    count: int
    first_at: datetime
    last_at: datetime
    sku: str | None
    warehouse: str | None
    event_id: str | None


def failures_of(conn: Connection, version: int | None) -> dict[str, FailureView]:
    """The failures of each rule in ``version``, by rule id."""
    if version is None:
        return {}
    t = rule_failures
    rows = conn.execute(
        select(t.c.rule, t.c.kind, t.c.message, t.c.count.label("times"), t.c.first_at, t.c.last_at, skus.c.code,
               warehouses.c.code.label("warehouse"), t.c.last_event_id)
        .select_from(t.outerjoin(skus, skus.c.id == t.c.last_sku_id)
                     .outerjoin(warehouses, warehouses.c.id == t.c.last_warehouse_id))
        .where(t.c.rule_version == version))
    return {r.rule: FailureView(r.rule, r.kind, r.message, int(r.times), r.first_at, r.last_at,
                                r.code, r.warehouse, r.last_event_id) for r in rows}


def as_dict(view: FailureView) -> dict[str, Any]:
    return {"rule": view.rule, "kind": view.kind, "message": view.message, "count": view.count,
            "first_at": view.first_at.isoformat(), "last_at": view.last_at.isoformat(),
            "sku": view.sku, "warehouse": view.warehouse, "event": view.event_id}


def write(conn: Connection, failures: RuleFailures, version: int, now: datetime,
          deliverable: frozenset[str] | None) -> list[tuple[int, str]]:
    """Count a batch's failures in ``rule_failures`` and notify the admins of each rule's first
    failure in ``version``; the outbox rows to hand to the jobs port."""
    return RuleFailureWriter(failures.seen).write(conn, version, now, deliverable)


__all__ = ["BUDGET", "ERROR", "Failure", "RuleFailures", "kind_of", "write"]
