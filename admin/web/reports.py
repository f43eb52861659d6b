"""The handling report (issue #18): how alerts were handled over a chosen period, as figures,
SVG charts and an Excel workbook; every figure links to the list behind it."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from admin.auth import services
from admin.web.i18n import requisition_state_label, state_label
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, login_required, role_names
from admin.web.svg_charts import daily_bars, stacked_bars
from engine.services import kpis

bp = web_blueprint("reports", __name__)
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _zone() -> ZoneInfo:
    active = active_ruleset()
    try:
        return ZoneInfo(active.compiled.settings.timezone if active else "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def period() -> tuple[date, date, list[str]]:
    """The chosen local days ``from``..``to`` (inclusive), defaulting to the last 30 days."""
    today = services().clock.now().astimezone(_zone()).date()
    problems = []
    try:
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        last, problems = today, [_("The end date is not a date (YYYY-MM-DD).")]
    try:
        first = date.fromisoformat(request.args.get("from") or
                                   (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    except ValueError:
        first, problems = last - timedelta(days=DEFAULT_DAYS - 1), [
            *problems, _("The start date is not a date (YYYY-MM-DD).")]
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
        problems.append(_("A report covers at most %(n)s days.", n=MAX_DAYS))
    return first, last, problems


def _figures() -> tuple[dict[str, Any], date, date, list[str]]:
    first, last, problems = period()
    tz = _zone()
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        figures = kpis.handling(uow.conn, start, end, svc.clock.now(), tz,
                                tally=snap.tally_by_groups)
    return figures, first, last, problems


def outcome_label(key: str) -> str:
    """``done:replenished`` → "done · 已补货" (the select's label when the workflow has one)."""
    state, _sep, answer = key.partition(":")
    if key == "open":
        return _("still open")
    if not answer:
        return state_label(state)
    active = active_ruleset()
    for workflow in (active.compiled.workflows.values() if active else ()):
        for step in workflow.transitions:
            for spec in step.form:
                if spec.name == "outcome" and answer in spec.options:
                    from admin.web.i18n import language

                    return f"{state_label(state)} · {spec.choice_label(answer, language())}"
    return f"{state_label(state)} · {answer}"


def _names(kind: str, key: str) -> str:
    active = active_ruleset()
    if not key:
        return _("(none)")
    if kind == "rule" and active and active.compiled.rule(key):
        rule = active.compiled.rule(key)
        return rule.name or key if rule else key
    if kind == "role":
        return role_names().get(key, key)
    if kind == "group" and active and key in active.compiled.groups:
        return active.compiled.groups[key].name or key
    return key


@bp.get("/reports")
@login_required()
def index() -> Any:
    figures, first, last, problems = _figures()
    by = figures["tasks"]["by"]
    outcomes = sorted({k for kind in by.values() for c in kind.values() for k in c})
    names = {k: outcome_label(k) for k in outcomes}
    filters = {"rule": "rule", "role": "role", "group": "group"}
    charts = {kind: stacked_bars(
        [(_names(kind, key), counts) for key, counts in rows.items()], names,
        {"rule": _("Outcomes by rule"), "role": _("Outcomes by role"),
         "group": _("Outcomes by SKU group")}[kind],
        links={_names(kind, key): f"/tasks?show=all&each=1&{filters[kind]}={key}"
               for key in rows if key})
        for kind, rows in by.items()}
    days = daily_bars(figures["days"], [("opened", _("Alerts opened")),
                                        ("stockouts", _("SKU × warehouse out of stock"))],
                      _("Alerts and stock-outs per day"))
    return render_template("reports/index.html", f=figures, first=first, last=last,
                           problems=problems, charts=charts, days=days,
                           requisition_state_label=requisition_state_label)


@bp.get("/reports/export.xlsx")
@login_required()
def export() -> Any:
    figures, first, last, _problems = _figures()
    book = Workbook()
    summary = book.active
    summary.title = _("Summary")[:31]
    t = figures["tasks"]
    rows: list[list[Any]] = [
        [_("Period"), first.isoformat(), last.isoformat()],
        [_("Alerts opened"), figures["alerts"]],
        [_("Hours to acknowledge (median)"), figures["acknowledge"]["median"]],
        [_("Hours to acknowledge (average)"), figures["acknowledge"]["mean"]],
        [_("Hours to resolve (median)"), figures["resolve"]["median"]],
        [_("Hours to resolve (average)"), figures["resolve"]["mean"]],
        [_("Tasks created"), t["total"]], [_("Tasks closed"), t["closed"]],
        [_("Tasks past their due time"), t["overdue"]],
        [_("Overdue share"), t["overdue_share"]],
    ]
    for row in rows:
        summary.append(row)
    for kind, title in (("rule", _("By rule")), ("role", _("By role")), ("group", _("By group"))):
        sheet = book.create_sheet(title[:31])
        outcomes = sorted({k for c in t["by"][kind].values() for k in c})
        sheet.append([title, *[outcome_label(k) for k in outcomes], _("Total")])
        for key, counts in t["by"][kind].items():
            sheet.append([_names(kind, key), *[counts.get(k, 0) for k in outcomes],
                          sum(counts.values())])
    sheet = book.create_sheet(_("Requisitions")[:31])
    sheet.append([_("State"), _("Count"), _("Amount")])
    for r in figures["requisitions"]:
        sheet.append([requisition_state_label(r["state"]), r["count"], r["amount"]])
    sheet = book.create_sheet(_("Per day")[:31])
    sheet.append([_("Day"), _("Alerts opened"), _("SKU × warehouse out of stock")])
    for d in figures["days"]:
        sheet.append([d["day"], d["opened"], d["stockouts"]])
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 32
    data = io.BytesIO()
    book.save(data)
    name = f"stockwarn-report-{first.isoformat()}-{last.isoformat()}.xlsx"
    return Response(data.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{name}"'},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
