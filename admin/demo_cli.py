"""``flask --app wsgi demo``: a ready-to-explore database (users, catalogue, ruleset, history)."""

from __future__ import annotations

import contextlib
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from engine.bootstrap import Services
from engine.config import PROJECT_ROOT
from engine.demo import build_catalog, build_history, demo_end, transfer_scenario
from engine.errors import Conflict
from engine.services import abc, accounts, catalog, demo_supply, demo_work, rulesets
from engine.services import events as event_service
from engine.services.runner import run_daily_jobs
from engine.storage import database, supply_store

DEMO_USERS = [
    # (username, password, admin) — demo only; the README says to change them.
    ("admin", "admin-demo-1", True),
    ("alice", "alice-demo-1", False),
    ("bob", "bob-demo-1", False),
    ("carol", "carol-demo-1", False),
    ("dave", "dave-demo-1", False),
]


@click.command("demo")
@with_appcontext
@click.option("--skus", default=240, show_default=True)
@click.option("--ruleset", "ruleset_file", default=str(PROJECT_ROOT / "configs" / "demo-ruleset.yaml"),
              show_default=True)
def demo(skus: int, ruleset_file: str) -> None:
    """Create the schema if needed and load the demo users, catalogue and ruleset."""
    svc: Services = current_app.extensions["engine"]
    database.upgrade(svc.settings.database_url)
    now = svc.clock.now()
    data = build_catalog(skus)
    with svc.uow() as uow:
        for name, password, admin in DEMO_USERS:
            with contextlib.suppress(Conflict):  # the demo can be loaded again
                accounts.create_user(uow.conn, name, now, password=password, is_admin=admin,
                                     actor="demo")
        for kind in ("warehouses", "suppliers", "skus"):
            catalog.put_rows(uow.conn, kind, data[kind], "demo", now)
        text = Path(ruleset_file).read_text(encoding="utf-8")
        active = svc.rulesets.active(uow.conn)
        current = rulesets.version_text(uow.conn, active.version)[0] if active else None
        if current != text:
            rulesets.put(uow.conn, text, "yaml", "demo", now, comment="demo ruleset",
                         evaluate=False)  # before any stock: nothing to evaluate
        uow.commit()
    end = demo_end(now)
    history = build_history(data["skus"], end)
    cutoff = (end - timedelta(days=30)).isoformat()
    first = [e for e in history if e["at"] < cutoff]
    counts = _ingest(svc, first)
    with svc.uow() as uow:  # classes from the first 60 days' revenue, as a nightly job would
        classes = abc.recompute(uow.conn, end - timedelta(days=30))
        uow.commit()
    later = _ingest(svc, [e for e in history if e["at"] >= cutoff])
    counts = {k: counts[k] + later[k] for k in counts}
    nightly = run_daily_jobs(svc, svc.clock.now(), force=True)  # forecasts, then daily rules
    with svc.uow() as uow:  # colleagues worked the history: close what has resolved
        active = svc.rulesets.active(uow.conn)
        worked = demo_work.work_resolved(uow.conn, active.compiled, svc.clock.now()) if active else {}
        uow.commit()
    supply = _supply_story(svc)
    # a transfer before buying, then a smaller requisition (issue #19): last, weighed on the
    # reorder points of the nightly forecasts and the lead times just learned
    scenario = _ingest(svc, _transfer_events(svc))
    counts = {k: counts[k] + scenario[k] for k in counts}
    click.echo(f"demo loaded: {len(data['warehouses'])} warehouses, {len(data['suppliers'])} "
               f"suppliers, {len(data['skus'])} SKUs (ABC {classes}), ruleset {Path(ruleset_file).name}")
    click.echo(f"history: {counts['accepted']} events accepted, {counts['duplicate']} already there, "
               f"{counts['rejected']} rejected")
    click.echo(f"worked in the history: {worked.get('tasks', 0)} tasks closed, "
               f"{worked.get('requisitions', 0)} requisitions ordered and received")
    fitted = nightly.get("forecasts") or {}
    report = nightly.get("daily")
    click.echo("nightly jobs: forecasts " + (", ".join(f"{m} {n}" for m, n in sorted(fitted.items()))
                                             or "none") +
               (f"; daily rules opened {report.opened} alert(s)" if report is not None else ""))
    click.echo(supply)
    click.echo(f"now open: {_open_work(svc)}")
    click.echo("sign in as: " + ", ".join(f"{u} / {p}" for u, p, _ in DEMO_USERS))


