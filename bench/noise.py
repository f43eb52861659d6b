"""What noise control costs a single-event ingest (issue #17). A batch that opens no alert
reads nothing more (a snooze "until the stock changes" is read where it matters, not on every
event); one that opens alerts reads the mutes of their SKUs (one query), and applies again
when one is muted. Printed: the median POST /api/v1/events of one event opening an alert, and
the median of that mutes query inside a transaction, measured in this run, and their ratio.

    .venv/bin/python bench/noise.py                    # SQLite, 500 events
    .venv/bin/python bench/noise.py --url postgresql+psycopg://…/db   # an EMPTY database
    .venv/bin/python bench/noise.py --mutes 1000       # with 1000 mutes in force
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

from sqlalchemy import func, insert, select

from engine.config import Settings
from engine.services import noise_control
from engine.storage.database import upgrade
from engine.storage.tables import alerts, rule_mutes, skus

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
    n_skus = args.events + args.mutes
    assert client.put("/api/v1/warehouses", json=[{"code": "WH", "name": "W"}],
                      headers=h).status_code == 200
    assert client.put("/api/v1/skus", headers=h, json=[
        {"code": f"S{i}", "name": f"s{i}"} for i in range(n_skus)]).status_code == 200
    assert client.put("/api/v1/ruleset", data=RULES, content_type="application/yaml",
                      headers=h).status_code == 200
    now = datetime.now(UTC)
    with svc.uow() as uow:
        by_code = dict(uow.conn.execute(select(skus.c.code, skus.c.id)).all())
        if args.mutes:  # on other SKUs than the events': read, never matching
            uow.conn.execute(insert(rule_mutes), [
                {"rule": "low", "sku_id": by_code[f"S{args.events + i}"], "reason": "bench",
                 "created_by": "b", "created_at": now, "until": now + timedelta(days=1)}
                for i in range(args.mutes)])
        uow.commit()
    posts, noise = [], []
    for i in range(args.events):  # a count of 1 on a SKU of its own: each opens an alert
        event = {"id": f"e{i}", "type": "count", "sku": f"S{i}", "warehouse": "WH", "qty": 1,
                 "at": (now - timedelta(seconds=i)).isoformat()}
        start = time.perf_counter()
        answer = client.post("/api/v1/events", json=event, headers=h)
        posts.append(time.perf_counter() - start)
        assert answer.status_code == 200 and answer.json["accepted"] == 1, answer.json
        with svc.uow() as uow:  # what apply_events adds, inside a transaction as there
            uow.conn.execute(select(1))  # the transaction has begun (SQLite: BEGIN IMMEDIATE)
            start = time.perf_counter()
            noise_control.active_mutes(uow.conn, now, {by_code[f"S{i}"]})
            noise.append(time.perf_counter() - start)
            uow.rollback()
    with svc.uow() as uow:
        opened = uow.conn.execute(select(func.count()).select_from(alerts)).scalar_one()
    assert opened == args.events, opened
    post, extra = statistics.median(posts), statistics.median(noise)
    print(f"{svc.db.dialect.name}: {args.events} single-event POSTs each opening an alert, "
          f"{args.mutes} mutes in force")
    print(f"  median POST /api/v1/events (1 event): {post * 1000:7.2f} ms")
    print(f"  median mutes query (in a transaction): {extra * 1000:7.2f} ms")
    print(f"  ratio noise / POST: {extra / post:.3f}")
    svc.close()


if __name__ == "__main__":
    main()
