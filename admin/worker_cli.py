"""``flask --app wsgi worker``: an RQ worker (with the scheduler) plus the outbox relay and the
escalation sweeper, all on the same Redis and database as the web processes."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from engine.bootstrap import Services
from engine.forked_children import end_with_parent
from engine.jobs import IMPORT_QUEUE, QUEUES, RULES_QUEUE, RqJobs
from engine.services.runner import Relay
from engine.storage.database import drop_sockets_in_forked_children
from engine.worker import use_services


@click.command("worker")
@click.option("--queues",
              default=",".join([*sorted(set(QUEUES.values())), IMPORT_QUEUE, RULES_QUEUE]),
              show_default=True, help="comma-separated queue names, by purpose, first first "
              "(import runs are long: a worker of its own for them keeps events moving)")
@click.option("--burst", is_flag=True, help="exit when the queues are empty (tests, cron)")
@click.option("--lease", default=60, show_default=True,
              help="seconds before a handed-over outbox row is handed over again")
@with_appcontext
def worker(queues: str, burst: bool, lease: int) -> None:
    """Run jobs from Redis; relay the outbox; fire due escalations."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    svc: Services = current_app.extensions["engine"]
    if not isinstance(svc.jobs, RqJobs):
        raise click.ClickException("REDIS_URL is not set: the embedded default runs jobs in-process "
                                   "and needs no worker")
    problems = svc.jobs.check_safe()
    if problems:
        click.echo(f"stockwarn worker: refusing to start: {problems[0]}", err=True)
        sys.exit(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    use_services(svc)
    # RQ forks a scheduler process; a child must never use the parent's pooled connections
    # (SQLAlchemy: "Using Connection Pools with Multiprocessing"), nor keep their sockets open.
    drop_sockets_in_forked_children(svc.db)
    # ... and must not outlive it: a SIGKILLed worker's scheduler would hold the scheduler
    # lock and its Redis connections for good (issue #13).
    end_with_parent()
    relay = Relay(svc, lease=timedelta(seconds=lease))
    relay.start()
    # SimpleWorker runs each job in this process, so the caches (catalogue, compiled ruleset)
    # live as long as the worker; a killed worker loses nothing (the outbox re-sends).
    rq_worker = SimpleWorker([svc.jobs.queue(q.strip()) for q in queues.split(",") if q.strip()],
                             connection=svc.jobs.connection, serializer=JSONSerializer)
    try:
        rq_worker.work(with_scheduler=not burst, burst=burst, logging_level="WARNING")
    finally:
        relay.stopping.set()


def init_app(app: Flask) -> None:
    app.cli.add_command(worker)
