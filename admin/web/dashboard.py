"""The dashboard: open alerts by severity and SKU group, overdue tasks, requisitions waiting,
SKUs out of stock — the figures someone opening the product in the morning asks for first."""

from __future__ import annotations

from typing import Any

from flask import render_template

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, current_roles, login_required
from engine.rules.compiled import SEVERITIES
from engine.services import reports

bp = web_blueprint("dashboard", __name__)


@bp.get("/")
@bp.get("/dashboard")
@login_required()
def index() -> Any:
    svc = services()
    roles = current_roles()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        figures = reports.dashboard(uow.conn, snap, svc.clock.now(), roles)
    active = active_ruleset()
    groups = {g.id: g.name or g.id for g in active.compiled.groups.values()} if active else {}
    return render_template("dashboard/index.html", figures=figures, roles=roles,
                           severities=list(reversed(SEVERITIES)), group_names=groups,
                           no_group=reports.NO_GROUP, active=active)
