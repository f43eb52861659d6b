"""CLI: ``flask --app wsgi import PLUGIN [options]`` and the sources and runs of imports.

Each installed importer is a subcommand. A file importer takes ``FILE --kind … --map …
--skip-bad --dry-run`` and its own options (``--encoding``, ``--sheet``); a network importer
takes its protocol's options (``--url``, ``--db``, ``--api-key`` …, generated from its
``Option``s) or ``--source NAME`` of a configured source. A run prints its progress on stderr
and its counts at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from engine.bootstrap import Services
from engine.errors import EngineError, InputInvalid
from engine.imports.plugin import KINDS, MODES, Importer, ImportFailed, Option, load_importers
from engine.imports.service import parse_mapping

PROGRESS_EVERY_S = 2.0
RESERVED = ("sources", "runs", "resume", "due")


def _svc() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


def _flag(option: Option) -> str:
    return "--" + option.name.replace("_", "-")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class ImportGroup(click.Group):
    """``import``: one subcommand per installed importer, plus sources, runs and resume."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*RESERVED, *sorted(n for n in load_importers() if n not in RESERVED)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        importer = load_importers().get(name)
        if importer is None:
            return None
        return _file_command(importer) if importer.reads_files else _network_command(importer)


imports = ImportGroup("import", help="Import master data, stock, moves, sales and purchase "
                                     "orders from files (csv, excel) or an ERP.")


def _importer_options(importer: Importer, prompt_secrets: bool = False) -> list[click.Option]:
    out = []
    for option in importer.options:
        help_text = f"{option.help} / {option.help_zh}"
        if option.secret:
            help_text += " (or env:VAR to read it from the environment)"
        out.append(click.Option([_flag(option), option.name], default=option.default,
                                help=help_text, show_default=option.default is not None))
    return out


def _file_command(importer: Importer) -> click.Command:
    def callback(file: str, kind: str | None, mapping: str | None, skip_bad: bool,
                 dry_run: bool, **options: Any) -> None:
        svc = _svc()
        given = {k: v for k, v in options.items() if v is not None}
        try:
            parsed = parse_mapping(mapping)
            preview = svc.imports.preview(importer.name, file, kind, parsed, given, limit=0)
            click.echo(f"{preview.get('file', file)}: {preview['kind']}, header in row "
                       f"{preview.get('header_row', '?')}; columns: " + ", ".join(
                           f"{f}={c}" for f, c in preview["columns"].items()), err=True)
            if preview.get("ignored"):
                click.echo("not used: " + ", ".join(preview["ignored"]), err=True)
            for note in preview.get("notes", []):
                click.echo(f"note: {note}", err=True)
            run_id = svc.imports.start_file_run(
                importer.name, str(file), kind=kind or preview["kind"], actor="cli",
                file_name=str(file).rsplit("/", 1)[-1], mapping=parsed, options=given,
                skip_bad=skip_bad, dry_run=dry_run)
        except ImportFailed as exc:
            _fail(str(exc))
        except EngineError as exc:
            _fail(_engine_message(exc))
        _run(svc, run_id)

    params: list[click.Parameter] = [
        click.Argument(["file"], type=click.Path(exists=True, dir_okay=False)),
        click.Option(["--kind"], type=click.Choice(KINDS),
                     help="what the file holds (default: told from its columns)"),
        click.Option(["--map", "mapping"], metavar="FIELD=COLUMN,…",
                     help="columns the alias table does not know, e.g. sku=存货编码,on_hand=现存数量"),
        click.Option(["--skip-bad"], is_flag=True,
                     help="import the good rows of a file with bad rows (the bad rows are kept "
                          "for review); without it such a file imports nothing"),
        click.Option(["--dry-run"], is_flag=True, help="check every row; import nothing"),
        *_importer_options(importer),
    ]
    return click.Command(importer.name, callback=with_appcontext(callback), params=params,
                         help=f"Import a file: {importer.label.get('en', importer.name)} "
                              f"({importer.label.get('zh', '')}).")


