"""REST: start import runs (an uploaded file, or a configured source) and follow them.

``POST /imports/{plugin}`` answers 202 with the run's id at once; the run is a job (an RQ
worker in production, a thread of this process on the embedded default). Importing sets stock
(counts, adjustments, on-order): admins and ingest-scoped tokens may (``Right.SET_STOCK``).
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.utils import secure_filename

from admin.api import import_schemas as s
from admin.api import schemas
from admin.api.body import json_body
from admin.auth import require, services
from admin.errors import BadRequest
from engine.errors import InputInvalid
from engine.imports import store
from engine.imports.plugin import ImportFailed
from engine.imports.records import BadRow
from engine.imports.service import parse_mapping
from engine.policy import Right

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports",
                description="Importers: files and ERPs (SPEC §6–§7)")
FILE_FIELDS = ("kind", "map", "skip_bad", "dry_run", "file")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _started(run_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    # Handed to the jobs runner; if the queue is unreachable it stays queued, to be resumed
    # (``flask --app wsgi import resume ID``): either way the answer is the run to follow.
    services().jobs.run_import(run_id)
    url = url_for("imports.Run", run_id=run_id)
    return {"id": run_id, "state": "queued", "url": url}, 202, {"Location": url}


def _save_upload(plugin: str) -> tuple[str, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputInvalid([{"field": "file", "message": "a file is required (multipart field "
                                                         "'file')"}])
    folder = Path(services().settings.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    name = secure_filename(upload.filename) or "upload"
    path = folder / f"{uuid.uuid4().hex}-{name}"
    upload.save(path)
    return str(path), upload.filename


@blp.route("")
class Importers(MethodView):
    @require(Right.SET_STOCK)
    @blp.response(200, s.ImporterSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The installed importers with their options (a page builds its form from them)."""
        return [{"name": name, "label": dict(imp.label), "reads_files": imp.reads_files,
                 "options": [dataclasses.asdict(o) for o in imp.options]}
                for name, imp in sorted(services().imports.importers.items())]


@blp.route("/<plugin>")
class Start(MethodView):
    @require(Right.SET_STOCK)
    @blp.doc(requestBody={"required": True, "content": {
        "multipart/form-data": {"schema": s.FileRunFormSchema},
        "application/json": {"schema": s.SourceRunRequestSchema}}})
    @blp.response(202, s.ImportStartedSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema, description="no such importer or source")
    @blp.alt_response(422, schema=schemas.RowErrorsSchema, description="a bad field")
    def post(self, plugin: str) -> Any:
        """Start an import run: a file (multipart: file, kind, map, skip_bad, dry_run and the
        importer's options such as encoding or sheet), or a configured source (JSON
        ``{"source": NAME, "kind", "mode", "dry_run"}``). Answers 202 with the run's id."""
        svc = services()
        imports = svc.imports
        importer = imports.importer(plugin)
        if request.mimetype == "multipart/form-data":
            request.max_content_length = svc.settings.max_upload_bytes
            if not importer.reads_files:
                raise InputInvalid([{"field": "file", "message": f"'{plugin}' reads no files"}])
            form = request.form
            known = {o.name for o in importer.options}
            options = {k: v for k, v in form.items() if k in known and v}
            path, name = _save_upload(plugin)
            run_id = imports.start_file_run(
                plugin, path, kind=form.get("kind") or None, actor=_actor(), file_name=name,
                mapping=parse_mapping(form.get("map")), options=options,
                skip_bad=_flag(form.get("skip_bad")), dry_run=_flag(form.get("dry_run")),
                uploaded=True)
            return _started(run_id)
        body = json_body()
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        kind, mode, dry = body.get("kind"), body.get("mode"), bool(body.get("dry_run"))
        if body.get("source"):
            run_id = imports.start_source_run(str(body["source"]), actor=_actor(), kind=kind,
                                              mode=mode or "incremental", dry_run=dry)
        elif isinstance(body.get("options"), dict) and not importer.reads_files:
            run_id = imports.start_plugin_run(plugin, body["options"], actor=_actor(),
                                              kind=kind, mode=mode or "snapshot", dry_run=dry)
        else:
            raise InputInvalid([{"field": "source", "message": "name a configured 'source' "
                                 "(or upload a file as multipart/form-data)"}])
        return _started(run_id)


@blp.route("/<plugin>/preview")
class Preview(MethodView):
    @require(Right.SET_STOCK)
    @blp.doc(requestBody={"required": True, "content": {
        "multipart/form-data": {"schema": s.FileRunFormSchema}}})
    @blp.response(200, s.PreviewSchema)
    def post(self, plugin: str) -> dict[str, Any]:
        """What a file holds, before importing it: the kind, the header row, each column
        recognised and the first records and bad rows (nothing is written)."""
        svc = services()
        request.max_content_length = svc.settings.max_upload_bytes
        importer = svc.imports.importer(plugin)
        form = request.form
        known = {o.name for o in importer.options}
        path, _ = _save_upload(plugin)
        try:
            found = svc.imports.preview(plugin, path, form.get("kind") or None,
                                        parse_mapping(form.get("map")),
                                        {k: v for k, v in form.items() if k in known and v},
                                        limit=min(request.args.get("limit", 20, type=int), 200))
        except ImportFailed as exc:
            raise InputInvalid([{"field": exc.where, "message": exc.reason}]) from None
        finally:
            Path(path).unlink(missing_ok=True)
        found["records"] = [_plain(r) for r in found["records"]]
        found["bad_rows"] = [_plain(b) for b in found["bad_rows"]]
        return found


@blp.route("/runs")
class Runs(MethodView):
    @require(Right.SET_STOCK)
    @blp.response(200, s.ImportRunPageSchema)
    def get(self) -> dict[str, Any]:
        """The history of runs, newest first (paged with limit and offset)."""
        svc = services()
        with svc.uow() as uow:
            limit = min(request.args.get("limit", 50, type=int), 500)
            total, rows = store.list_runs(uow.conn, limit, request.args.get("offset", 0, type=int))
        for row in rows:
            row["options"] = {k: v for k, v in row["options"].items() if k != "config"}
        return {"total": total, "items": rows}


@blp.route("/runs/<int:run_id>")
class Run(MethodView):
    @require(Right.SET_STOCK)
    @blp.response(200, s.ImportRunSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema, description="no such run")
    def get(self, run_id: int) -> dict[str, Any]:
        """A run: its state, progress, counts, errors and first bad rows (``?bad_rows=N``)."""
        limit = min(request.args.get("bad_rows", 100, type=int), 1000)
        return services().imports.run_view(run_id, bad_limit=limit)


def _actor() -> str:
    from flask import g

    return str(g.user.username)


def _plain(record: Any) -> dict[str, Any]:
    out = {"record": type(record).__name__} if not isinstance(record, BadRow) else {}
    for key, value in dataclasses.asdict(record).items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
