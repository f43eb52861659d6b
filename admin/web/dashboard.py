"""The dashboard: open alerts by severity and SKU group, overdue tasks, requisitions waiting,
SKUs out of stock — the figures someone opening the product in the morning asks for first."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, current_roles, login_required
from admin.web.svg_charts import daily_bars
from engine.rules.compiled import SEVERITIES
from engine.services import kpis, reports

bp = web_blueprint("dashboard", __name__)


@bp.get("/")
@bp.get("/dashboard")
@login_required()
def index() -> Any:
    svc = services()
    roles = current_roles()
    active = active_ruleset()
    tz = _zone(active.compiled.settings.timezone if active else "UTC")
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        figures = reports.dashboard(uow.conn, snap, svc.clock.now(), roles)
        days = kpis.trend(uow.conn, svc.clock.now(), tz)
    groups = {g.id: g.name or g.id for g in active.compiled.groups.values()} if active else {}
    trend = daily_bars(days, [("opened", _("Alerts opened")),
                              ("stockouts", _("SKU × warehouse out of stock"))],
                       _("Alerts and stock-outs per day, last 14 days"), height=150,
                       href=url_for("reports.index") + "?from={day}&to={day}")
    return render_template("dashboard/index.html", figures=figures, roles=roles,
                           severities=list(reversed(SEVERITIES)), group_names=groups,
                           no_group=reports.NO_GROUP, active=active, trend=trend)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
