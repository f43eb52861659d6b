"""Global settings (/admin/settings): the ruleset's service level, demand window, review period,
default lead time, costs and time zone, edited through a form instead of YAML (#17).

Each setting has a label and one plain sentence in both languages. An admin's own settings
(``critical_cover_days``, used in conditions as ``params.critical_cover_days``) are listed as
name and value rows and kept. Saving writes only the ``settings`` block of the document.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.web.editor import (
    bp,
    editing,
    number_or_text,
    place_problems,
    posted_revision,
    save,
)
from admin.web.session import login_required
from engine.policy import Right

# key: (label, help); the order of the form
SETTINGS: dict[str, tuple[Any, Any]] = {
    "service_level": (_l("Service level"), _l(
        "How often a replenishment cycle should end without a stock-out (0.95 = 19 cycles in "
        "20); higher means more safety stock.")),
    "demand_window_days": (_l("Demand window (days)"), _l(
        "How many past days of sales the average daily demand and its variation are taken from.")),
    "review_period_days": (_l("Review period (days)"), _l(
        "How often stock is reviewed and ordered; maximum stock covers this many days more.")),
    "default_lead_time_days": (_l("Default lead time (days)"), _l(
        "The lead time used for a SKU whose supplier has none.")),
    "ordering_cost": (_l("Cost of one order"), _l(
        "What placing one purchase order costs; used by the EOQ quantity.")),
    "holding_cost_rate": (_l("Yearly holding cost rate"), _l(
        "The share of a unit's cost that keeping it in stock for a year costs (0.2 = 20 %); used "
        "by the EOQ quantity.")),
    # issue #19: lead times learned from receipts
    "lead_time_min_observations": (_l("Receipts before a lead time is learned"), _l(
        "How many receipts of a supplier (or of one SKU from it) are needed before their average "
        "lead time replaces the master data's; 3 when empty.")),
    "lead_time_window": (_l("Receipts a learned lead time is taken from"), _l(
        "The latest receipts the learned lead time and its variation are computed from; 20 when "
        "empty.")),
}
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
                "UTC", "Europe/London", "Europe/Berlin", "America/New_York",
                "America/Los_Angeles")
KEYS = {"settings", "settings.timezone", *(f"settings.{k}" for k in SETTINGS)}
MAX_CUSTOM_ROWS = 50


def _zones() -> list[str]:
    rest = sorted(z for z in available_timezones() if z not in COMMON_ZONES and "/" in z)
    return [*COMMON_ZONES, *rest]


def _model(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": {k: "" if settings.get(k) is None else str(settings[k]) for k in SETTINGS},
        "timezone": str(settings.get("timezone") or ""),
        "custom": [(str(k), str(v)) for k, v in settings.items()
                   if k not in SETTINGS and k != "timezone"],
    }


def _model_from_form() -> dict[str, Any]:
    form = request.form
    custom = []
    for i in range(MAX_CUSTOM_ROWS):
        name = form.get(f"c_name_{i}", "").strip()
        if name:
            custom.append((name, form.get(f"c_value_{i}", "").strip()))
    return {"values": {k: form.get(k, "").strip() for k in SETTINGS},
            "timezone": form.get("timezone", "").strip(), "custom": custom}


def _settings(model: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: number_or_text(v) for k, v in model["values"].items() if v}
    if model["timezone"]:
        out["timezone"] = model["timezone"]
    out.update({name: number_or_text(value) for name, value in model["custom"]})
    return out


@bp.route("/settings", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def settings_form() -> Any:
    ed = editing()
    current = dict(ed.document.get("settings") or {})
    if request.method == "GET":
        return _render(_model(current), ed.revision)
    model = _model_from_form()
    revision = posted_revision()
    doc = dict(ed.document)
    new = _settings(model)
    if new:
        doc["settings"] = new
    else:
        doc.pop("settings", None)
    saved = save(doc, _("Settings saved in the editor"), revision)
    if saved.conflict:
        return _render(model, revision, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, [((), None)], KEYS)
        return _render(model, revision, errors, top), 422
    flash(_("Settings saved: version %(n)s is now active.", n=saved.version), "success")
    return redirect(url_for("rules.settings_form"), 303)


def _render(model: dict[str, Any], revision: int | None, errors: dict[str, list[str]] | None = None,
            top: list[dict[str, Any]] | None = None, conflict: bool = False) -> Any:
    return render_template("settings/edit.html", model=model, revision=revision,
                           settings=SETTINGS, zones=_zones(), errors=errors or {},
                           top_errors=top or [], conflict=conflict,
                           blank_rows=max(1, 3 - len(model["custom"])))
