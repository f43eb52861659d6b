"""CLI of issue #16: ``forecasts run``, ``daily run`` and ``backtest``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from engine.bootstrap import Services
from engine.services.runner import run_daily_jobs


def _svc() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


forecasts_group = AppGroup("forecasts", help="Demand forecasts per SKU×warehouse.")
daily_group = AppGroup("daily", help="The daily run: forecasts, then the rules on: [daily].")


@forecasts_group.command("run")
def forecasts_run() -> None:
    """Fit and store the forecast of every SKU×warehouse whose groups ask for one, now."""
    from engine.services import forecasts

    svc = _svc()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        if snap.ruleset is None:
            raise click.ClickException("no active ruleset: load one first")
        now = svc.clock.now()
        counts = forecasts.recompute(uow.conn, snap, now.astimezone(snap.tz).date(), now)
        uow.commit()
    listed = ", ".join(f"{method}: {n}" for method, n in sorted(counts.items())) or "none"
    click.echo(f"forecasts fitted ({listed})")


@daily_group.command("run")
def daily_run() -> None:
    """Refit the forecasts and evaluate the rules on: [daily] over every SKU×warehouse, now."""
    svc = _svc()
    out = run_daily_jobs(svc, svc.clock.now(), force=True)
    counts = out.get("forecasts") or {}
    click.echo("forecasts fitted: " + (", ".join(f"{m}: {n}" for m, n in sorted(counts.items()))
                                       or "none"))
    report = out.get("daily")
    if report is not None:
        click.echo(f"daily rules: {report.rules}; pairs: {report.pairs}; evaluated as events: "
                   f"{report.candidates}; alerts opened: {report.opened}, resolved: "
                   f"{report.resolved}; tasks: {report.tasks}; requisitions: {report.requisitions}")


def init_app(app: Flask) -> None:
    app.cli.add_command(forecasts_group)
    app.cli.add_command(daily_group)
