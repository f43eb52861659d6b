"""数据导入 Data import (admins): upload an Excel or CSV file, see how it reads, import it.

Upload → preview (the kind, each source column and the field it fills, the first rows with
their problems marked, a select per column to change the mapping) → import, a run of the
import service whose progress the run page polls → its counts and bad rows. The preview
writes nothing; the file waits under a token (``engine.imports.uploads``) until it is
imported. Runs of ERP sources are on the sources page (``import_sources``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.import_labels import FIELD_LABELS, KIND_LABELS
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required
from engine.errors import NotFound
from engine.imports import sample, store, uploads
from engine.imports.plugin import ImportFailed
from engine.imports.records import BadRow, SalesColumns
from engine.policy import Right

bp = web_blueprint("data_import", __name__, url_prefix="/admin/imports")
UPLOAD_ENDPOINTS = frozenset({"data_import.preview"})
PREVIEW_ROWS = 20
RUNS_PAGE = 50
KEPT_UPLOADS = 5  # tokens a session remembers
ENCODINGS = ("utf-8", "gb18030", "utf-16")


def _uploads() -> dict[str, list[str]]:
    found = session.get("uploads")
    return dict(found) if isinstance(found, dict) else {}


def _remember(token: str, name: str, plugin: str) -> None:
    kept = _uploads()
    kept[token] = [name, plugin]
    session["uploads"] = dict(list(kept.items())[-KEPT_UPLOADS:])


def _upload(token: str) -> tuple[str, str, str]:
    """(path, original name, plugin) of an upload of this session; 404 for any other token."""
    found = _uploads().get(token)
    if not found:
        raise NotFound("uploaded file", token)
    path = uploads.path_of(services().settings.instance_path, token)
    return str(path), found[0], found[1]


@bp.get("")
@login_required(Right.ADMIN)
def index() -> Any:
    with services().uow() as uow:
        _, runs = store.list_runs(uow.conn, limit=10)
    return render_template("imports/index.html", runs=runs, kinds=KIND_LABELS,
                           encodings=ENCODINGS, tab="files")


@bp.post("/preview")
@login_required(Right.ADMIN)
def preview() -> Any:
    svc = services()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        with svc.uow() as uow:
            uploads.sweep(uow.conn, svc.settings.instance_path)
        token = uploads.save(svc.settings.instance_path, upload.filename, upload.save)
        path = str(uploads.path_of(svc.settings.instance_path, token))
        plugin = uploads.plugin_for(uploads.path_of(svc.settings.instance_path, token))
        _remember(token, upload.filename, plugin)
        name = upload.filename
        mapping: dict[str, str] = {}
    elif request.form.get("token"):
        token = request.form["token"]
        path, name, plugin = _upload(token)
        mapping, problem = _mapping_of(request.form)
        if request.form.get("kind", "") != request.form.get("shown_kind", ""):
            mapping, problem = {}, None  # another kind: its columns are recognised afresh
        if problem:
            flash(problem, "error")
    else:
        flash(_("Choose a file to import first."), "error")
        return redirect(url_for(".index"), 303)
    kind = request.form.get("kind") or None
    if kind is not None and kind not in KIND_LABELS:
        abort(400)
    upload_ = {"token": token, "path": path, "name": name, "plugin": plugin,
               "options": _options(plugin, request.form)}
    if request.form.get("pick"):  # naming the header row and the kind by hand
        return _pick(upload_, kind, None)
    try:
        found = svc.imports.preview(plugin, path, kind, mapping, upload_["options"],
                                    limit=PREVIEW_ROWS)
    except ImportFailed as exc:
        return _pick(upload_, kind, exc)
    problems = sample.check_records(svc, found["kind"], found["records"], found["columns"])
    rows = _rows(found["records"], found["bad_rows"] + problems)
    return render_template("imports/preview.html", found=found, token=token, file_name=name,
                           plugin=plugin, options=upload_["options"], rows=rows,
                           kinds=KIND_LABELS, fields=_fields(found), chosen=_chosen(found),
                           problems=len({r["row"] for r in rows if r["problems"]}),
                           field_names=_record_fields(found["records"]), tab="files")


def _pick(upload_: dict[str, Any], kind: str | None, failed: ImportFailed | None) -> Any:
    """The header was not recognised (or the user asks to name it): the first rows as they
    are, a choice of the header row and the kind, then a field for each of its columns. A
    file that cannot be read at all gets the reason, on the upload page."""
    try:
        first = sample.first_rows(services().imports, upload_["plugin"], upload_["path"],
                                  upload_["options"])
    except ImportFailed as exc:
        failed = exc
        first = None
    if first is None:
        return render_template("imports/index.html", runs=[], kinds=KIND_LABELS,
                               encodings=ENCODINGS, tab="files", failed=failed,
                               file_name=upload_["name"], kind=kind), 422
    rows = first["rows"]
    numbers = [n for n, _ in rows]
    header_row = request.form.get("header_row", type=int)
    if header_row not in numbers:
        header_row = _likely_header(rows)
    headers = next((cells for n, cells in rows if n == header_row), [])
    fields = first["fields"].get(kind or "", {"required": [], "optional": []})
    return render_template("imports/pick.html", upload=upload_, failed=failed, rows=rows,
                           header_row=header_row, headers=headers, kind=kind,
                           kinds=KIND_LABELS, tab="files",
                           fields=[(f, True) for f in fields["required"]]
                           + [(f, False) for f in fields["optional"]])


def _likely_header(rows: list[tuple[int, list[str]]]) -> int | None:
    """The first row with two or more cells of text that are not numbers."""
    for number, cells in rows:
        words = [c for c in cells if c and not c.replace(".", "", 1).replace(",", "").isdigit()]
        if len(words) >= 2:
            return number
    return rows[0][0] if rows else None


@bp.post("/start")
@login_required(Right.ADMIN)
def start() -> Any:
    svc = services()
    path, name, plugin = _upload(request.form.get("token", ""))
    mapping, problem = _mapping_of(request.form)
    if problem:
        return preview()  # the preview again, with the problem on top
    kind = request.form.get("kind") or None
    if (kind or "") != request.form.get("shown_kind", ""):
        mapping = {}  # another kind than the preview showed: its columns recognised afresh
    run_id = svc.imports.start_file_run(
        plugin, path, kind=kind, actor=_actor(), file_name=name, mapping=mapping,
        options=_options(plugin, request.form), skip_bad=bool(request.form.get("skip_bad")),
        dry_run=request.form.get("action") == "check", uploaded=True)
    svc.jobs.run_import(run_id)
    return redirect(url_for(".run", run_id=run_id), 303)


@bp.get("/runs")
@login_required(Right.ADMIN)
def runs() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with services().uow() as uow:
        total, items = store.list_runs(uow.conn, RUNS_PAGE, (page - 1) * RUNS_PAGE)
    return render_template("imports/runs.html", runs=items, total=total, page=page,
                           pages=max((total + RUNS_PAGE - 1) // RUNS_PAGE, 1), tab="runs")


@bp.get("/runs/<int:run_id>")
@login_required(Right.ADMIN)
def run(run_id: int) -> Any:
    view = services().imports.run_view(run_id, bad_limit=200)
    return render_template("imports/run.html", run=view, again=_file_kept(run_id),
                           tab="runs" if view.get("source_id") is None else "sources")


@bp.get("/runs/<int:run_id>/progress")
@login_required(Right.ADMIN)
def progress(run_id: int) -> Any:
    """The progress part of the run page, polled while the run is under way."""
    view = services().imports.run_view(run_id, bad_limit=200)
    if view["state"] in store.ACTIVE or request.args.get("part"):
        return render_template("imports/_progress.html", run=view)
    # finished: the client reloads the whole page (counts, bad rows, what to do next)
    return "", 204, {"HX-Redirect": url_for(".run", run_id=run_id)}


@bp.post("/runs/<int:run_id>/again")
@login_required(Right.ADMIN)
def again(run_id: int) -> Any:
    """Import a checked file (or the rest of a file with bad rows, skipping them)."""
    svc = services()
    new_id = uploads.start_again(svc.imports, svc.uow, run_id, actor=_actor(),
                                 skip_bad=bool(request.form.get("skip_bad")))
    svc.jobs.run_import(new_id)
    return redirect(url_for(".run", run_id=new_id), 303)


# -- helpers ---------------------------------------------------------------------------------
def _actor() -> str:
    user = current_user()
    assert user is not None  # login_required
    return str(user.username)


def _file_kept(run_id: int) -> bool:
    with services().uow() as uow:
        run = store.get_run(uow.conn, run_id)
    return bool(run["file"]) and Path(run["file"]).is_file() and run["state"] in (
        "done", "failed") and run["source_id"] is None


def _options(plugin: str, form: Any) -> dict[str, str]:
    """The importer's own options the page offers: the encoding of a CSV file, the sheet of a
    workbook."""
    if plugin == "csv":
        encoding = form.get("encoding", "")
        return {"encoding": encoding} if encoding in ENCODINGS else {}
    sheet = (form.get("sheet") or "").strip()
    return {"sheet": sheet} if sheet and plugin == "excel" else {}


def _mapping_of(form: Any) -> tuple[dict[str, str], str | None]:
    """The page's selects (``col-N`` = field, ``head-N`` = that column's header) as a mapping
    in which every field of the kind not chosen is in no column; a problem when one field is
    chosen for two columns."""
    mapping: dict[str, str] = {}
    problem = None
    n = 0
    while f"head-{n}" in form:
        chosen, header = form.get(f"col-{n}", ""), form[f"head-{n}"]
        if chosen:
            if chosen in mapping:
                problem = _("'%(field)s' was chosen for two columns (%(a)s and %(b)s); the "
                            "first is used.", field=FIELD_LABELS.get(chosen, chosen),
                            a=mapping[chosen], b=header)
            else:
                mapping[chosen] = header
        n += 1
    for name in form.getlist("fields"):
        mapping.setdefault(name, "")  # a field the page offered and no column was chosen for
    return mapping, problem


def _fields(found: dict[str, Any]) -> list[tuple[str, bool]]:
    """The kind's fields for the selects, required ones first."""
    fields = found.get("fields") or {"required": [], "optional": []}
    return [(f, True) for f in fields["required"]] + [(f, False) for f in fields["optional"]]


