"""CLI: ``events replay FILE.jsonl``, rejected events, and ``escalations run``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from engine.bootstrap import Services
from engine.pipeline.validate import Unparsed
from engine.services import escalations as escalation_service
from engine.services import events as event_service
from engine.strict_json import JsonInvalid, loads

PROGRESS_EVERY_S = 10.0

events = AppGroup("events", help="Stock events: replay files, review rejected ones.")


def _svc() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


class FileNotEvents(click.ClickException):
    """The file is neither JSON Lines nor one JSON array: nothing of it was ingested."""


def _read_events(path: Path) -> Iterator[Any]:
    """The items of FILE: one JSON value per line (JSON Lines; a line holding a list is a batch,
    as the API takes), or the whole file as one JSON array (what exports often are).

    A regular file is checked to be UTF-8 before anything is ingested; one that starts with
    ``[`` is read whole when it is one array, line by line when its first line is a whole JSON
    value, and refused (nothing ingested) otherwise. A pipe (``/dev/stdin``) is read as it
    comes, line by line: a line that is not UTF-8 is then a rejected event like any other."""
    if not path.is_file():
        with path.open("rb") as stream:
            yield from _items(_decoded(stream))
        return
    _check_utf8(path)
    with path.open(encoding="utf-8-sig") as fh:
        head = fh.read(4096).lstrip()
        fh.seek(0)
        if head.startswith("["):
            text = fh.read()
            try:
                whole = loads(text)
            except JsonInvalid as exc:
                first = next((line for line in text.splitlines() if line.strip()), "")
                try:
                    loads(first)  # a whole line of JSON: lines of lists, read line by line
                except JsonInvalid:  # an array over several lines that is not valid as a whole
                    raise FileNotEvents(f"{path.name}: the JSON array is not valid: {exc.message}; "
                                        "nothing was ingested") from exc
            else:
                if isinstance(whole, list):
                    yield from whole
                    return
            fh.seek(0)
        yield from _items(enumerate(fh, 1))


def _check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 before ingesting any of it (exports from Chinese
    Windows are often GBK): one bad line would otherwise stop the replay half-way."""
    with path.open("rb") as fb:
        for number, raw in enumerate(fb, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileNotEvents(f"{path.name} {_not_utf8(number, raw, exc)}; nothing was ingested") from exc


def _not_utf8(number: int, raw: bytes, exc: UnicodeDecodeError) -> str:
    return (f"line {number}, byte {exc.start + 1}: the file is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save it as UTF-8 (from GBK: iconv -f GBK -t UTF-8)")


def _decoded(stream: IO[bytes]) -> Iterator[tuple[int, str | Unparsed]]:
    for number, raw in enumerate(stream, 1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, Unparsed(raw.decode("utf-8", "replace").rstrip("\n"), _not_utf8(number, raw, exc))


def _items(lines: Iterable[tuple[int, str | Unparsed]]) -> Iterator[Any]:
    """The events of numbered lines: a line's list is its events; a line that is not JSON an
    ``Unparsed`` item, kept as a rejected event with its line and column."""
    for number, line in lines:
        if isinstance(line, Unparsed):
            yield line
        elif line.strip():
            try:
                item = loads(line)
            except JsonInvalid as exc:
                where = f"line {number}" if exc.column is None else f"line {number} column {exc.column}"
                yield Unparsed(line.rstrip("\n"), f"{where}: {exc.reason}")
                continue
            if isinstance(item, list):
                yield from item
            else:
                yield item


@events.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", default=5000, show_default=True, help="events per transaction")
def replay(file: Path, batch: int) -> None:
    """Ingest FILE.jsonl (one event per line) in batches; print counts and events per second.

    A line may hold a list of events, and FILE may be one JSON array of events (read whole:
    use JSON Lines for big files). A line that is not JSON is kept as a rejected event."""
    svc = _svc()
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    start = time.perf_counter()
    chunk: list[Any] = []

    def flush() -> None:
        with svc.uow() as uow:
            results, _ = event_service.handle(uow, svc.cache, chunk, svc.clock.now(),
                                              source=f"file:{file.name}", jobs=svc.jobs,
                                              deliverable=svc.deliverable_channels())
        for r in results:
            totals[r.status] += 1
        chunk.clear()

    said = start
    try:
        for item in _read_events(file):
            chunk.append(item)
            if len(chunk) >= batch:
                flush()
                now = time.perf_counter()
                if now - said >= PROGRESS_EVERY_S:  # a long file: show it is moving
                    said, n = now, sum(totals.values())
                    click.echo(f"… {n:,} events, {n / (now - start):,.0f} events/s", err=True)
        if chunk:
            flush()
    except KeyboardInterrupt:
        n = sum(totals.values())
        click.echo(f"interrupted: the first {n:,} events are in ({totals['accepted']} accepted); "
                   "none after them, not even part of the batch under way. Replaying the file "
                   "again skips the events already in as duplicates.", err=True)
        sys.exit(130)
    seconds = time.perf_counter() - start
    n = sum(totals.values())
    click.echo(f"{n} events: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
               f"{totals['rejected']} rejected in {seconds:.2f} s ({n / seconds if seconds else 0:,.0f} events/s)")
    if totals["rejected"]:
        click.echo("rejected events are kept: `flask --app wsgi events rejected`", err=True)


@events.command("rejected")
@click.option("--limit", default=50, show_default=True)
def rejected(limit: int) -> None:
    """List pending rejected events with their reasons."""
    svc = _svc()
    with svc.uow() as uow:
        total, rows = event_service.list_rejected(uow.conn, "pending", limit)
    for r in rows:
        reasons = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in r["errors"])
        click.echo(f"#{r['id']} {r['event_id'] or '-'}: {reasons}")
        if r["raw"] is not None:  # not JSON: what was sent, to correct and send again
            raw = r["raw"] if len(r["raw"]) <= 120 else r["raw"][:117] + "..."
            click.echo(f"    {raw}")
    click.echo(f"{total} pending rejected event(s)")


@events.command("replay-rejected")
def replay_rejected() -> None:
    """Try every pending rejected event again (after fixing master data)."""
    svc = _svc()
    with svc.uow() as uow:
        counts = event_service.replay_rejected(uow, svc.cache, svc.clock.now(), jobs=svc.jobs, deliverable=svc.deliverable_channels())
    click.echo(json.dumps(counts))
    if counts["rejected"]:
        sys.exit(1)


escalations = AppGroup("escalations", help="Escalate open alerts whose time is up.")


@escalations.command("run")
def escalations_run() -> None:
    """Fire every escalation that is due now, and move overdue tasks to their role's
    escalate_to (idempotent; safe to run from cron)."""
    svc = _svc()
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
        fired = escalation_service.fire_all(uow.conn, svc.clock.now(),
                                            active.compiled if active else None)
        uow.commit()
    for f in fired:
        if "task" in f:
            click.echo(f"task {f['task']} overdue: {f['from']} → {f['to']}")
        else:
            click.echo(f"alert {f['alert']} level {f['level']} → {f['to']} (tasks {f['tasks']})")
    click.echo(f"{len(fired)} escalation(s) fired")


outbox_cli = AppGroup("outbox", help="Jobs waiting in the transactional outbox.")


@outbox_cli.command("status")
def outbox_status() -> None:
    """Counts by state and the age of the oldest unfinished row."""
    from engine.services import outbox

    svc = _svc()
    with svc.uow() as uow:
        click.echo(json.dumps(outbox.stats(uow.conn, svc.clock.now())))


@outbox_cli.command("run")
def outbox_run() -> None:
    """Hand every due row to the jobs runner now (on the embedded default: run them here)."""
    from engine.services.runner import relay_once

    n = relay_once(_svc())
    click.echo(f"{n} job(s) handed over")


@outbox_cli.command("retry")
def outbox_retry() -> None:
    """Put failed jobs and failed notifications back in line (after fixing their cause)."""
    from engine.services import deliveries, outbox

    svc = _svc()
    now = svc.clock.now()
    with svc.uow() as uow:
        jobs = outbox.retry_failed(uow.conn, now)
        notes = deliveries.retry(uow.conn, None, now)
        for note_id in notes:
            outbox.add(uow.conn, "deliver", {"notification": note_id}, now)
        uow.commit()
    click.echo(f"{jobs} job(s) and {len(notes)} notification(s) will be tried again")


abc_cli = AppGroup("abc", help="ABC classes from revenue share (A 80 %, B 15 %, C 5 %).")


@abc_cli.command("recompute")
@click.option("--days", default=90, show_default=True, help="revenue window")
def abc_recompute(days: int) -> None:
    """Classify every SKU whose class was not given, from its revenue over the last DAYS days."""
    from engine.services import abc

    svc = _svc()
    with svc.uow() as uow:
        counts = abc.recompute(uow.conn, svc.clock.now().date(), days, now=svc.clock.now())
        uow.commit()
    click.echo(f"A {counts['A']}, B {counts['B']}, C {counts['C']}")


def init_app(app: Flask) -> None:
    app.cli.add_command(events)
    app.cli.add_command(escalations)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(abc_cli)
