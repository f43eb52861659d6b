"""The import service: runs an importer and applies what it yields, page by page.

A run of a file importer is all-or-nothing: a first pass reads the whole file and checks every
row (nothing is written); a file with bad rows imports nothing unless ``skip_bad``, and then
its bad rows are kept for review. A run of a network importer applies page by page, keeping
the records it could not use. Each page commits with the run's cursor, so an interrupted run
resumes after its last committed page, and deterministic event ids make re-read pages (the
overlap window) duplicates, never double counts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from engine.errors import Conflict, InputInvalid, NotFound
from engine.imports import apply as applying
from engine.imports import master, secrets, store
from engine.imports.dedupe import Naming
from engine.imports.plugin import KINDS, MODES, Importer, ImportFailed, ImportRequest
from engine.imports.records import BadRow, Page, SalesColumns
from engine.imports.validate import Checked, Validator
from engine.rules.compiled import RulesetSettings
from engine.services import audit, catalog, events
from engine.services.engine_cache import DEFAULT_TZ

if TYPE_CHECKING:
    from engine.bootstrap import Services

log = logging.getLogger(__name__)
Progress = Callable[[dict[str, Any]], None]
MASTER_KINDS = ("suppliers", "warehouses", "skus")
FILE_SOURCE = "file"  # the purchase-order lines of file imports, whatever the file
PROGRESS_EVERY_S = 1.0
MASTER_CHUNK = 5000  # rows per bulk upsert (PUT /skus takes at most 10,000)


class ImportService:
    """One per process (``Services.imports``); runs are started, run and resumed here."""

    def __init__(self, svc: Services, importers: Mapping[str, Importer]) -> None:
        self.svc = svc
        self.importers = importers

    def importer(self, plugin: str) -> Importer:
        found = self.importers.get(plugin)
        if found is None:
            raise NotFound("importer", plugin)
        return found

    # -- starting runs ---------------------------------------------------------------------
    def start_file_run(self, plugin: str, file: str, *, kind: str | None, actor: str,
                       file_name: str | None = None, mapping: Mapping[str, str] | None = None,
                       options: Mapping[str, Any] | None = None, skip_bad: bool = False,
                       dry_run: bool = False, uploaded: bool = False) -> int:
        importer = self.importer(plugin)
        if not getattr(importer, "reads_files", False):
            raise InputInvalid([{"field": "plugin", "message": f"'{plugin}' reads no files; "
                                 "name a configured source or give its options"}])
        _check_kind(kind)
        with self.svc.uow() as uow:
            run_id = store.add_run(uow.conn, plugin=plugin, kind=kind, mode="snapshot",
                                   actor=actor, now=self.svc.clock.now(), file=file,
                                   file_name=file_name, options={
                                       "map": dict(mapping or {}), "importer": dict(options or {}),
                                       "skip_bad": skip_bad, "dry_run": dry_run,
                                       "uploaded": uploaded})
            uow.commit()
        return run_id

    def start_source_run(self, name: str, *, actor: str, kind: str | None = None,
                         mode: str = "incremental", dry_run: bool = False) -> int:
        _check_kind(kind)
        _check_mode(mode)
        with self.svc.uow() as uow:
            source = store.get_source(uow.conn, name)
            self.importer(source["plugin"])
            now = self.svc.clock.now()
            self._refuse_concurrent(uow.conn, source["id"], now)
            run_id = store.add_run(uow.conn, plugin=source["plugin"], kind=kind, mode=mode,
                                   actor=actor, now=now, source_id=source["id"],
                                   options={"dry_run": dry_run})
            uow.commit()
        return run_id

    def start_plugin_run(self, plugin: str, config: Mapping[str, Any], *, actor: str,
                         kind: str | None = None, mode: str = "snapshot",
                         dry_run: bool = False) -> int:
        """A run of a network importer with options given at once (``import odoo --url …``);
        its secrets are stored sealed, as a source's are."""
        importer = self.importer(plugin)
        _check_kind(kind)
        _check_mode(mode)
        sealed = secrets.seal(config, importer.options, self.svc.settings.secret_key)
        with self.svc.uow() as uow:
            run_id = store.add_run(uow.conn, plugin=plugin, kind=kind, mode=mode, actor=actor,
                                   now=self.svc.clock.now(),
                                   options={"config": sealed, "dry_run": dry_run})
            uow.commit()
        return run_id

    def start_due(self) -> list[int]:
        """Start a run of every source whose ``every_minutes`` have passed since its last run
        began (the worker's sweep, or ``flask --app wsgi import due`` from cron); the ids of
        the runs handed to the jobs runner."""
        now = self.svc.clock.now()
        started = []
        with self.svc.uow() as uow:
            due = store.due_sources(uow.conn, now)
        for name in due:
            try:
                run_id = self.start_source_run(name, actor="schedule")
            except Conflict:  # its previous run is still under way
                continue
            self.svc.jobs.run_import(run_id)
            started.append(run_id)
        return started

    def _refuse_concurrent(self, conn: Any, source_id: int, now: datetime) -> None:
        active = store.active_run_of(conn, source_id)
        if active is None:
            return
        run = store.get_run(conn, active)
        if (now - run["updated_at"]).total_seconds() < 600:
            raise Conflict(f"run {active} of this source is still under way")
        store.set_run(conn, active, now, state="interrupted",
                      message="no sign of life for 10 minutes: taken as interrupted")

    # -- sources ---------------------------------------------------------------------------
    def add_source(self, name: str, plugin: str, config: Mapping[str, Any],
                   every_minutes: int | None = None, replace: bool = False,
                   actor: str = "system") -> None:
        """Add (``replace``: change) a source; the audit trail says who did what and which
        options changed, and that a secret changed, never its value (#17)."""
        importer = self.importer(plugin)
        known = {o.name for o in importer.options}
        unknown = sorted(set(config) - known)
        missing = [o.name for o in importer.options if o.required and not config.get(o.name)]
        problems: list[dict[str, object]] = [
            {"field": n, "message": f"'{n}' is not an option of {plugin}"} for n in unknown]
        problems += [{"field": n, "message": f"'{n}' is required"} for n in missing]
        if problems:
            raise InputInvalid(problems)
        sealed = secrets.seal(config, importer.options, self.svc.settings.secret_key)
        secret = {o.name for o in importer.options if o.secret}
        with self.svc.uow() as uow:
            now = self.svc.clock.now()
            if replace:
                before = store.get_source(uow.conn, name)
                store.update_source(uow.conn, name, sealed, every_minutes, now)
                old = before["config"] or {}
                changed = sorted(k for k in set(old) | set(sealed) if old.get(k) != sealed.get(k))
                plain = [k for k in changed if k not in secret]
                if plain or before["every_minutes"] != every_minutes:
                    audit.record(uow.conn, now, actor, "source.change", name, plugin=plugin,
                                 options=plain, every_minutes=every_minutes)
                if any(k in secret for k in changed):
                    audit.record(uow.conn, now, actor, "source.secret", name, plugin=plugin,
                                 options=[k for k in changed if k in secret])
            else:
                store.add_source(uow.conn, name, plugin, sealed, every_minutes, now)
                audit.record(uow.conn, now, actor, "source.create", name, plugin=plugin,
                             options=sorted(sealed), every_minutes=every_minutes)
            uow.commit()

    def sources(self) -> list[dict[str, Any]]:
        with self.svc.uow() as uow:
            rows = store.list_sources(uow.conn)
        for row in rows:
            row["config"] = secrets.shown(row["config"])
        return rows

    def test_source(self, name: str) -> str:
        """Log in and read a little: a line saying what was found, or ``ImportFailed``."""
        with self.svc.uow() as uow:
            source = store.get_source(uow.conn, name)
        importer = self.importer(source["plugin"])
        return importer.check(ImportRequest(kind=None, options=self._unseal(source["config"])))

    def _unseal(self, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return secrets.unseal(config, self.svc.settings.secret_key,
                                  self.svc.settings.getenv)
        except secrets.SecretUnavailable as exc:
            raise ImportFailed("config", exc.option, exc.reason) from None

    # -- looking -------------------------------------------------------------------------------
    def preview(self, plugin: str, file: str, kind: str | None, mapping: Mapping[str, str],
                options: Mapping[str, Any], limit: int = 20) -> dict[str, Any]:
        """The recognised columns and the first records and bad rows of a file, as a page
        shows them before importing (nothing is written)."""
        importer = self.importer(plugin)
        describe = getattr(importer, "describe", None)
        request = ImportRequest(kind=kind, file=file, mapping=dict(mapping), options=dict(options))
        if describe is not None:
            return describe(request, limit)  # type: ignore[no-any-return]
        records: list[Any] = []
        for page in importer.read(request):
            records.extend(page.records)
            if len(records) >= limit:
                break
        return {"kind": kind, "columns": {}, "records": records[:limit],
                "bad_rows": [r for r in records if isinstance(r, BadRow)][:limit]}

    def run_view(self, run_id: int, bad_limit: int = 100) -> dict[str, Any]:
        with self.svc.uow() as uow:
            run = store.get_run(uow.conn, run_id)
            run["bad_rows"] = store.bad_rows(uow.conn, run_id, bad_limit)
            if run["source_id"] is not None:
                source = store.source_by_id(uow.conn, run["source_id"])
                run["source"] = source["name"] if source else None
        run.pop("file", None)
        run["options"] = {k: v for k, v in run["options"].items() if k != "config"}
        return run

    # -- running -----------------------------------------------------------------------------
    def run(self, run_id: int, progress: Progress | None = None) -> dict[str, Any]:
        """Run (or resume) a run to its end; the run's final state and counts."""
        now = self.svc.clock.now()
        with self.svc.uow() as uow:
            run = store.get_run(uow.conn, run_id)
            if run["state"] == "done":
                return run
            store.set_run(uow.conn, run_id, now, state="running",
                          started_at=run["started_at"] or now, message=None)
            uow.commit()
        job = _Run(self, run, progress)
        try:
            job.execute()
        except KeyboardInterrupt:
            job.finish("interrupted", "stopped by Ctrl-C after the last committed page; "
                                      "resume the run to import the rest")
            raise
        except ImportFailed as exc:
            job.finish("failed", str(exc), {"where": exc.where, "message": exc.reason})
        except InputInvalid as exc:
            job.finish("failed", f"refused: {exc.errors[:3]}")
        except Exception as exc:  # recorded on the run, where the pages and the CLI show it
            log.exception("import run %s failed", run_id)
            job.finish("failed", f"{type(exc).__name__}: {exc}")
        with self.svc.uow() as uow:
            return store.get_run(uow.conn, run_id)

    def request_of(self, run: Mapping[str, Any]) -> ImportRequest:
        options = run["options"]
        config: dict[str, Any] = {}
        cursor = run["cursor"]
        if run["source_id"] is not None:
            with self.svc.uow() as uow:
                source = store.source_by_id(uow.conn, run["source_id"])
                if source is None:
                    raise ImportFailed(run["plugin"], "source", "the source was deleted")
                if cursor is None and run["mode"] == "incremental":
                    cursor = store.get_cursor(uow.conn, run["source_id"], run["kind"])
            config = self._unseal(source["config"])
        elif "config" in options:
            config = self._unseal(options["config"])
        config.update(options.get("importer") or {})
        return ImportRequest(kind=run["kind"], mode=run["mode"], cursor=cursor,
                             overlap_seconds=int(options.get("overlap_seconds", 300)),
                             file=run["file"], mapping=options.get("map") or {}, options=config)


def parse_mapping(text: str | None) -> dict[str, str]:
    """``sku=存货编码,on_hand=现存数量`` (``--map``, the upload form's ``map``) → a mapping."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise InputInvalid([{"field": "map", "message": f"'{part.strip()}' is not "
                                 "field=column (e.g. sku=存货编码)"}])
        out[name.strip()] = column.strip()
    return out


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise InputInvalid([{"field": "kind", "message": f"'{kind}' is not a kind; the kinds "
                                                         f"are {', '.join(KINDS)}"}])


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InputInvalid([{"field": "mode", "message": f"'{mode}' is not a mode; the modes "
                                                         f"are {', '.join(MODES)}"}])


class _Run:
    """One execution of a run: its passes, its counts, its commits."""

    def __init__(self, service: ImportService, run: dict[str, Any],
                 progress: Progress | None) -> None:
        self.service = service
        self.svc = service.svc
        self.run = run
        self.id: int = run["id"]
        self.options = run["options"]
        self.counts: dict[str, int] = {**store.empty_counts(), **run["counts"]}
        self.pages: int = run["pages"]
        self.progress = progress
        self.importer = service.importer(run["plugin"])
        self.files = bool(getattr(self.importer, "reads_files", False))
        self.source_key = FILE_SOURCE if self.files else (
            f"source:{run['source_id']}" if run["source_id"] else run["plugin"])
        self.codes = applying.Codes()
        self.bad_kept = 0
        self._said = 0.0

    # -- the passes ------------------------------------------------------------------------
    def execute(self) -> None:
        request = self.service.request_of(self.run)
        if self.files or self.options.get("dry_run"):
            bad = self.check_pass(request)
            if self.options.get("dry_run"):
                self.finish("done", f"checked: {self.counts['rows']} records, {bad} bad rows; "
                                    "nothing was imported (dry run)")
                return
            if bad and not self.options.get("skip_bad"):
                self.finish("failed", f"{bad} bad row(s); nothing was imported (fix them, or "
                                      "import the rest with skip_bad / --skip-bad)")
                return
        self.apply_pass(request)
        self.finish("done", None)

    def _validator(self, applying: bool = False) -> Validator:
        """Checks against the master data as it is now; times in the ruleset's zone."""
        with self.svc.uow() as uow:
            active = self.svc.rulesets.active(uow.conn)
            tz = ZoneInfo(active.compiled.settings.timezone) if active else DEFAULT_TZ
            # an ERP may know no lead time per supplier (Odoo keeps it per product): a new
            # supplier of a network source starts with the rules' default, a file must say it
            lead_time = None if self.files else (
                active.compiled.settings if active else RulesetSettings()).default_lead_time_days
            return Validator(uow.conn, tz, self.svc.clock.now(), self.run["kind"],
                             events_checked=applying, default_lead_time=lead_time,
                             network=not self.files)

    def check_pass(self, request: ImportRequest) -> int:
        """Read everything and check it, writing nothing but the bad rows; how many were bad."""
        validator = self._validator()
        with self.svc.uow() as uow:
            store.clear_bad_rows(uow.conn, self.id)
            uow.commit()
        self.counts["rows"] = self.counts["bad"] = 0
        for page in self.importer.read(ImportRequest(
                kind=request.kind, mode=request.mode, cursor=None, file=request.file,
                mapping=request.mapping, options=request.options)):
            checked = validator.page(page.records, page.columns)
            with self.svc.uow() as uow:
                for kind in MASTER_KINDS:
                    checked.bad.extend(master.check(master.merge(uow.conn, kind,
                                                                 checked.masters[kind]),
                                                    page.columns))
                self._count_rows(page, checked)
                if checked.bad:
                    store.add_bad_rows(uow.conn, self.id, checked.bad, self.bad_kept)
                    self.bad_kept += len(checked.bad)
                self._report(uow, page, force=bool(checked.bad))
                uow.commit()
        repeated = validator.ids.duplicates()
        if repeated:
            self.name_repeats(request, validator, repeated)
        return self.counts["bad"]

    def name_repeats(self, request: ImportRequest, validator: Validator,
                     repeated: set[int]) -> None:
        """A second read when some event ids repeat: each row repeating an earlier one is a
        bad row naming that row (the first read kept only a hash per event)."""
        validator.naming = Naming(repeated)
        for page in self.importer.read(ImportRequest(
                kind=request.kind, mode=request.mode, cursor=None, file=request.file,
                mapping=request.mapping, options=request.options)):
            found = validator.page(page.records, page.columns).repeated
            if not found:
                continue
            with self.svc.uow() as uow:
                store.add_bad_rows(uow.conn, self.id, found, self.bad_kept)
                self.bad_kept += len(found)
                self.counts["bad"] += len(found)
                self._report(uow, page, force=True)
                uow.commit()

    def _count_rows(self, page: Page, checked: Checked) -> None:
        # rows of the source: a row of an items file may yield its supplier and its SKU
        origins: set[str] = set()
        rows = 0
        for rec in page.records:
            if type(rec) is SalesColumns:
                rows += len(rec.row)
            elif type(rec) is not BadRow:
                origin = getattr(rec, "origin", None)
                if origin is None:
                    rows += 1
                else:
                    origins.add(origin)
        self.counts["rows"] += rows + len(origins)
        self.counts["bad"] += len(checked.bad)

    def apply_pass(self, request: ImportRequest) -> None:
        validator = self._validator(applying=True)
        per_page_on_order = request.mode == "incremental" and not self.files
        for page in self.importer.read(request):
            checked = validator.page(page.records, page.columns)
            self.apply_masters(checked, page)
            with self.svc.uow() as uow:
                conn = uow.conn
                # the catalogue snapshot (ids by code) only for a page about stock: loading it
                # after each page of an items file would read the growing catalogue again
                snap = self.svc.cache.current(conn) if (
                    checked.snapshots or checked.po_lines) else None
                now = self.svc.clock.now()
                at = now.isoformat()
                items, unchanged = applying.snapshot_events(conn, snap, validator, self.id,
                                                            checked.snapshots)
                pairs = applying.store_po_lines(conn, snap, self.source_key, self.id,
                                                checked.po_lines, now)
                tag = f"{self.id}:{self.pages + 1}"
                if "purchase-orders" in page.complete_kinds:
                    pairs |= applying.drop_unseen_po_lines(conn, self.source_key, self.id)
                    per_page_on_order = True
                if per_page_on_order and pairs:
                    more, same = applying.on_order_events(conn, self.codes, pairs, tag, at)
                    items += more
                    unchanged += same
                items += applying.cancellations(conn, validator, checked)
                self.counts["cancelled"] += len(checked.cancelled)
                items += checked.events
                if "stock" in page.complete_kinds:
                    found = applying.reconcile_stock(conn, self.codes, self.id, at)
                    self.counts["reconciled"] += len(found)
                    items += found
                self.counts["unchanged"] += unchanged
                if not self.files:
                    self._count_rows(page, checked)
                    if checked.bad:
                        store.add_bad_rows(conn, self.id, checked.bad, self.bad_kept)
                        self.bad_kept += len(checked.bad)
                self.pages += 1
                self._ingest(uow, items, page)
            if self.progress:
                self.progress(self.snapshot(page))

    def apply_masters(self, checked: Checked, page: Page) -> None:
        """Master data of a page, in a transaction of its own (suppliers before the SKUs that
        name them): all or nothing for the page, as the bulk upserts are."""
        if not any(checked.masters.values()):
            return
        with self.svc.uow() as uow:
            now = self.svc.clock.now()
            for kind in MASTER_KINDS:
                merged = master.merge(uow.conn, kind, checked.masters[kind])
                self.counts["unchanged"] += merged.unchanged
                for start in range(0, len(merged.rows), MASTER_CHUNK):
                    part = master.Merged(kind, merged.rows[start:start + MASTER_CHUNK],
                                         merged.origins[start:start + MASTER_CHUNK])
                    self._put(uow, part, checked, page, now)
            uow.commit()

    def _put(self, uow: Any, part: master.Merged, checked: Checked, page: Page,
             now: datetime) -> None:
        """One bulk upsert; rows it refuses (a record of a network source the checks could not
        foresee) are kept for review and the rest written."""
        try:
            result = catalog.put_rows(uow.conn, part.kind, part.rows, f"import:{self.id}", now)
        except InputInvalid as exc:
            checked.bad.extend(master.drop(part, exc.errors, page.columns))
            if not part.rows:
                return
            result = catalog.put_rows(uow.conn, part.kind, part.rows, f"import:{self.id}", now)
        self.counts["created"] += result["created"]
        self.counts["updated"] += result["updated"]

    def _ingest(self, uow: Any, items: list[dict[str, Any]], page: Page) -> None:
        """The page's events through the event path; the run's cursor and counts commit with
        the last batch of them (or alone, when there is none)."""
        svc = self.svc
        limit = svc.settings.max_batch_events
        chunks = [items[i:i + limit] for i in range(0, len(items), limit)] or [[]]
        for n, chunk in enumerate(chunks):
            if n == len(chunks) - 1:
                self._note_page(uow, page)
            if not chunk:
                uow.commit()
                continue
            _, stats = events.handle(uow, svc.cache, chunk, svc.clock.now(),
                                     source=f"import:{self.id}", jobs=svc.jobs,
                                     deliverable=svc.deliverable_channels(), max_items=limit)
            self.counts["accepted"] += stats.accepted
            self.counts["duplicate"] += stats.duplicates
            self.counts["rejected"] += stats.rejected

    def _note_page(self, uow: Any, page: Page) -> None:
        now = self.svc.clock.now()
        values: dict[str, Any] = {"pages": self.pages, "counts": dict(self.counts)}
        if page.cursor is not None:
            values["cursor"] = page.cursor
            if self.run["source_id"] is not None and self.run["mode"] == "incremental" \
                    and not self.options.get("dry_run"):
                store.put_cursor(uow.conn, self.run["source_id"], self.run["kind"], page.cursor,
                                 now)
        if page.progress:
            values["progress_done"], values["progress_total"] = page.progress
        store.set_run(uow.conn, self.id, now, **values)

    def _report(self, uow: Any, page: Page, force: bool = False) -> None:
        """Progress of the check pass: written at most once a second (a long file)."""
        moment = time.monotonic()
        if not force and moment - self._said < PROGRESS_EVERY_S:
            return
        self._said = moment
        values: dict[str, Any] = {"counts": dict(self.counts)}
        if page.progress:
            values["progress_done"], values["progress_total"] = page.progress
        store.set_run(uow.conn, self.id, self.svc.clock.now(), **values)
        if self.progress:
            self.progress(self.snapshot(page, phase="checking"))

    def snapshot(self, page: Page, phase: str = "importing") -> dict[str, Any]:
        return {"run": self.id, "phase": phase, "pages": self.pages, "where": page.where,
                "progress": page.progress, "counts": dict(self.counts)}

    def finish(self, state: str, message: str | None,
               error: dict[str, Any] | None = None) -> None:
        now = self.svc.clock.now()
        with self.svc.uow() as uow:
            run = store.get_run(uow.conn, self.id)
            errors = list(run["errors"]) + ([error] if error else [])
            store.set_run(uow.conn, self.id, now, state=state, message=message,
                          counts=dict(self.counts), errors=errors[-50:],
                          finished_at=now if state in ("done", "failed") else None)
            if state == "done":
                store.clear_seen(uow.conn, self.id)
            uow.commit()
        if state == "done" and self.options.get("uploaded") and not self.options.get("dry_run"):
            _remove(self.run["file"])


def _remove(path: str | None) -> None:
    """An uploaded file, once imported (a dry run keeps it for the import that follows)."""
    if path:
        with contextlib.suppress(OSError):
            os.remove(path)
