"""``flask --app wsgi demo``: a ready-to-explore database (users, catalogue, ruleset, history)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from engine.bootstrap import Services
from engine.config import PROJECT_ROOT
from engine.demo import build_catalog
from engine.errors import Conflict
from engine.services import accounts, catalog, rulesets
from engine.storage import database

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
            try:
                accounts.create_user(uow.conn, name, now, password=password, is_admin=admin)
            except Conflict:
                pass  # the demo can be loaded again
        for kind in ("warehouses", "suppliers", "skus"):
            catalog.put_rows(uow.conn, kind, data[kind], "demo", now)
        text = Path(ruleset_file).read_text(encoding="utf-8")
        active = svc.rulesets.active(uow.conn)
        current = rulesets.version_text(uow.conn, active.version)[0] if active else None
        if current != text:
            rulesets.put(uow.conn, text, "yaml", "demo", now, comment="demo ruleset")
        uow.commit()
    click.echo(f"demo loaded: {len(data['warehouses'])} warehouses, {len(data['suppliers'])} "
               f"suppliers, {len(data['skus'])} SKUs, ruleset {Path(ruleset_file).name}")
    click.echo("sign in as: " + ", ".join(f"{u} / {p}" for u, p, _ in DEMO_USERS))


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
