"""The supply side in the database (issue #19): receipts observed as lead times, the suppliers'
learned statistics and open delays for the snapshot, and the open orders of a batch's pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, select, update

from engine.metrics import SupplierLink
from engine.storage import bulk
from engine.storage.tables import (
    alerts,
    lead_time_observations,
    requisitions,
    ruleset_state,
    supplier_delays,
    suppliers,
)
from engine.supply import (
    MIN_OBSERVATIONS,
    WINDOW,
    LeadTimeStats,
    Observation,
    OpenOrder,
    days_between,
    expected_arrival,
    learned,
    observe,
    with_learning,
)
from engine.workflows.requisitions import CLOSED, STATES

OPEN_STATES = tuple(s for s in STATES if s not in CLOSED)
OBSERVATION_COLUMNS = ("supplier_id", "sku_id", "warehouse_id", "requisition_id", "ref",
                       "event_id", "ordered_at", "received_at", "lead_time_days",
                       "promised_days", "on_time")


def bump_catalog(conn: Connection) -> None:
    """Every process reloads its snapshot: the suppliers' learned figures or delays changed."""
    conn.execute(update(ruleset_state).where(ruleset_state.c.id == 1)
                 .values(catalog_revision=ruleset_state.c.catalog_revision + 1))


def record_observations(conn: Connection, received: Sequence[tuple[int, str, datetime]]) -> int:
    """One observation per received requisition ``(id, receipt event id, receipt time)`` that
    was ordered from a supplier: its lead time from ``ordered_at``, and whether it came by the
    promised day (the supplier's master lead time). The number recorded; the snapshots learn
    them at the next ``publish_learning``."""
    if not received:
        return 0
    by_id = {req_id: (event_id, at) for req_id, event_id, at in received}
    rows = conn.execute(
        select(requisitions.c.id, requisitions.c.supplier_id, requisitions.c.sku_id,
               requisitions.c.warehouse_id, requisitions.c.ref, requisitions.c.ordered_at,
               suppliers.c.lead_time_days)
        .join(suppliers, suppliers.c.id == requisitions.c.supplier_id)
        .where(requisitions.c.id.in_(list(by_id)), requisitions.c.ordered_at.is_not(None))
    ).all()
    seen = {r[0] for r in conn.execute(select(lead_time_observations.c.requisition_id).where(
        lead_time_observations.c.requisition_id.in_([r.id for r in rows])))}
    values = []
    for r in rows:
        if r.id in seen:
            continue
        event_id, at = by_id[r.id]
        o = observe(r.supplier_id, r.sku_id, r.ordered_at, at, r.lead_time_days)
        values.append((r.supplier_id, r.sku_id, r.warehouse_id, r.id, r.ref, event_id,
                       r.ordered_at, at, o.lead_time_days, r.lead_time_days, o.on_time))
    bulk.insert_many(conn, lead_time_observations, OBSERVATION_COLUMNS, values)
    return len(values)


def publish_learning(conn: Connection) -> bool:
    """Refresh every process's snapshot when receipts were observed since the last time: the
    periodic sweep calls it, so a busy ingest reloads the snapshots at most once a pass, not
    once per batch with a linked receipt. True when it did."""
    latest = conn.execute(select(func.max(lead_time_observations.c.id))).scalar_one() or 0
    done = conn.execute(update(ruleset_state).where(
        ruleset_state.c.id == 1, ruleset_state.c.learned_through < latest).values(
        learned_through=latest, catalog_revision=ruleset_state.c.catalog_revision + 1))
    return bool(done.rowcount)


def _open_delay_query() -> Any:
    """Delays whose order still has an open requisition of the supplier."""
    still_open = exists().where(and_(
        requisitions.c.ref == supplier_delays.c.ref,
        requisitions.c.supplier_id == supplier_delays.c.supplier_id,
        requisitions.c.state.in_(OPEN_STATES)))
    return still_open