def _transfer_events(svc: Services) -> list[dict[str, object]]:
    """The events of ``transfer_scenario`` for the first A-class SKU that WH-SH holds above its
    reorder point with no alert of ``a-below-rop`` there in the last day, and another warehouse
    of which a stock just over 45 days of cover gives only part of WH-SH's need once a sale
    leaves WH-SH 6 days of cover (below its reorder point, not critical); else none."""
    from sqlalchemy import select

    from engine.actions.context import SourceStock
    from engine.actions.suggest_transfer import giveable
    from engine.services.pair_now import facts_now
    from engine.storage.tables import alerts

    now = svc.clock.now()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        ids = {code: snap.warehouse_ids.get(code) for code in ("WH-SH", "WH-GZ", "WH-BJ")}
        sh = ids.pop("WH-SH")
        if sh is None or None in ids.values():
            return []
        recent = {row.sku_id for row in uow.conn.execute(
            select(alerts.c.sku_id).where(alerts.c.rule == "a-below-rop",
                                          alerts.c.warehouse_id == sh,
                                          alerts.c.last_hit_at >= now - timedelta(days=1)))}
        for sku_id, sku in sorted(snap.sku_facts.items(), key=lambda kv: kv[1]["code"]):
            if sku.get("abc_class") != "A" or sku_id in recent:
                continue
            here = facts_now(uow.conn, snap, sku_id, sh, now)
            if here is None or here["stock"]["on_order"] != 0:
                continue
            m, available = here["metrics"], here["stock"]["available"]
            left = math.ceil(6 * m["avg_daily_demand"])
            if not 0 < left < m["reorder_point"] - 1 or available <= m["reorder_point"] + 1:
                continue
            for code, wid in ids.items():
                there = facts_now(uow.conn, snap, sku_id, wid, now)
                if there is None:
                    continue
                rop = there["metrics"]["reorder_point"]
                found = float(max(math.floor(there["metrics"]["avg_daily_demand"] * 45) + 1,
                                  math.ceil(rop) + 2))
                gives = giveable(SourceStock(code, None, found, rop, 0.0, 0.0))
                need = m["max_stock"] - left
                if 0 < gives < need - 1 and _ordered(here, need - gives) < _ordered(here, need):
                    return transfer_scenario(sku["code"], code, found, available - left,
                                             (now - timedelta(minutes=1)).isoformat())
    return []


def _ordered(facts: dict[str, Any], asked: float) -> float:
    """What a requisition asking ``asked`` orders from the SKU's preferred supplier (MOQ and
    pack rounding): the demo's transfer is chosen so that the order it leaves is smaller."""
    link = facts.get("supplier") or {}
    pack = float(link.get("pack_size") or 1) or 1.0
    return max(float(link.get("moq") or 0), math.ceil(asked / pack) * pack)


def _ingest(svc: Services, events: list[dict[str, object]], batch: int = 5000) -> dict[str, int]:
    """Record and apply the history here, even with a queue (``REDIS_URL``): the ABC classes and
    the worked history that follow need it applied, and the demo should not wait for workers.
    With a queue, the notifications it raises wait in the outbox for the workers' relay."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    jobs = svc.jobs if svc.jobs.inline else None  # None: apply here, queue nothing
    for i in range(0, len(events), batch):
        with svc.uow() as uow:
            results, _ = event_service.handle(uow, svc.cache, events[i:i + batch], svc.clock.now(),
                                              source="demo", jobs=jobs,
                                              deliverable=svc.deliverable_channels())
        for r in results:
            counts[r.status] += 1
    return counts


def _supply_story(svc: Services) -> str:
    """One supplier's order: three lines received (its lead time learned), one delayed (a
    failover requisition follows); see engine/services/demo_supply.py."""
    now = svc.clock.now()
    with svc.uow() as uow:
        story = demo_supply.prepare(uow.conn, now)
        uow.commit()
    if story is None:
        return "supply story: no supplier with four approved requisitions (skipped)"
    evs = demo_supply.events(story, now)
    received = _ingest(svc, evs[:-1])
    with svc.uow() as uow:  # what the periodic pass does: the snapshot learns the receipts
        supply_store.publish_learning(uow.conn)
        uow.commit()
    delayed = _ingest(svc, evs[-1:])
    return (f"supply story: {story['supplier']} order {story['ref']} (purchase order "
            f"{story['po']}): {received['accepted']} lines received, lead time learned; "
            f"{delayed['accepted']} delayed by the supplier")


def _open_work(svc: Services) -> str:
    from sqlalchemy import func, select

    from engine.storage.tables import alerts, requisitions, tasks, transfers

    with svc.db.connect() as conn:
        n_alerts = conn.execute(select(func.count()).select_from(alerts)
                                .where(alerts.c.state != "resolved")).scalar_one()
        n_tasks = conn.execute(select(func.count()).select_from(tasks)
                               .where(tasks.c.closed.is_(False))).scalar_one()
        n_reqs = conn.execute(select(func.count()).select_from(requisitions)
                              .where(requisitions.c.state.in_(("pending_approval", "approved")))).scalar_one()
        n_transfers = conn.execute(
            select(func.count()).select_from(transfers)
            .where(transfers.c.state.in_(("requested", "shipped")))).scalar_one()
    return (f"{n_alerts} alerts, {n_tasks} tasks, {n_reqs} requisitions to approve or order, "
            f"{n_transfers} transfers to ship or receive")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
