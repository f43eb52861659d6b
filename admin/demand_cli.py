"""CLI of issue #16: ``forecasts run``, ``daily run`` and ``backtest``."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from engine.bootstrap import Services
from engine.errors import EngineError
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


@click.command("backtest")
@with_appcontext
@click.option("--version", "version", type=int, help="ruleset version (default: the active one)")
@click.option("--compare", type=int, help="a second version, side by side")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first simulated day")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last simulated day")
@click.option("--groups", default="", help="comma-separated SKU group ids (default: every SKU)")
@click.option("--seed", default=1, show_default=True, help="seed of the lead-time draws")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--tune", type=float, help="find per group the fill-rate target reaching this fill")
@click.option("--write", is_flag=True, help="with --tune: save the tuned targets as a new version")
def backtest(version: int | None, compare: int | None, start: Any, end: Any, groups: str,
             seed: int, as_json: bool, tune: float | None, write: bool) -> None:
    """Replay the recorded demand through a ruleset version; nothing live is touched."""
    from engine.services import backtests

    svc = _svc()
    group_ids = [g.strip() for g in groups.split(",") if g.strip()]
    start_day, end_day = (start.date() if start else None), (end.date() if end else None)
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        if version is None:
            if snap.ruleset is None:
                raise click.ClickException("no active ruleset: give --version")
            version = snap.ruleset.version
        try:
            if tune is not None:
                tuned = backtests.tune(uow.conn, snap, version, tune, start_day, end_day,
                                       group_ids, seed)
                _print_tuned(tuned, as_json)
                if write:
                    number = backtests.write_tuned(uow.conn, tuned, "backtest", svc.clock.now())
                    uow.commit()
                    click.echo(f"saved as version {number}")
                return
            runs = [backtests.backtest(uow.conn, snap, version, start_day, end_day, group_ids, seed)]
            if compare is not None:
                runs.append(backtests.backtest(uow.conn, snap, compare, start_day, end_day,
                                               group_ids, seed))
        except EngineError as exc:
            raise click.ClickException(str(getattr(exc, "errors", exc))) from exc
    if as_json:
        out = {"from": runs[0].start.isoformat(), "to": runs[0].end.isoformat(),
               "versions": {str(r.version): r.result.as_dict() for r in runs}}
        if len(runs) == 2:
            out["verdict"] = backtests.verdict(*runs)
        click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return
    _print_runs(runs)


ROWS = (("fill_rate", "fill rate", "{:.2%}"), ("stockout_days", "stock-out days", "{:,}"),
        ("avg_on_hand", "average on hand", "{:,.1f}"), ("avg_value", "average value", "{:,.2f}"),
        ("orders", "orders", "{:,}"), ("alerts", "alerts", "{:,}"), ("tasks", "tasks", "{:,}"),
        ("lost", "units lost", "{:,.0f}"))


def _fmt(pattern: str, value: Any) -> str:
    return "—" if value is None else pattern.format(value)


def _print_runs(runs: list[Any]) -> None:
    from engine.services import backtests

    click.echo(f"backtest {runs[0].start} – {runs[0].end}")
    head = "".join(f"{'version ' + str(r.version):>18}" for r in runs)
    click.echo(f"{'':<18}{head}")
    totals = [r.result.total.summary() for r in runs]
    for key, label, pattern in ROWS:
        click.echo(f"{label:<18}" + "".join(f"{_fmt(pattern, t[key]):>18}" for t in totals))
    groups = sorted({g for r in runs for g in r.result.groups})
    for group in groups:
        cells = []
        for r in runs:
            tally = r.result.groups.get(group)
            s = tally.summary() if tally is not None else None
            cells.append(f"{_fmt('{:.2%}', s['fill_rate']) if s else '—'} / "
                         f"{_fmt('{:,.1f}', s['avg_on_hand']) if s else '—'}")
        click.echo(f"group {group or '(none)':<12}" + "".join(f"{c:>18}" for c in cells))
    if len(runs) == 2:
        v = backtests.verdict(*runs)
        click.echo(f"better: version {v['better']} (fill {_fmt('{:.2%}', v['fill_better'])} vs "
                   f"{_fmt('{:.2%}', v['fill_other'])}, average stock {v['stock_change']:+.1%})")


def _print_tuned(tuned: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({k: v for k, v in tuned.items() if k != "document"},
                              ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"tuned to {tuned['wanted']:.1%} fill, {tuned['start']} – {tuned['end']}")
    for group, found in tuned["groups"].items():
        if found.get("target") is None:
            click.echo(f"  {group}: no target tried reaches it")
        else:
            click.echo(f"  {group}: fill_rate {found['target']} → fill "
                       f"{_fmt('{:.2%}', found['fill_rate'])}, average on hand "
                       f"{_fmt('{:,.1f}', found['avg_on_hand'])}")


def init_app(app: Flask) -> None:
    app.cli.add_command(backtest)
    app.cli.add_command(forecasts_group)
    app.cli.add_command(daily_group)
