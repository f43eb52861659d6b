"""CLI: ``alerts list``, ``tasks list|show|transition``, ``requisitions list|transition``,
``skus stock CODE``.

The same filters as the REST API, printed as aligned text tables. A transition is taken in the
name of ``--user``, with that user's roles in the active ruleset (the CLI is not a superuser).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, NoReturn, cast
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app, g
from flask.cli import AppGroup

from engine.bootstrap import Services
from engine.errors import EngineError, InputInvalid, NotFound
from engine.services import accounts, queries
from engine.services import requisitions as requisition_service
from engine.services import tasks as task_service
from engine.services.stock_view import stock_view

Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _svc() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


def _fail(exc: EngineError) -> NoReturn:
    if isinstance(exc, InputInvalid):
        click.echo("error: invalid answers; nothing was changed", err=True)
        for e in exc.errors:
            click.echo(f"  {e.get('field') or '-'}: {e.get('message')}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _zone() -> tzinfo:
    """The active ruleset's time zone (``settings.timezone``): the CLI shows times as the web
    pages do, once per command."""
    zone: tzinfo | None = g.get("display_zone")
    if zone is None:
        svc = _svc()
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
        zone = g.display_zone = ZoneInfo(active.compiled.settings.timezone) if active else UTC
    return zone


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(_zone())).strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
    """Rows as a table whose columns are as wide as their widest cell."""
    cells = [[_cell(get(r)) for _, get in columns] for r in rows]
    heads = [name for name, _ in columns]
    widths = [max([_width(h)] + [_width(c[i]) for c in cells]) for i, h in enumerate(heads)]
    for line in [heads, *cells]:
        padded = [c + " " * (w - _width(c)) for c, w in zip(line, widths, strict=True)]
        click.echo("  ".join(padded).rstrip())


def _field(name: str) -> Column:
    return name, lambda r: r.get(name)


def _filters(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _paging(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0))(f)
    return click.option("--limit", default=50, show_default=True, type=click.IntRange(0, 500))(f)


def _codes(f: Callable[..., Any]) -> Callable[..., Any]:
    for name, helptext in (("--rule", "rule id"), ("--warehouse", "warehouse code"),
                           ("--sku", "SKU code"), ("--state", "state")):
        f = click.option(name, default=None, help=helptext)(f)
    return f


def _footer(total: int, shown: int, offset: int) -> None:
    click.echo(f"{shown} of {total} shown" + (f" (from {offset})" if offset else "")
               + f"; times in {_zone()}")


# --- alerts -----------------------------------------------------------------------------------
alerts = AppGroup("alerts", help="Alerts raised by the rules.")

ALERT_COLUMNS: list[Column] = [
    _field("id"), _field("state"), _field("severity"), _field("rule"), _field("sku"),
    _field("warehouse"), _field("owner"), _field("hits"), _field("opened_at"),
]


@alerts.command("list")
@_codes
@click.option("--severity", default=None)
@click.option("--role", default=None, help="the owner role")
@_paging
def alerts_list(limit: int, offset: int, **options: Any) -> None:
    """List alerts, newest first."""
    with _svc().uow() as uow:
        total, rows = queries.list_alerts(
            uow.conn, cast(queries.AlertFilters, _filters(**options)), limit, offset)
    print_table(rows, ALERT_COLUMNS)
    _footer(total, len(rows), offset)


# --- tasks ------------------------------------------------------------------------------------
tasks = AppGroup("tasks", help="Workflow tasks: list, show, take a transition.")

TASK_COLUMNS: list[Column] = [
    _field("id"), _field("state"), _field("severity"), _field("role"), _field("assignee"),
    ("due", lambda r: r["due_at"]), ("late", lambda r: "yes" if r["overdue"] else ""),
    _field("sku"), _field("warehouse"), _field("title"),
]


@tasks.command("list")
@_codes
@click.option("--role", default=None)
@click.option("--assignee", default=None)
@click.option("--open/--closed", "open_", default=None, help="only open (or closed) tasks")
@click.option("--overdue", is_flag=True, help="only overdue tasks")
@_paging
def tasks_list(limit: int, offset: int, open_: bool | None, overdue: bool,
               **options: Any) -> None:
    """List tasks: open ones first, then most severe, then soonest due."""
    svc = _svc()
    filters = _filters(open=open_, overdue=overdue or None, **options)
    with svc.uow() as uow:
        total, rows = queries.list_tasks(uow.conn, cast(queries.TaskFilters, filters), limit,
                                         offset, svc.clock.now())
    print_table(rows, TASK_COLUMNS)
    _footer(total, len(rows), offset)


@tasks.command("show")
@click.argument("task_id", type=int)
@click.option("--user", default=None, help="list the transitions this user may take")
def tasks_show(task_id: int, user: str | None) -> None:
    """Show a task: its fields, answers, history and (with --user) the possible transitions."""
    svc = _svc()
    try:
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
            ruleset = active.compiled if active else None
            roles = ruleset.roles_of(user) if ruleset and user else frozenset()
            task = task_service.get_task(uow.conn, task_id, ruleset, roles, svc.clock.now())
    except EngineError as exc:
        _fail(exc)
    _print_task(task, show_transitions=user is not None)


def _print_task(task: dict[str, Any], show_transitions: bool) -> None:
    click.echo(f"task {task['id']}: {task['title']}")
    for key in ("state", "workflow", "role", "assignee", "severity", "due_at", "rule", "sku",
                "warehouse", "alert"):
        click.echo(f"  {key + ':':<10} {_cell(task.get(key))}")
    if task["data"]:
        click.echo(f"  {'data:':<10} {json.dumps(task['data'], ensure_ascii=False)}")
    click.echo("history:")
    print_table(task["history"], [_field("at"), _field("actor"), _field("transition"),
                                  _field("from"), _field("to"),
                                  ("data", lambda r: json.dumps(r["data"], ensure_ascii=False))])
    if show_transitions:
        names = [f"{t['id']} → {t['to']}" for t in task["transitions"]]
        click.echo("transitions: " + (", ".join(names) or "none for this user"))


@tasks.command("transition")
@click.argument("task_id", type=int)
@click.argument("transition")
@click.option("--user", required=True, help="who takes it (roles from the active ruleset)")
@click.option("--data", "data_json", default="{}", help='form answers as JSON: {"outcome": …}')
def tasks_transition(task_id: int, transition: str, user: str, data_json: str) -> None:
    """Take TRANSITION on task TASK_ID as --user, with the form answers in --data."""
    data = _json_object(data_json)
    svc = _svc()
    try:
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
            ruleset = active.compiled if active else None
            roles = ruleset.roles_of(user) if ruleset else frozenset()
            task = task_service.transition_task(uow.conn, ruleset, task_id, transition, data,
                                                user, roles, svc.clock.now())
            uow.commit()
    except EngineError as exc:
        _fail(exc)
    click.echo(f"task {task_id}: {transition} → {task['state']}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data")
    return value


# --- requisitions -----------------------------------------------------------------------------
requisitions = AppGroup("requisitions", help="Purchase requisitions: list, approve, order.")

REQUISITION_COLUMNS: list[Column] = [
    _field("id"), _field("state"), _field("sku"), _field("warehouse"), _field("supplier"),
    _field("quantity"), _field("amount"), ("approver", lambda r: r["approval_role"]),
    _field("ref"), _field("created_at"),
]


@requisitions.command("list")
@_codes
@click.option("--supplier", default=None, help="supplier code")
@click.option("--role", default=None, help="the approval role")
@click.option("--open/--closed", "open_", default=None, help="only open (or closed) ones")
@_paging
def requisitions_list(limit: int, offset: int, open_: bool | None, **options: Any) -> None:
    """List requisitions, newest first."""
    filters = _filters(open=open_, **options)
    with _svc().uow() as uow:
        total, rows = queries.list_requisitions(
            uow.conn, cast(queries.RequisitionFilters, filters), limit, offset)
    print_table(rows, REQUISITION_COLUMNS)
    _footer(total, len(rows), offset)


@requisitions.command("transition")
@click.argument("req_id", type=int)
@click.argument("transition",
                type=click.Choice(["submit", "approve", "reject", "order", "receive", "cancel"]))
@click.option("--user", required=True, help="who takes it (roles from the active ruleset)")
@click.option("--ref", default=None, help="the ERP purchase order number (order)")
@click.option("--data", "data_json", default="{}", help='more answers as JSON: {"note": …}')
def requisitions_transition(req_id: int, transition: str, user: str, ref: str | None,
                            data_json: str) -> None:
    """Take TRANSITION on requisition REQ_ID as --user (order needs --ref)."""
    data = _json_object(data_json)
    if ref is not None:
        data["ref"] = ref
    svc = _svc()
    try:
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
            roles = active.compiled.roles_of(user) if active else frozenset()
            req = requisition_service.transition_requisition(
                uow.conn, req_id, transition, data, user, roles, svc.clock.now(),
                _is_admin(uow.conn, user))
            uow.commit()
    except EngineError as exc:
        _fail(exc)
    click.echo(f"requisition {req_id}: {transition} → {req['state']}")


def _is_admin(conn: Any, username: str) -> bool:
    """Whether --user is an admin (who may cancel, order and receive: engine/policy.py)."""
    try:
        return accounts.get_user(conn, username).is_admin
    except NotFound:
        return False


# --- one SKU's stock -------------------------------------------------------------------------
skus = AppGroup("skus", help="One SKU's stock: levels, metrics and open alerts per warehouse.")


def _level(name: str) -> Column:
    return name, lambda r: r["levels"][name]


def _metric(head: str, name: str) -> Column:
    return head, lambda r: None if r["metrics"][name] is None else round(r["metrics"][name], 2)


STOCK_COLUMNS: list[Column] = [
    _field("warehouse"), _level("on_hand"), _level("reserved"), _level("available"),
    _level("on_order"), ("position", lambda r: r["levels"]["inventory_position"]),
    _metric("demand/day", "avg_daily_demand"), _metric("safety", "safety_stock"),
    _metric("reorder_point", "reorder_point"), _metric("max", "max_stock"),
    _metric("cover_days", "days_of_cover"),
    ("supplier", lambda r: (r["supplier"] or {}).get("code")),
    ("open_alerts", lambda r: len(r["alerts"]) or ""),
]


@skus.command("stock")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="everything, as GET /api/v1/skus/{code}/stock answers")
def skus_stock(code: str, as_json: bool) -> None:
    """What a buyer reads to understand an alert: per warehouse, the levels, the metrics the
    rules see now (SPEC §3), the supplier and the open alerts with the facts they saw."""
    svc = _svc()
    try:
        with svc.uow() as uow:
            view = stock_view(uow.conn, svc.cache.current(uow.conn), code, svc.clock.now())
    except EngineError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
        return
    name = f" {view['name']}" if view["name"] else ""
    unit = f" {view['unit']}" if view["unit"] else ""
    click.echo(f"{view['sku']}{name}: {_cell(view['total_available'])}{unit} available in "
               f"{len(view['warehouses'])} warehouse(s)")
    if not view["warehouses"]:
        return
    print_table(view["warehouses"], STOCK_COLUMNS)
    for wh in view["warehouses"]:
        for a in wh["alerts"]:
            click.echo(f"{wh['warehouse']}: alert {a['id']} {a['rule']} ({a['severity']}, {a['state']}) "
                       f"since {_cell(a['opened_at'])}, {a['hits']} hit(s)")


def init_app(app: Flask) -> None:
    for group in (alerts, tasks, requisitions, skus):
        app.cli.add_command(group)