def load_learning(conn: Connection, window: int = WINDOW,
                  ) -> tuple[dict[int, LeadTimeStats], dict[tuple[int, int], LeadTimeStats],
                             dict[int, tuple[int, float]]]:
    """The rolling statistics per supplier and per supplier×SKU, and per supplier its open
    delayed orders: (how many, the largest delay in days)."""
    rows = conn.execute(select(lead_time_observations.c.supplier_id,
                               lead_time_observations.c.sku_id,
                               lead_time_observations.c.lead_time_days,
                               lead_time_observations.c.on_time)
                        .order_by(lead_time_observations.c.received_at,
                                  lead_time_observations.c.id))
    per_supplier, per_pair = learned(
        (Observation(s, k, lt, bool(ok)) for s, k, lt, ok in rows), window)
    delays: dict[int, tuple[int, float]] = {}
    latest = (select(supplier_delays.c.supplier_id, supplier_delays.c.ref,
                     func.max(supplier_delays.c.delay_days).label("days"))
              .where(_open_delay_query())
              .group_by(supplier_delays.c.supplier_id, supplier_delays.c.ref))
    for supplier_id, _ref, days in conn.execute(latest):
        if days is None or days <= 0:
            continue
        count, top = delays.get(supplier_id, (0, 0.0))
        delays[supplier_id] = (count + 1, max(top, float(days)))
    return per_supplier, per_pair, delays


def load_open_orders(conn: Connection, keys: Iterable[tuple[int, int]], default_lead_time: float,
                     ) -> dict[tuple[int, int], list[OpenOrder]]:
    """The open requisitions of ``keys`` with their expected arrival (the ETA a delay set, else
    ordered or raised + the supplier's lead time) and the delay announced on their order."""
    keys = sorted(set(keys))
    rows = bulk.select_by_pairs(
        conn, requisitions, ("sku_id", "warehouse_id", "id", "quantity", "supplier_id", "ref",
                             "eta", "ordered_at", "created_at", "alert_id"), keys,
        where=f"t.state IN ({', '.join(repr(s) for s in OPEN_STATES)})")
    if not rows:
        return {}
    sup_ids = {r[4] for r in rows if r[4] is not None}
    terms = {r.id: (r.code, r.lead_time_days) for r in conn.execute(
        select(suppliers.c.id, suppliers.c.code, suppliers.c.lead_time_days)
        .where(suppliers.c.id.in_(sup_ids)))} if sup_ids else {}
    # A requisition not yet ordered is expected a lead time after the event that raised it
    # (its alert's opening, in event time), not after the moment it was written.
    alert_ids = [r[9] for r in rows if r[9] is not None and r[7] is None]
    raised = dict(conn.execute(select(alerts.c.id, alerts.c.opened_at).where(
        alerts.c.id.in_(alert_ids))).all()) if alert_ids else {}
    out: dict[tuple[int, int], list[OpenOrder]] = {}
    for sku_id, wh_id, _id, qty, sup_id, ref, eta, ordered_at, created_at, alert_id in sorted(
            rows, key=lambda r: r[2]):
        created_at = raised.get(alert_id, created_at)
        code, lead = terms.get(sup_id, (None, default_lead_time))
        arrival = expected_arrival(ordered_at, created_at, lead, eta)
        delay = None
        if eta is not None:
            delay = days_between(expected_arrival(ordered_at, created_at, lead, None), eta)
        out.setdefault((sku_id, wh_id), []).append(OpenOrder(qty, arrival, code, delay, ref))
    return out


class SupplyLearning:
    """What the snapshot's supplier links learn (issue #19): each link's lead time from its
    receipts, its on-time rate, open delay and unavailability (``engine.supply.with_learning``)."""

    def __init__(self, per_supplier: dict[int, LeadTimeStats],
                 per_pair: dict[tuple[int, int], LeadTimeStats],
                 delays: dict[int, tuple[int, float]], unavailable: dict[int, bool],
                 min_observations: int) -> None:
        self.per_supplier, self.per_pair, self.delays = per_supplier, per_pair, delays
        self.unavailable, self.min_observations = unavailable, min_observations

    @classmethod
    def load(cls, conn: Connection, settings: Any, unavailable: dict[int, bool]) -> SupplyLearning:
        window = getattr(settings, "lead_time_window", None) or WINDOW
        least = getattr(settings, "lead_time_min_observations", None) or MIN_OBSERVATIONS
        per_supplier, per_pair, delays = load_learning(conn, int(window))
        return cls(per_supplier, per_pair, delays, unavailable, int(least))

    def link(self, link: SupplierLink, supplier_id: int, sku_id: int) -> SupplierLink:
        stats = self.per_supplier.get(supplier_id)
        delay = self.delays.get(supplier_id)
        off = self.unavailable.get(supplier_id, False)
        if stats is None and delay is None and not off:
            return link  # nothing learned: the master data's link as it is
        return with_learning(link, stats, self.per_pair.get((supplier_id, sku_id)),
                             self.min_observations, delay[0] if delay else 0,
                             delay[1] if delay else None, off)
