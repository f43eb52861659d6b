"""ABC classes from revenue share (SPEC §5: A 80 %, B 15 %, C 5 %) for SKUs without a given class."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, bindparam, func, select, update

from engine.metrics import abc_classes
from engine.services import audit
from engine.storage.tables import audit_log, demand_days, ruleset_state, skus

EVERY = timedelta(days=1)


def due(conn: Connection, now: datetime) -> bool:
    """True when the classes were last computed a day ago or more (kept in the audit log, so a
    restarted worker does not recompute them)."""
    last = conn.execute(select(func.max(audit_log.c.at)).where(audit_log.c.action == "abc.recompute")).scalar()
    return last is None or now - last >= EVERY


def recompute(conn: Connection, today: date, days: int = 90, now: datetime | None = None) -> dict[str, int]:
    """Classify every SKU whose class was not given, from revenue over the last ``days`` days."""
    revenue_rows = conn.execute(
        select(skus.c.code, func.coalesce(func.sum(demand_days.c.qty), 0) * skus.c.unit_cost)
        .select_from(skus.outerjoin(demand_days, (demand_days.c.sku_id == skus.c.id)
                                    & (demand_days.c.day > today - timedelta(days=days))))
        .group_by(skus.c.id, skus.c.code, skus.c.unit_cost))
    classes = abc_classes({code: float(rev or 0) for code, rev in revenue_rows})
    rows = [{"k_code": code, "abc": cls} for code, cls in classes.items()]
    if rows:
        conn.execute(update(skus).where(skus.c.code == bindparam("k_code"), skus.c.abc_given.is_(False))
                     .values(abc_class=bindparam("abc")), rows)
        conn.execute(update(ruleset_state).where(ruleset_state.c.id == 1)
                     .values(catalog_revision=ruleset_state.c.catalog_revision + 1))
    counts = {c: sum(1 for v in classes.values() if v == c) for c in "ABC"}
    at = now or datetime.combine(today, time(), UTC)
    audit.record(conn, at, "system", "abc.recompute", f"{days} days", **counts)
    return counts
