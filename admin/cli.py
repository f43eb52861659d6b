"""Command-line interface: ``flask --app wsgi <group> <command>`` (SPEC §6)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from engine.bootstrap import Services
from engine.errors import EngineError
from engine.policy import Scope
from engine.rules import load_ruleset, validate_ruleset
from engine.rules.advice import advice
from engine.rules.problems import RulesetInvalid
from engine.services import accounts, rule_runs, rulesets
from engine.storage import database


def _svc() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


def _read(path: str) -> tuple[str, str]:
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 (invalid byte at offset {exc.start})") from exc
    fmt = "json" if path.endswith(".json") else "yaml" if path.endswith((".yaml", ".yml")) else None
    return text, fmt or rulesets.sniff_format(text)


def _fail(exc: EngineError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


# --- db ---------------------------------------------------------------------------------------
db = AppGroup("db", help="Database schema migrations (Alembic).")


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or upgrade every table (SQLite or PostgreSQL, from DATABASE_URL)."""
    database.upgrade(_svc().settings.database_url, revision)
    click.echo(f"database at revision {database.current_revision(_svc().settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    database.downgrade(_svc().settings.database_url, revision)


@db.command("current")
def db_current() -> None:
    click.echo(database.current_revision(_svc().settings.database_url) or "empty")


# --- ruleset ----------------------------------------------------------------------------------
ruleset = AppGroup("ruleset", help="Validate, load and inspect rule documents.")


@ruleset.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def ruleset_validate(file: str) -> None:
    """Check FILE; print every problem as FILE:LINE: PATH: message and exit 1 when any."""
    text, fmt = _read(file)
    problems = validate_ruleset(text, fmt)
    for p in problems:
        click.echo(f"{file}:{p.line if p.line is not None else '-'}: {p.path or '(document)'}: {p.message}")
    if problems:
        click.echo(f"{len(problems)} problem(s); nothing was changed", err=True)
        sys.exit(1)
    # the channels configured here: a daily digest on another would never arrive (issue #17)
    for w in advice(load_ruleset(text, fmt), _svc().deliverable_channels()):
        click.echo(f"{file}: warning: {w.path}: {w.message}")
    click.echo(f"{file}: valid")


@ruleset.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--author", default="cli", show_default=True)
@click.option("--comment", default="")
def ruleset_load(file: str, author: str, comment: str) -> None:
    """Validate FILE and make it the new active version."""
    text, fmt = _read(file)
    svc = _svc()
    try:
        with svc.uow() as uow:
            number = rulesets.put(uow.conn, text, fmt, author, svc.clock.now(), comment=comment)
            uow.commit()
        _evaluate(svc, number)
    except RulesetInvalid as exc:
        for p in exc.problems:
            click.echo(f"{file}:{p.line if p.line is not None else '-'}: {p.path}: {p.message}")
        click.echo(f"{len(exc.problems)} problem(s); nothing was changed", err=True)
        sys.exit(1)
    click.echo(f"loaded {file} as version {number}")
    _report_run(svc, number)


CLI_ACTOR = "cli"  # who the audit trail names for a change made on the command line


def _evaluate(svc: Any, number: int) -> None:
    """The changed rules over the current stock (#17): here and now on the embedded default
    (this process is about to exit), by a worker with Redis."""
    if not svc.jobs.inline:
        rule_runs.start_for(svc, number)
        return
    with svc.uow() as uow:
        run_id = rule_runs.queued_of(uow.conn, number)
    if run_id is not None:
        try:
            rule_runs.run(svc, run_id)
        except Exception as exc:  # recorded on the run; the version stays active
            click.echo(f"the evaluation of the changed rules failed: {exc}", err=True)


def _report_run(svc: Any, number: int) -> None:
    with svc.uow() as uow:
        runs = rule_runs.of_version(uow.conn, number)
    if not runs:
        return
    run = runs[0]
    c = run["counts"] or {}
    if run["state"] == "done":
        click.echo(f"evaluated {len(run['rules'])} changed rule(s) over {c.get('pairs', 0)} pairs: "
                   f"{c.get('opened', 0)} alert(s) opened, {c.get('resolved', 0)} resolved, "
                   f"{c.get('removed', 0)} of removed rules resolved")
    else:
        click.echo(f"evaluation of the changed rules: run {run['id']} {run['state']}")


@ruleset.command("show")
@click.option("--version", "number", type=int, default=None, help="default: the active version")
def ruleset_show(number: int | None) -> None:
    """Print the active (or a given) version's text."""
    svc = _svc()
    with svc.uow() as uow:
        if number is None:
            active = svc.rulesets.active(uow.conn)
            if active is None:
                raise click.ClickException("no ruleset loaded yet: use `ruleset load FILE`")
            number = active.version
        try:
            text, _ = rulesets.version_text(uow.conn, number)
        except EngineError as exc:
            _fail(exc)
    click.echo(f"# version {number}")
    click.echo(text)


@ruleset.command("versions")
def ruleset_versions() -> None:
    svc = _svc()
    with svc.uow() as uow:
        for v in rulesets.versions(uow.conn):
            mark = "*" if v["active"] else " "
            click.echo(f"{mark} {v['number']:>4}  {v['created_at']:%Y-%m-%d %H:%M}  {v['author']:<12} "
                       f"{v['name']}  {v['comment']}")


@ruleset.command("activate")
@click.argument("number", type=int)
@click.option("--author", default="cli", show_default=True)
def ruleset_activate(number: int, author: str) -> None:
    svc = _svc()
    try:
        with svc.uow() as uow:
            rulesets.activate(uow.conn, number, author, svc.clock.now())
            uow.commit()
        _evaluate(svc, number)
    except EngineError as exc:
        _fail(exc)
    click.echo(f"version {number} is active")
    _report_run(svc, number)


@ruleset.command("diff")
@click.argument("old", type=int)
@click.argument("new", type=int)
def ruleset_diff(old: int, new: int) -> None:
    svc = _svc()
    with svc.uow() as uow:
        try:
            click.echo(rulesets.diff(uow.conn, old, new))
        except EngineError as exc:
            _fail(exc)


# --- users and tokens -------------------------------------------------------------------------
users = AppGroup("users", help="People who sign in or own API tokens.")


@users.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="may change rules and master data")
@click.option("--password", default=None, help="default: asked for (hidden)")
@click.option("--no-password", is_flag=True, help="token-only user (integrations)")
def users_create(name: str, admin: bool, password: str | None, no_password: bool) -> None:
    """Create user NAME; business roles come from the ruleset's role members."""
    if password is None and not no_password:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    svc = _svc()
    try:
        with svc.uow() as uow:
            accounts.create_user(uow.conn, name, svc.clock.now(), password=password, is_admin=admin,
                                 actor=CLI_ACTOR)
            uow.commit()
    except EngineError as exc:
        _fail(exc)
    click.echo(f"created {'admin ' if admin else ''}user {name}")


