"""Ruleset versions (admins only): history with author and time, a version's diff, roll back.

Activating an earlier version is the undo of a bad change: the rules it changes are checked
against the current stock at once (``engine.services.rule_runs``, #17), whose progress the list
and the version's page show. The ruleset's ``revision`` guards against two admins changing it at
once: the form carries it, and an activation from a page older than another admin's save is
refused (409) with nothing changed.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.editor import posted_revision
from admin.web.i18n import language
from admin.web.pages import web_blueprint
from admin.web.rule_runs import labels as run_labels
from admin.web.session import current_user, login_required
from engine.errors import Conflict, NotFound
from engine.policy import Right
from engine.rules.changes import describe
from engine.services import rule_runs, rulesets
from engine.services.preview import current_revision

bp = web_blueprint("versions", __name__, url_prefix="/admin/versions")


@bp.get("")
@login_required(Right.ADMIN)
def index() -> Any:
    return _index()


def _index(error: str | None = None, status: int = 200) -> Any:
    with services().uow() as uow:
        versions = rulesets.versions(uow.conn)
        revision = current_revision(uow.conn)
        run = rule_runs.latest(uow.conn)
    return render_template("versions/index.html", versions=versions, revision=revision,
                           run=run, error=error, **run_labels()), status


@bp.get("/<int:number>")
@login_required(Right.ADMIN)
def show(number: int) -> Any:
    with services().uow() as uow:
        versions = rulesets.versions(uow.conn)
        text, fmt = rulesets.version_text(uow.conn, number)
        numbers = [v["number"] for v in versions]
        earlier = [n for n in numbers if n < number]
        against = request.args.get("against", type=int)
        if against not in numbers or against == number:
            against = max(earlier) if earlier else None
        diff = rulesets.diff(uow.conn, against, number) if against is not None else ""
        cache = services().rulesets
        changes = describe(cache.get(uow.conn, against).document if against is not None else None,
                           cache.get(uow.conn, number).document, language())
        runs = rule_runs.of_version(uow.conn, number)
    version = next(v for v in versions if v["number"] == number)
    return render_template("versions/show.html", version=version, text=text, fmt=fmt,
                           diff_lines=_diff_lines(diff), against=against, numbers=numbers,
                           changes=changes, run=runs[0] if runs else None, **run_labels())


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each line of a unified diff with its kind: add, del, hunk, meta or same."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append((kind, line))
    return out


@bp.post("/<int:number>/activate")
@login_required(Right.ADMIN)
def activate(number: int) -> Any:
    user = current_user()
    assert user is not None
    svc = services()
    try:
        with svc.uow() as uow:
            rulesets.activate(uow.conn, number, user.username, svc.clock.now(),
                              expected_revision=posted_revision())
            uow.commit()
    except NotFound:
        flash(_("There is no version %(n)s.", n=number), "error")
        return redirect(url_for(".index"), 303)
    except Conflict:  # another admin saved or activated since this page was loaded (#17)
        return _index(_("The ruleset was changed by someone else after you opened this page, so "
                        "version %(n)s was not activated. Check the list (their version is "
                        "kept) and activate again if you still want to.", n=number), 409)
    rule_runs.start_for(svc, number)
    flash(_("Version %(n)s is now active.", n=number), "success")
    return redirect(url_for(".index"), 303)
