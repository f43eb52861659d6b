"""Files uploaded to be imported: where they are kept, which importer reads them, their cleanup.

An uploaded file is kept under ``instance/imports`` as ``{token}-{name}`` from its preview to
its import (the run removes it once done; an interrupted run keeps it to be resumed). The
token, 32 hex digits, is all a page carries: it never names a path. Files no run names and
older than a day (previewed, never imported) are removed when the next one arrives.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import NotFound
from engine.imports import store
from engine.storage.tables import import_runs

TOKEN = re.compile(r"^[0-9a-f]{32}$")
STALE_SECONDS = 24 * 3600
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def folder(instance_path: Path) -> Path:
    path = Path(instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_name(name: str) -> str:
    """The file's name as stored: letters (Chinese too), digits, dot, dash; at most 100."""
    base = _UNSAFE.sub("_", Path(name or "upload").name).strip("._") or "upload"
    return base[-100:]


def save(instance_path: Path, name: str, write: Callable[[Path], None]) -> str:
    """Keep an upload (``write(path)`` writes it); its token."""
    token = uuid.uuid4().hex
    write(folder(instance_path) / f"{token}-{safe_name(name)}")
    return token


def path_of(instance_path: Path, token: str) -> Path:
    """The kept file of ``token``; ``NotFound`` when it is not (or no longer) there."""
    if not TOKEN.match(token or ""):
        raise NotFound("uploaded file", token)
    found = sorted(folder(instance_path).glob(f"{token}-*"))
    if not found:
        raise NotFound("uploaded file", token)
    return found[0]


def plugin_for(path: Path) -> str:
    """``excel`` for an .xlsx workbook (a zip), else ``csv`` (which says what else it is)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return "excel" if head == b"PK\x03\x04" else "csv"


def sweep(conn: Connection, instance_path: Path, now: float | None = None) -> int:
    """Remove kept files older than a day that no run names; how many were removed."""
    moment = time.time() if now is None else now
    old = [p for p in folder(instance_path).iterdir()
           if p.is_file() and moment - p.stat().st_mtime > STALE_SECONDS]
    if not old:
        return 0
    named = set(conn.execute(select(import_runs.c.file).where(
        import_runs.c.file.in_([str(p) for p in old]))).scalars())
    removed = 0
    for p in old:
        if str(p) not in named:
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def start_again(imports: Any, conn_factory: Callable[[], Any], run_id: int, *, actor: str,
                skip_bad: bool, dry_run: bool = False) -> int:
    """A new run of a file run's kept file with the same kind, mapping and options (after a
    check, or to import the rest of a file with bad rows); ``NotFound`` when the file is gone."""
    with conn_factory() as uow:
        run = store.get_run(uow.conn, run_id)
    path = Path(run["file"] or "")
    if run["state"] not in ("done", "failed") or not run["file"] or not path.is_file():
        raise NotFound("finished file run whose file is kept", str(run_id))
    options = run["options"]
    return int(imports.start_file_run(
        run["plugin"], str(path), kind=run["kind"], actor=actor, file_name=run["file_name"],
        mapping=options.get("map") or {}, options=options.get("importer") or {},
        skip_bad=skip_bad, dry_run=dry_run, uploaded=bool(options.get("uploaded"))))