@users.command("list")
def users_list() -> None:
    svc = _svc()
    with svc.uow() as uow:
        for u in accounts.list_users(uow.conn):
            click.echo(f"{u.username:<20} {'admin' if u.is_admin else 'user'}"
                       f"{'' if u.active else '  disabled'}")


@users.command("password")
@click.argument("name")
@click.option("--password", default=None, help="default: asked for (hidden)")
def users_password(name: str, password: str | None) -> None:
    """Give user NAME a new password; every session of NAME ends at once."""
    if password is None:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    _change_user(lambda conn, now: accounts.set_password(conn, name, password, actor=CLI_ACTOR,
                                                         now=now),
                 f"new password for {name}; every session of {name} has ended")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable user NAME: every session ends at once, sign-in and API tokens are refused."""
    _change_user(lambda conn, now: accounts.set_active(conn, name, False, actor=CLI_ACTOR,
                                                       now=now),
                 f"disabled {name}; every session of {name} has ended")


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Enable user NAME again (the sessions it had stay ended)."""
    _change_user(lambda conn, now: accounts.set_active(conn, name, True, actor=CLI_ACTOR, now=now),
                 f"enabled {name}")


@users.command("admin")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="take the admin right away instead")
def users_admin(name: str, revoke: bool) -> None:
    """Make user NAME an admin (or, with --revoke, no longer one); NAME's sessions end."""
    _change_user(lambda conn, now: accounts.set_admin(conn, name, not revoke, actor=CLI_ACTOR,
                                                      now=now),
                 f"{name} is {'no longer ' if revoke else ''}an admin; every session of {name} "
                 "has ended")


@users.command("sign-out")
@click.argument("name")
def users_sign_out(name: str) -> None:
    """End every session of user NAME (a lost laptop, say); the password stays."""
    def end(conn: Any, now: Any) -> None:
        accounts.end_sessions(conn, accounts.get_user(conn, name).id)

    _change_user(end, f"every session of {name} has ended")


def _change_user(change: Callable[[Any, Any], None], done: str) -> None:
    svc = _svc()
    try:
        with svc.uow() as uow:
            change(uow.conn, svc.clock.now())
            uow.commit()
    except EngineError as exc:
        _fail(exc)
    click.echo(done)


tokens = AppGroup("tokens", help="API tokens (stored hashed; shown once).")


@tokens.command("create")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="what the token is for")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), default=Scope.FULL.value,
              show_default=True,
              help="full: the user's own rights; read: only their reads; ingest: only stock "
                   "events and imports (counts and adjustments included)")
def tokens_create(name: str, label: str, scope: str) -> None:
    """Create an API token for user NAME; the token is printed as the last line."""
    svc = _svc()
    try:
        with svc.uow() as uow:
            token = accounts.create_token(uow.conn, name, label, svc.clock.now(), scope,
                                          actor=CLI_ACTOR)
            uow.commit()
    except EngineError as exc:
        _fail(exc)
    click.echo(f"{scope} token for {name} ({label}); store it now, it is not shown again:")
    click.echo(token)


@tokens.command("revoke")
@click.argument("prefix")
def tokens_revoke(prefix: str) -> None:
    """Revoke the token(s) starting with PREFIX (the first 10 characters)."""
    svc = _svc()
    with svc.uow() as uow:
        n = accounts.revoke_token(uow.conn, prefix, svc.clock.now(), actor=CLI_ACTOR)
        uow.commit()
    click.echo(f"revoked {n} token(s)")


def init_app(app: Flask) -> None:
    from admin import demand_cli, demo_cli, events_cli, import_cli, work_cli, worker_cli

    for group in (db, ruleset, users, tokens):
        app.cli.add_command(group)
    demand_cli.init_app(app)
    demo_cli.init_app(app)
    events_cli.init_app(app)
    import_cli.init_app(app)
    worker_cli.init_app(app)
    work_cli.init_app(app)
