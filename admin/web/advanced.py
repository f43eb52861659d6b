"""Advanced (/admin/advanced): the whole rule document as YAML, for the few who prefer text.

The only page of the editor with YAML in it (SPEC §1). Saving goes through the same pipeline as
every form; problems are listed with their line, the lines are marked in a numbered copy of
the text, and the text typed is kept in the box.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.editor import bp, editing, friendly, location, posted_revision, save_text
from admin.web.session import login_required
from engine.policy import Right
from engine.rules.editing import dump_yaml
from engine.services import rulesets


@bp.route("/advanced", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def advanced() -> Any:
    ed = editing()
    if request.method == "GET":
        text = dump_yaml(ed.document)
        if ed.version is not None:
            with services().uow() as uow:
                stored, fmt = rulesets.version_text(uow.conn, ed.version)
            text = stored if fmt == "yaml" else text
        return render_template("advanced/index.html", text=text, revision=ed.revision,
                               version=ed.version, problems=[], comment="")
    text = request.form.get("text", "").replace("\r\n", "\n")
    comment = request.form.get("comment", "").strip()
    revision = posted_revision()
    saved = save_text(text, comment or _("Edited in Advanced (YAML)"), revision)
    if saved.conflict:
        return render_template("advanced/index.html", text=text, revision=revision,
                               version=ed.version, problems=[], comment=comment,
                               conflict=True), 409
    if not saved.ok:
        problems = [{"line": p.line, "path": p.path, "message": friendly(p),
                     "where": location({}, p.segments) if not p.path else p.path}
                    for p in saved.problems]
        bad = {p["line"] for p in problems if p["line"]}
        lines = [(n, line, n in bad) for n, line in enumerate(text.split("\n"), start=1)]
        return render_template("advanced/index.html", text=text, revision=revision,
                               version=ed.version, problems=problems, lines=lines,
                               comment=comment), 200
    flash(_("Saved: version %(n)s is now active.", n=saved.version), "success")
    return redirect(url_for("rules.advanced"), 303)
