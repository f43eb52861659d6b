"""Configuring an import source from a form: its options, its schedule, its secrets kept.

A form sends every option as text. A secret (password, API key) is stored encrypted or as an
``env:VAR`` reference and is never sent back to a page: the form shows that it is set, and a
secret left blank when the source is edited keeps the stored one. Problems are raised as
``InputInvalid`` with the option's name as the field, so the page puts each next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import InputInvalid
from engine.imports import secrets, store
from engine.imports.plugin import Importer
from engine.services import audit

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
MAX_EVERY_MINUTES = 7 * 24 * 60
RESERVED = ("new",)  # /admin/imports/sources/new is the form


def network_importers(importers: Mapping[str, Importer]) -> dict[str, Importer]:
    """The importers a source can be configured for (those that read no uploaded file)."""
    return {name: imp for name, imp in sorted(importers.items())
            if not getattr(imp, "reads_files", False)}


def save(service: Any, *, name: str, plugin: str, values: Mapping[str, str],
         every: str | None, existing: bool, actor: str = "system") -> None:
    """Add (or, ``existing``, update) source ``name`` of ``plugin`` from a form's values."""
    importer = service.importer(plugin)
    problems: list[dict[str, object]] = []
    if not existing and (not NAME.match(name or "") or name in RESERVED):
        problems.append({"field": "name", "message": "must be 1–64 letters, digits or . _ - "
                                                     "and start with a letter or digit"})
    every_minutes = _every(every, problems)
    stored: dict[str, Any] = {}
    if existing:
        with service.svc.uow() as uow:
            stored = dict(store.get_source(uow.conn, name)["config"])
    config: dict[str, Any] = {}
    for option in importer.options:
        value = (values.get(option.name) or "").strip()
        if not value and option.secret and existing and stored.get(option.name):
            value = stored[option.name]  # left blank: the stored secret is kept
        if value:
            config[option.name] = value
        elif option.required:
            problems.append({"field": option.name, "message": "is required"})
    if problems:
        raise InputInvalid(problems)
    service.add_source(name, plugin, config, every_minutes=every_minutes, replace=existing,
                       actor=actor)


def _every(text: str | None, problems: list[dict[str, object]]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_EVERY_MINUTES:
        problems.append({"field": "every", "message": f"must be a whole number of minutes "
                                                      f"from 1 to {MAX_EVERY_MINUTES}"})
        return None
    return int(text)


def shown_options(importer: Importer, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each option of ``importer`` as a page shows it: a secret only as set, unset or its
    environment variable, never its value."""
    out = []
    for option in importer.options:
        value = config.get(option.name)
        shown: Any = value
        state = "value" if value not in (None, "") else "unset"
        if option.secret and isinstance(value, str) and value:
            state = "env" if value.startswith(secrets.ENV) else "set"
            shown = value if state == "env" else None
        out.append({"option": option, "value": shown, "state": state})
    return out


def source(service: Any, name: str) -> dict[str, Any]:
    """A source with its stored config (secrets sealed) and its importer; ``NotFound``."""
    with service.svc.uow() as uow:
        found = store.get_source(uow.conn, name)
    found["importer"] = service.importer(found["plugin"])
    found["options"] = shown_options(found["importer"], found.pop("config"))
    return found


def history(service: Any, source_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The source's runs, newest first."""
    with service.svc.uow() as uow:
        _, runs = store.list_runs(uow.conn, limit=limit, source_id=source_id)
    return runs


def overview(service: Any) -> list[dict[str, Any]]:
    """Every source with its last run (or None)."""
    with service.svc.uow() as uow:
        rows = store.list_sources(uow.conn)
        for row in rows:
            _, last = store.list_runs(uow.conn, limit=1, source_id=row["id"])
            row["last_run"] = last[0] if last else None
            row.pop("config")
    return rows


def delete(service: Any, name: str, actor: str = "system") -> None:
    """Remove a source and its cursors (its runs stay in the history)."""
    with service.svc.uow() as uow:
        store.delete_source(uow.conn, name)
        audit.record(uow.conn, service.svc.clock.now(), actor, "source.delete", name)
        uow.commit()
