"""Rule runs are RQ jobs in production (#17): saving a version answers at once, a worker on the
``rules`` queue evaluates the changed rules over the current stock."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from engine.jobs import RULES_QUEUE
from engine.services import apply, catalog, rule_runs
from engine.stock import StockEvent

RULES = """\
ruleset: rq-rules
roles: [{id: buyer, name: 采购员}]
rules:
  - {id: low, owner: buyer, on: [receipt], when: {"<": [{"var": "stock.available"}, 10]}}
"""


@pytest.fixture
def rq_app(settings, clock, private_redis, redis_url):  # type: ignore[no-untyped-def]
    """The app on a redis-server of this test's own: the shared test Redis may still have a
    worker of an earlier runtime test listening on its ``rules`` queue (its run is of another
    database), which would take this test's job before the assertion on the queue's depth."""
    from dataclasses import replace

    from admin import create_app

    app = create_app(replace(settings, redis_url=private_redis.url), clock)
    yield app
    app.extensions["engine"].close()


def test_a_saved_version_is_evaluated_by_a_worker(rq_app, admin_headers_rq):  # type: ignore[no-untyped-def]
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    now = services.clock.now()
    with services.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [{"code": "WH", "name": "上海仓"}], "t", now)
        catalog.put_rows(uow.conn, "skus", [{"code": "A", "name": "螺栓"}], "t", now)
        uow.commit()
    with services.uow() as uow:  # stock before any rule: 3 of A
        apply.apply_events(uow.conn, [StockEvent("c", "count", "A", "WH", now, qty=3)],
                           services.cache.current(uow.conn), now)
        uow.commit()
    answer = client.put("/api/v1/ruleset", data=RULES, content_type="application/yaml",
                        headers=admin_headers_rq)
    assert answer.status_code == 200
    version = answer.json["version"]
    with services.uow() as uow:
        [run] = rule_runs.of_version(uow.conn, version)
    assert run["state"] == "queued" and services.jobs.depths()[RULES_QUEUE] == 1
    from engine.worker import use_services

    use_services(services)
    SimpleWorker([services.jobs.queue(RULES_QUEUE)], connection=services.jobs.connection,
                 serializer=JSONSerializer).work(burst=True)
    with services.uow() as uow:
        run = rule_runs.get(uow.conn, run["id"])
    assert run["state"] == "done" and run["counts"]["opened"] == 1, run