def _network_command(importer: Importer) -> click.Command:
    def callback(source: str | None, kind: str | None, mode: str | None, dry_run: bool,
                 **options: Any) -> None:
        svc = _svc()
        given = {name: v for name, v in options.items() if v is not None}
        try:
            if source:
                if given:
                    raise click.UsageError("give either --source or the connection options")
                run_id = svc.imports.start_source_run(source, actor="cli", kind=kind,
                                                      mode=mode or "incremental", dry_run=dry_run)
            else:
                for option in importer.options:
                    if option.required and option.name not in given:
                        given[option.name] = click.prompt(_flag(option)[2:],
                                                          hide_input=option.secret)
                run_id = svc.imports.start_plugin_run(importer.name, given, actor="cli",
                                                      kind=kind, mode=mode or "snapshot",
                                                      dry_run=dry_run)
        except EngineError as exc:
            _fail(_engine_message(exc))
        _run(svc, run_id)

    params: list[click.Parameter] = [
        click.Option(["--source"], help="a configured source (import sources add)"),
        click.Option(["--kind"], type=click.Choice(KINDS), help="default: every kind it offers"),
        click.Option(["--mode"], type=click.Choice(MODES),
                     help="incremental (from the source's cursor) or snapshot (everything; "
                          "reconciles what is gone); default: incremental for a source"),
        click.Option(["--dry-run"], is_flag=True, help="read and check; import nothing"),
        *_importer_options(importer),
    ]
    return click.Command(importer.name, callback=with_appcontext(callback), params=params,
                         help=f"Import from {importer.label.get('en', importer.name)} "
                              f"({importer.label.get('zh', '')}).")


def _engine_message(exc: EngineError) -> str:
    if isinstance(exc, InputInvalid):
        return "; ".join(f"{e.get('field') or ''}: {e.get('message')}".lstrip(": ")
                         for e in exc.errors)
    return str(exc)


def _run(svc: Services, run_id: int) -> None:
    """Run to the end here, with progress on stderr; the counts; exit 1 unless done."""
    said = [time.monotonic()]

    def progress(info: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - said[0] < PROGRESS_EVERY_S:
            return
        said[0] = now
        done, total = info["progress"] or (None, None)
        share = f", {100 * done / total:.0f} %" if done is not None and total else ""
        c = info["counts"]
        click.echo(f"… {info['phase']} {info['where']}{share}: {c['rows']:,} rows, "
                   f"{c['accepted']:,} events accepted", err=True)

    click.echo(f"import run {run_id}", err=True)
    try:
        run = svc.imports.run(run_id, progress)
    except KeyboardInterrupt:
        click.echo(f"interrupted: run {run_id} stopped after its last committed page; "
                   f"`flask --app wsgi import resume {run_id}` imports the rest", err=True)
        sys.exit(130)
    _summary(svc, run)
    if run["state"] != "done":
        sys.exit(1)


def _summary(svc: Services, run: dict[str, Any]) -> None:
    c = run["counts"]
    click.echo(f"run {run['id']} {run['state']}: {c['rows']:,} rows, {c['bad']:,} bad; "
               f"master data {c['created']:,} created, {c['updated']:,} updated, "
               f"{c['unchanged']:,} unchanged; events {c['accepted']:,} accepted, "
               f"{c['duplicate']:,} duplicate, {c['rejected']:,} rejected"
               + (f"; {c['reconciled']:,} reconciled to 0" if c.get("reconciled") else "")
               + (f"; {c['cancelled']:,} cancelled" if c.get("cancelled") else ""))
    if run.get("message"):
        click.echo(run["message"], err=run["state"] != "done")
    view = svc.imports.run_view(run["id"], bad_limit=20)
    for bad in view["bad_rows"]:
        click.echo(f"  {bad['where']}: {bad['reason']}", err=True)
    if c["bad"] > len(view["bad_rows"]):
        click.echo(f"  … {c['bad'] - len(view['bad_rows'])} more: "
                   f"`flask --app wsgi import runs {run['id']}`", err=True)
    if c["rejected"]:
        click.echo("rejected events are kept: `flask --app wsgi events rejected`", err=True)


# -- sources --------------------------------------------------------------------------------
@imports.group("sources")
def sources() -> None:
    """Configured sources (an ERP and its connection), their cursors and tests."""


@sources.command("add", context_settings={"ignore_unknown_options": True,
                                          "allow_extra_args": True})
@click.argument("name")
@click.argument("plugin")
@click.option("--every", type=int, help="sync every N minutes (by the worker)")
@click.option("--replace", is_flag=True, help="change an existing source")
@click.pass_context
@with_appcontext
def sources_add(ctx: click.Context, name: str, plugin: str, every: int | None,
                replace: bool) -> None:
    """Configure source NAME of importer PLUGIN with its options (--url U --api-key env:KEY …).
    Secrets are stored encrypted (or as env:VAR) and never shown again."""
    svc = _svc()
    importer = svc.imports.importers.get(plugin)
    if importer is None:
        _fail(f"no importer '{plugin}'; installed: {', '.join(sorted(svc.imports.importers))}")
    config = _pairs(ctx.args, importer)
    for option in importer.options:
        if option.required and option.name not in config:
            config[option.name] = click.prompt(option.name, hide_input=option.secret)
    try:
        svc.imports.add_source(name, plugin, config, every, replace=replace, actor="cli")
    except EngineError as exc:
        _fail(_engine_message(exc))
    click.echo(f"source {name} ({plugin}) {'changed' if replace else 'added'}; "
               f"test it: flask --app wsgi import sources test {name}")


def _pairs(args: list[str], importer: Importer) -> dict[str, Any]:
    by_flag = {_flag(o): o.name for o in importer.options}
    config: dict[str, Any] = {}
    i = 0
    while i < len(args):
        flag, _, value = args[i].partition("=")
        if flag not in by_flag:
            _fail(f"{flag} is not an option of {importer.name}; its options: "
                  f"{', '.join(by_flag) or 'none'}")
        if not _:
            i += 1
            if i >= len(args):
                _fail(f"{flag} needs a value")
            value = args[i]
        config[by_flag[flag]] = value
        i += 1
    return config


@sources.command("list")
@with_appcontext
def sources_list() -> None:
    """Configured sources, their options (secrets hidden) and schedules."""
    rows = _svc().imports.sources()
    for row in rows:
        options = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in row["config"].items())
        every = f" every {row['every_minutes']} min" if row["every_minutes"] else ""
        click.echo(f"{row['name']}: {row['plugin']}{every} {options}".rstrip())
    if not rows:
        click.echo("no sources; add one: flask --app wsgi import sources add NAME PLUGIN --url …")


