"""A supplier's record on the supply side (issue #19): its lead time learned from receipts, its
on-time rate, its open delays, and whether buyers marked it unavailable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import NotFound
from engine.services import audit
from engine.storage.supply_store import OPEN_STATES, bump_catalog
from engine.storage.tables import lead_time_observations, requisitions, supplier_delays, suppliers
from engine.supply import (
    LEARNED,
    MASTER,
    MIN_OBSERVATIONS,
    WINDOW,
    Observation,
    on_time_rate,
    stats_of,
)

RECENT = 10


def supplier_record(conn: Connection, supplier_id: int, settings: Any = None) -> dict[str, Any]:
    """The learned lead time (mean, σ, receipts, and whether it replaces the master data's), the
    on-time rate, the latest receipts and the open delays of one supplier."""
    window = int(getattr(settings, "lead_time_window", None) or WINDOW)
    least = int(getattr(settings, "lead_time_min_observations", None) or MIN_OBSERVATIONS)
    o = lead_time_observations
    rows = conn.execute(select(o.c.ref, o.c.ordered_at, o.c.received_at, o.c.lead_time_days,
                               o.c.promised_days, o.c.on_time, o.c.sku_id)
                        .where(o.c.supplier_id == supplier_id)
                        .order_by(o.c.received_at.desc(), o.c.id.desc()).limit(window)).all()
    stats = stats_of([Observation(supplier_id, r.sku_id, r.lead_time_days, bool(r.on_time))
                      for r in rows])
    d = supplier_delays
    still_open = select(requisitions.c.id).where(
        requisitions.c.ref == d.c.ref, requisitions.c.supplier_id == d.c.supplier_id,
        requisitions.c.state.in_(OPEN_STATES)).exists()
    delays = [dict(r._mapping) for r in conn.execute(
        select(d.c.event_id, d.c.ref, d.c.eta, d.c.delay_days, d.c.lines, d.c.at)
        .where(d.c.supplier_id == supplier_id, still_open).order_by(d.c.at.desc()))]
    open_refs = {x["ref"] for x in delays if x["delay_days"] > 0}
    return {
        "observations": stats.n,
        "mean": stats.mean if stats.n else None,
        "std": stats.std if stats.n else None,
        "min_observations": least,
        "window": window,
        "source": LEARNED if stats.n >= least else MASTER,
        "on_time_rate": on_time_rate(stats if stats.n else None, len(open_refs)),
        "recent": [dict(r._mapping) for r in rows[:RECENT]],
        "open_delays": delays,
    }


def set_unavailable(conn: Connection, code: str, unavailable: bool, actor: str,
                    now: datetime) -> None:
    """Mark a supplier unavailable (requisitions with a ``fallback`` go there instead) or
    available again; audited, and every process reloads its snapshot."""
    done = conn.execute(update(suppliers).where(suppliers.c.code == code).values(
        unavailable=unavailable, updated_at=now))
    if done.rowcount != 1:
        raise NotFound("supplier", code)
    audit.record(conn, now, actor, "supplier.unavailable" if unavailable else "supplier.available",
                 code)
    bump_catalog(conn)
