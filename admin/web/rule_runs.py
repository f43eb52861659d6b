"""Rules act at once (#17): the evaluation an activation started, with its progress and the
alerts it raised (/admin/rule-runs/<id>, admins). The rule list and the version history show
the latest one (``rules/_run.html``), polled every second while it runs (htmx)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, login_required
from engine.policy import Right
from engine.services import rule_runs

bp = web_blueprint("rule_runs", __name__, url_prefix="/admin/rule-runs")

RUN_STATES = {"queued": _l("waiting to start"), "running": _l("under way"),
              "done": _l("done"), "failed": _l("failed")}
PHASES = {"checking": _l("checking the conditions over every SKU × warehouse"),
          "applying": _l("raising and resolving alerts")}


def labels() -> dict[str, Any]:
    """What the run templates need besides the run."""
    return {"run_states": RUN_STATES, "run_phases": PHASES}


@bp.get("/<int:run_id>")
@login_required(Right.ADMIN)
def show(run_id: int) -> Any:
    with services().uow() as uow:
        run = rule_runs.get(uow.conn, run_id)
        opened = rule_runs.alerts_of(uow.conn, (run["counts"] or {}).get("alerts") or [])
    active = active_ruleset()
    names = {r.id: r.name for r in active.compiled.rules} if active else {}
    return render_template("rules/run.html", run=run, opened=opened, rule_names=names,
                           on_run_page=True, **labels())


@bp.get("/<int:run_id>/progress")
@login_required(Right.ADMIN)
def progress(run_id: int) -> Any:
    """The progress panel alone, for the page's polling."""
    with services().uow() as uow:
        run = rule_runs.get(uow.conn, run_id)
    return render_template("rules/_run.html", run=run, **labels())