def _chosen(found: dict[str, Any]) -> dict[str, str]:
    """Header → the field it was recognised as."""
    return {header: name for name, header in found["columns"].items()}


def _record_fields(records: list[Any]) -> list[str]:
    """The fields the first records carry, in their order (the preview table's columns)."""
    names: list[str] = []
    for rec in records:
        if isinstance(rec, SalesColumns):  # a page of daily sales rows at once
            names.extend(k for k in ("date", "sku", "warehouse", "qty") if k not in names)
            continue
        for key, value in _plain(rec).items():
            if value not in (None, "", (), []) and key not in names:
                names.append(key)
    return names


def _rows(records: list[Any], bad: list[BadRow]) -> list[dict[str, Any]]:
    """The first rows in file order: each with its values (our fields) and its problems."""
    by_row: dict[Any, dict[str, Any]] = {}
    for rec in records:
        if isinstance(rec, SalesColumns):
            for number, sku, wh, qty, day in zip(rec.row, rec.sku, rec.warehouse, rec.qty,
                                                 rec.day):
                by_row[number] = {"row": number, "cells": {
                    "sku": sku, "warehouse": wh, "qty": qty, "date": day}, "problems": [],
                                  "raw": None}
            continue
        number = _row_number(getattr(rec, "origin", None))
        entry = by_row.setdefault(number, {"row": number, "cells": {}, "problems": [],
                                           "raw": None})
        entry["cells"].update({k: v for k, v in _plain(rec).items() if v not in (None, "")})
    for b in bad:
        entry = by_row.setdefault(b.row, {"row": b.row, "cells": {}, "problems": [],
                                          "raw": None})
        entry["problems"].append({"column": b.column, "reason": b.reason, "where": b.where})
        entry["raw"] = entry["raw"] or b.raw
    return sorted(by_row.values(), key=lambda r: (r["row"] is None, r["row"] or 0))


def _row_number(origin: str | None) -> int | None:
    if origin and origin.startswith("row ") and origin[4:].isdigit():
        return int(origin[4:])
    return None


def _plain(record: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(record):
        if f.name in ("origin", "id", "factor", "cancelled"):
            continue
        value = getattr(record, f.name)
        if isinstance(value, tuple):
            value = ", ".join(getattr(v, "supplier", str(v)) for v in value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        out[f.name] = value
    return out
