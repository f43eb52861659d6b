"""Backtest page (/admin/backtest, admins; issue #16): replay the recorded demand through the
active version and an earlier one, read which is better and why, tune a group to a fill rate.

The form is a GET (nothing changes) until "save the tuned targets", which is a POST that makes
a new version. A run reads the recorded demand and simulates in memory; nothing live moves.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required
from engine.errors import EngineError, InputInvalid
from engine.services import backtests, rule_runs, rulesets

bp = web_blueprint("backtest", __name__, url_prefix="/admin/backtest")


def _day(name: str) -> date | None:
    text = request.values.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputInvalid([{"field": name, "message": _("Write the date as YYYY-MM-DD.")}]) from None


def _groups() -> list[str]:
    return [g for g in request.values.getlist("groups") if g]


@bp.get("")
@login_required(admin=True)
def page() -> Any:
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        versions = rulesets.versions(uow.conn)
        active = snap.ruleset.version if snap.ruleset else None
        group_ids = list(snap.ruleset.compiled.groups) if snap.ruleset else []
        numbers = [v["number"] for v in versions]
        version = request.args.get("version", type=int) or active
        earlier = [n for n in numbers if version is not None and n < version]
        compare = request.args.get("compare", type=int)
        if compare is None and "run" not in request.args and earlier:
            compare = max(earlier)
        form = {"version": version, "compare": compare, "from": request.args.get("from", ""),
                "to": request.args.get("to", ""), "groups": _groups(),
                "tune": request.args.get("tune", "")}
        runs, verdict, tuned, errors = [], None, None, []
        try:
            if request.args.get("run") and version is not None:
                start, end = _day("from"), _day("to")
                runs.append(backtests.backtest(uow.conn, snap, version, start, end, form["groups"]))
                if compare and compare != version:
                    runs.append(backtests.backtest(uow.conn, snap, compare, start, end,
                                                   form["groups"]))
                if len(runs) == 2:
                    verdict = backtests.verdict(*runs)
            if request.args.get("run_tune") and version is not None:
                wanted = float(form["tune"] or 0.98)
                tuned = backtests.tune(uow.conn, snap, version, wanted, _day("from"), _day("to"),
                                       form["groups"])
        except InputInvalid as exc:
            errors = [str(e["message"]) for e in exc.errors]
        except (EngineError, ValueError) as exc:
            errors = [str(exc)]
    months = sorted({m for r in runs for m in r.result.months})
    return render_template("backtest/index.html", form=form, versions=numbers, runs=runs,
                           verdict=verdict, tuned=tuned, errors=errors, months=months,
                           group_ids=group_ids, tab="backtest")


@bp.post("/tune")
@login_required(admin=True)
def save_tuned() -> Any:
    svc = services()
    version = request.form.get("version", type=int)
    wanted = request.form.get("tune", type=float) or 0.98
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        tuned = backtests.tune(uow.conn, snap, int(version or 0), wanted, _day("from"), _day("to"),
                               _groups())
        number = backtests.write_tuned(uow.conn, tuned, current_user().username, svc.clock.now())
        uow.commit()
    rule_runs.start_for(svc, number)
    flash(_("Tuned fill-rate targets saved: version %(n)s is now active.", n=number), "success")
    return redirect(url_for("backtest.page"), 303)
