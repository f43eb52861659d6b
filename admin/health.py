"""``/health``: database, Redis, queue depths and the oldest outbox row, for load balancers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from admin.auth import services
from engine.jobs import RqJobs
from engine.services import outbox

blp = Blueprint("health", __name__)


@blp.get("/health")
def health() -> Any:
    """200 when the database answers (``degraded`` if the queue does not: ingest still works,
    the outbox keeps the work); 503 when the database does not."""
    svc = services()
    body: dict[str, Any] = {"status": "ok", "runtime": "embedded" if svc.jobs.inline else "rq"}
    try:
        with svc.uow() as uow:
            uow.conn.execute(text("SELECT 1"))
            body["outbox"] = outbox.stats(uow.conn, svc.clock.now())
        body["database"] = "ok"
    except Exception as exc:
        body.update(status="down", database=f"error: {type(exc).__name__}")
        return jsonify(body), 503
    if isinstance(svc.jobs, RqJobs):
        try:
            svc.jobs.connection.ping()
            body["redis"] = "ok"
            body["queues"] = svc.jobs.depths()
        except Exception as exc:
            body.update(status="degraded", redis=f"error: {type(exc).__name__}", queue="degraded")
    return jsonify(body)
