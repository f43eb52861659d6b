"""Two web processes (gunicorn -w 2) and two workers on the same data (issue #4 §6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.storage.tables import alerts, requisitions, stock_levels
from tests.runtime.conftest import _admin_headers, free_port
from tests.runtime.report import REPORT
from tests.runtime.test_faults import Workers, drained

REPO = Path(__file__).resolve().parents[2]
RULES = """
ruleset: concurrency
settings: {timezone: UTC}
roles: [{id: buyer, name: Buyer, members: [alice]}]
workflows:
  - {id: fix, name: Fix, states: [open, done], initial: open,
     transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    name: Low stock
    when: {"<": [{"var": "stock.available"}, 990]}
    owner: buyer
    auto_resolve: false
    actions:
      - create_task: {title: "low {{ sku.code }}", workflow: fix}
      - create_requisition: {quantity: {fixed: 50}, supplier: preferred}
"""


def call(url: str, method: str, token: str, body: Any = None, ctype: str = "application/json",
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.slow
def test_two_web_processes_and_two_workers_agree(settings, private_redis, tmp_path):
    from admin import create_app
    from engine.clock import SystemClock

    app = create_app(replace(settings, redis_url=private_redis.url), SystemClock())
    services = app.extensions["engine"]
    token = _admin_headers(app)["Authorization"].split()[1]
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=private_redis.url,
               STOCKWARN_INSTANCE=str(tmp_path / "instance"), SECRET_KEY="test")
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                           cwd=REPO, env=env, stdout=open(tmp_path / "web.log", "wb"), stderr=subprocess.STDOUT)
    workers = Workers(env, tmp_path)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        call(f"{base}/warehouses", "PUT", token, [{"code": "W", "name": "W"}])
        call(f"{base}/suppliers", "PUT", token, [{"code": "P", "name": "P", "lead_time_days": 2}])
        call(f"{base}/skus", "PUT", token, [{"code": "S", "name": "S",
                                             "suppliers": [{"supplier": "P", "preferred": True}]}])
        assert call(f"{base}/ruleset", "PUT", token, RULES, "application/yaml")[0] == 200
        assert call(f"{base}/events", "POST", token, {"id": "c", "type": "count", "sku": "S", "warehouse": "W",
                                                      "qty": 1000, "at": "2026-11-01T00:00:00+00:00"})[0] == 200
        sales = [{"id": f"s{i}", "type": "sale", "sku": "S", "warehouse": "W", "qty": 1,
                  "at": f"2026-11-01T{1 + i // 60:02d}:{i % 60:02d}:00+00:00"} for i in range(400)]
        with ThreadPoolExecutor(16) as pool:  # 400 single-event requests, 16 at a time
            statuses = list(pool.map(lambda e: call(f"{base}/events", "POST", token, e)[0], sales))
        with ThreadPoolExecutor(8) as pool:  # and every one of them again: all duplicates
            replies = list(pool.map(lambda e: call(f"{base}/events", "POST", token, e)[1], sales))
        assert statuses == [200] * 400
        assert all(r["duplicates"] == 1 for r in replies)
        assert drained(services)
        with services.db.connect() as conn:
            on_hand = conn.execute(select(stock_levels.c.on_hand)).scalar_one()
            n_alerts = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
            n_reqs = conn.execute(select(func.count()).select_from(requisitions)).scalar_one()
        # Concurrent edits of the ruleset: everyone sends the revision they read; one wins.
        revision = call(f"{base}/ruleset", "GET", token)[1]["revision"]
        with ThreadPoolExecutor(10) as pool:
            edits = list(pool.map(lambda i: call(f"{base}/ruleset", "PUT", token, RULES.replace(
                "Low stock", f"Low stock {i}"), "application/yaml", {"If-Match": str(revision)})[0], range(10)))
        REPORT.append(f"[{services.db.dialect.name}] 2 web + 2 workers: 400 concurrent sales on one SKU → "
                      f"on hand {on_hand:g} (expected 600), alerts {n_alerts}, requisitions {n_reqs}; "
                      f"10 concurrent ruleset edits → {edits.count(200)}×200, {edits.count(409)}×409")
        assert on_hand == 600
        assert n_alerts == 1 and n_reqs == 1
        assert sorted(edits) == [200] + [409] * 9
    finally:
        web.terminate()
        web.wait()
        workers.stop()
        services.close()