@sources.command("test")
@click.argument("name")
@with_appcontext
def sources_test(name: str) -> None:
    """Connect and read a little: what was found, or why not."""
    try:
        click.echo(_svc().imports.test_source(name))
    except ImportFailed as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(_engine_message(exc))


# -- runs -----------------------------------------------------------------------------------
@imports.command("runs")
@click.argument("run_id", type=int, required=False)
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def runs(run_id: int | None, limit: int) -> None:
    """The history of runs, or one run with its bad rows."""
    svc = _svc()
    if run_id is not None:
        try:
            view = svc.imports.run_view(run_id, bad_limit=limit)
        except EngineError as exc:
            _fail(_engine_message(exc))
        _summary(svc, view)
        return
    from engine.imports import store

    with svc.uow() as uow:
        total, rows = store.list_runs(uow.conn, limit)
    for r in rows:
        c = r["counts"]
        what = r["file_name"] or r["plugin"]
        click.echo(f"#{r['id']} {r['created_at']:%Y-%m-%d %H:%M} {r['plugin']} {r['kind'] or '*'} "
                   f"{what}: {r['state']}, {c['rows']} rows, {c['bad']} bad, "
                   f"{c['accepted']} events accepted")
    click.echo(f"{total} run(s)")


@imports.command("resume")
@click.argument("run_id", type=int)
@with_appcontext
def resume(run_id: int) -> None:
    """Resume an interrupted or failed run after its last committed page."""
    _run(_svc(), run_id)


@imports.command("due")
@with_appcontext
def due() -> None:
    """Start the runs of sources due by their schedule (--every; the worker does it every 30 s;
    on the embedded default run this from cron)."""
    started = _svc().imports.start_due()
    click.echo(f"{len(started)} run(s) started" + (f": {', '.join(map(str, started))}"
                                                   if started else ""))


def init_app(app: Flask) -> None:
    app.cli.add_command(imports)

