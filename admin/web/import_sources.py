"""ERP sources (admins): configure a source, test its connection, sync it now or every N
minutes, and read the history of its runs.

A source is an importer plugin (Odoo, ERPNext, Kingdee, U8, Jiandaoyun or a third party's)
with its options, a form built from the importer's ``Option`` list. Secrets are stored
encrypted or as ``env:VAR`` and never shown again (``engine.imports.source_config``). Scheduled
syncs are started by the worker's sweep, or without Redis by the web process's periodic loop.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web import import_messages
from admin.web.i18n import field_message, language
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required
from engine.errors import Conflict, InputInvalid
from engine.imports import source_config
from engine.imports.plugin import ImportFailed
from engine.policy import Right

bp = web_blueprint("import_sources", __name__, url_prefix="/admin/imports/sources")


def _imports() -> Any:
    return services().imports


def _actor() -> str:
    user = current_user()
    assert user is not None  # login_required
    return str(user.username)


def _help(option: Any) -> str:
    return str(option.help_zh if language() == "zh" and option.help_zh else option.help)


def _label(importer: Any, name: str) -> str:
    labels = getattr(importer, "label", None) or {}
    return str(labels.get(language()) or labels.get("en") or name)


@bp.get("")
@login_required(Right.ADMIN)
def index() -> Any:
    imports = _imports()
    plugins = source_config.network_importers(imports.importers)
    return render_template("imports/sources.html", sources=source_config.overview(imports),
                           plugins={n: _label(i, n) for n, i in plugins.items()},
                           labels={n: _label(i, n) for n, i in imports.importers.items()},
                           tab="sources")


@bp.route("/new", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def new() -> Any:
    imports = _imports()
    plugins = source_config.network_importers(imports.importers)
    plugin = request.values.get("plugin", "")
    if not plugin:
        return redirect(url_for(".index"), 303)  # the system is chosen on the list
    if plugin not in plugins:
        abort(404)
    importer = plugins[plugin]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        try:
            source_config.save(imports, name=name, plugin=plugin, values=request.form,
                               every=request.form.get("every"), existing=False,
                               actor=_actor())
        except InputInvalid as exc:
            errors = _errors(exc)
        except Conflict:
            errors = {"name": [_("A source of this name exists already.")]}
        else:
            flash(_("Source %(name)s saved. Test its connection, then sync it.", name=name),
                  "success")
            return redirect(url_for(".show", name=name), 303)
    options = source_config.shown_options(importer, {})
    return _form(importer, plugin, options, errors, request.form, existing=None,
                 status=422 if errors else 200)


@bp.get("/<name>")
@login_required(Right.ADMIN)
def show(name: str) -> Any:
    imports = _imports()
    found = source_config.source(imports, name)
    return render_template("imports/source.html", source=found, help=_help,
                           plugin_label=_label(found["importer"], found["plugin"]),
                           runs=source_config.history(imports, found["id"]), tab="sources")


@bp.route("/<name>/edit", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def edit(name: str) -> Any:
    imports = _imports()
    found = source_config.source(imports, name)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            source_config.save(imports, name=name, plugin=found["plugin"], values=request.form,
                               every=request.form.get("every"), existing=True,
                               actor=_actor())
        except InputInvalid as exc:
            errors = _errors(exc)
        else:
            flash(_("Source %(name)s saved.", name=name), "success")
            return redirect(url_for(".show", name=name), 303)
    return _form(found["importer"], found["plugin"], found["options"], errors,
                 request.form if request.method == "POST" else None, existing=found,
                 status=422 if errors else 200)


@bp.post("/<name>/test")
@login_required(Right.ADMIN)
def test(name: str) -> Any:
    """Log in and read a little; the answer or the reason on the source's page."""
    try:
        found = _imports().test_source(name)
    except ImportFailed as exc:
        flash(_("The connection failed: %(reason)s", reason=f"{import_messages.where(exc.where)}: "
                                                              f"{import_messages.message(exc.reason)}"),
              "error")
    else:
        flash(_("Connected: %(found)s", found=import_messages.connected(found)), "success")
    return redirect(url_for(".show", name=name), 303)


@bp.post("/<name>/run")
@login_required(Right.ADMIN)
def run(name: str) -> Any:
    """Sync now: the changes since the last sync, or a full snapshot (``mode``)."""
    svc = services()
    mode = request.form.get("mode", "incremental")
    if mode not in ("incremental", "snapshot"):
        abort(400)
    try:
        run_id = svc.imports.start_source_run(name, actor=_actor(), mode=mode)
    except Conflict:
        flash(_("A sync of this source is still under way: wait for it to end."), "error")
        return redirect(url_for(".show", name=name), 303)
    svc.jobs.run_import(run_id)
    return redirect(url_for("data_import.run", run_id=run_id), 303)


@bp.post("/<name>/delete")
@login_required(Right.ADMIN)
def delete(name: str) -> Any:
    source_config.delete(_imports(), name, actor=_actor())
    flash(_("Source %(name)s removed; the history of its runs stays.", name=name), "success")
    return redirect(url_for(".index"), 303)


def _errors(exc: InputInvalid) -> dict[str, list[str]]:
    """The engine's problems by field, in the viewer's language where they are known."""
    own = {"name": _("Letters, digits and . _ - (at most 64), starting with a letter or digit."),
           "every": _("A whole number of minutes from 1 to %(most)s.",
                      most=source_config.MAX_EVERY_MINUTES)}
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        field = str(e.get("field") or "")
        message = str(e.get("message"))
        if field in own and message != "is required":
            message = own[field]
        elif field:
            message = field_message(f"'{field}' {message}")
        out.setdefault(field, []).append(message)
    return out


def _form(importer: Any, plugin: str, options: list[dict[str, Any]],
          errors: dict[str, list[str]], posted: Any, existing: dict[str, Any] | None,
          status: int) -> Any:
    return render_template("imports/source_form.html", importer=importer, plugin=plugin,
                           plugin_label=_label(importer, plugin), options=options, help=_help,
                           errors=errors, posted=posted, existing=existing,
                           tab="sources"), status
