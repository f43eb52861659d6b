"""What noise control costs a single-event ingest (issue #17): each applied batch reads the
mutes in force and the "until the stock changes" snoozes (two small queries). Printed as a
share of the whole POST /api/v1/events of one event, both measured in this run.

    .venv/bin/python bench/noise.py                    # SQLite, 500 events
    .venv/bin/python bench/noise.py --url postgresql+psycopg://…/db --events 2000  # EMPTY db

With ``--mutes N --snoozes M`` the database holds that many mutes and snoozes in force (their
queries read them all: a measure of how the cost grows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from engine.config import Settings  # noqa: E402
from engine.services import noise_control  # noqa: E402
from engine.storage.database import upgrade  # noqa: E402
from engine.storage.tables import alert_snoozes, alerts, rule_mutes, skus  # noqa: E402

RULES = """
ruleset: bench
roles: [{id: buyer, members: [root]}]
workflows:
  - {id: w, states: [open, done], transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    owner: buyer
    when: {"<": [{"var": "stock.available"}, 5]}
    actions: [{create_task: {title: "low {{ sku.code }}", workflow: w}}]
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="an EMPTY database (default: a new SQLite file)")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--mutes", type=int, default=0)
    parser.add_argument("--snoozes", type=int, default=0)
    args = parser.parse_args()
    from admin import create_app

    tmp = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, instance_path=tmp, secret_key="bench",
                              secure_cookies=False, periodic_work=False))
    svc = app.extensions["engine"]
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "create", "root", "--password", "root-password-1", "--admin"])
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    n_skus = max(200, args.snoozes)
    assert client.put("/api/v1/warehouses", json=[{"code": "WH", "name": "W"}],
                      headers=h).status_code == 200
    assert client.put("/api/v1/skus", headers=h, json=[
        {"code": f"S{i}", "name": f"s{i}"} for i in range(n_skus)]).status_code == 200
    assert client.put("/api/v1/ruleset", data=RULES, content_type="application/yaml",
                      headers=h).status_code == 200
    now = datetime.now(UTC)
    if args.snoozes:  # alerts on the last SKUs, each snoozed until its stock changes
        client.post("/api/v1/events", headers=h, json=[
            {"id": f"z{i}", "type": "count", "sku": f"S{n_skus - 1 - i}", "warehouse": "WH",
             "qty": 1, "at": now.isoformat()} for i in range(args.snoozes)])
        with svc.uow() as uow:
            ids = list(uow.conn.execute(select(alerts.c.id)).scalars())
            uow.conn.execute(insert(alert_snoozes), [
                {"alert_id": a, "until_stock_change": True, "reason": "bench", "created_by": "b",
                 "created_at": now} for a in ids])
            uow.commit()
    if args.mutes:
        with svc.uow() as uow:
            sku_ids = list(uow.conn.execute(select(skus.c.id).limit(args.mutes)).scalars())
            uow.conn.execute(insert(rule_mutes), [
                {"rule": "low", "sku_id": s, "reason": "bench", "created_by": "b",
                 "created_at": now, "until": now + timedelta(days=1)} for s in sku_ids])
            uow.commit()
    posts, noise = [], []
    for i in range(args.events):
        event = {"id": f"e{i}", "type": "sale", "sku": f"S{i % 100}", "warehouse": "WH",
                 "qty": 0, "at": (now + timedelta(seconds=i)).isoformat()}
        start = time.perf_counter()
        answer = client.post("/api/v1/events", json=event, headers=h)
        posts.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.json
        start = time.perf_counter()
        with svc.uow() as uow:  # what apply_events adds, in a transaction of its own
            noise_control.active_mutes(uow.conn, now)
            noise_control.end_on_stock_change(uow.conn, [(10**9, 10**9)], now)
            uow.rollback()
        noise.append(time.perf_counter() - start)
    post, extra = statistics.median(posts), statistics.median(noise)
    print(f"{svc.db.dialect.name}: {args.events} single-event POSTs, {args.mutes} mutes, "
          f"{args.snoozes} snoozes in force")
    print(f"  median POST /api/v1/events (1 event): {post * 1000:7.2f} ms")
    print(f"  median noise queries (own transaction): {extra * 1000:7.2f} ms")
    print(f"  ratio noise / POST: {extra / post:.3f} (an upper bound: inside the POST they "
          "share its transaction)")
    svc.close()


if __name__ == "__main__":
    main()
