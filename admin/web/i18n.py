"""Chinese and English for the pages: locale choice, display names of fixed ids, form messages.

English is the source language (msgids); Chinese is the default for a browser that says
nothing, since most users read Chinese. A ``lang`` cookie (set by /lang/<code>) beats the
browser's Accept-Language. Times are shown in the active ruleset's time zone.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    return best or DEFAULT_LANGUAGE


def select_timezone() -> str | None:
    from admin.web.session import active_ruleset

    if not has_request_context():
        return None
    active = active_ruleset()
    return active.compiled.settings.timezone if active else None


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(
        lang=language, html_lang=lambda: HTML_LANG[language()], LANGUAGES=LANGUAGES,
        severity_label=severity_label, state_label=state_label,
        requisition_state_label=requisition_state_label,
        requisition_transition_label=requisition_transition_label,
        task_event_label=task_event_label, alert_state_label=alert_state_label,
        resolution_label=resolution_label,
        po_state_label=lambda v: str(PO_STATE_LABELS.get(v, v)),
        po_layout_label=lambda v: str(PO_LAYOUT_LABELS.get(v, v)),
    )


def language() -> str:
    locale = get_locale()
    found = locale.language if locale is not None else None
    return found if found in LANGUAGES else DEFAULT_LANGUAGE


SEVERITY_LABELS = {
    "critical": _l("critical"),
    "high": _l("high"),
    "medium": _l("medium"),
    "low": _l("low"),
    "info": _l("info"),
}
# Workflow states are the admin's own ids; the common ones read better translated.
TASK_STATE_LABELS = {
    "open": _l("open"),
    "in_progress": _l("in progress"),
    "done": _l("done"),
    "cancelled": _l("cancelled"),
    "closed": _l("closed"),
    "checking": _l("checking"),
}
REQUISITION_STATE_LABELS = {
    "draft": _l("draft"),
    "pending_approval": _l("pending approval"),
    "approved": _l("approved"),
    "ordered": _l("ordered"),
    "received": _l("received"),
    "rejected": _l("rejected"),
    "cancelled": _l("cancelled"),
}
REQUISITION_TRANSITION_LABELS = {
    "create": _l("Raised"),
    "submit": _l("Submit"),
    "approve": _l("Approve"),
    "reject": _l("Reject"),
    "order": _l("Mark ordered"),
    "receive": _l("Mark received"),
    "cancel": _l("Cancel"),
    "edit": _l("Changed"),
    "merge": _l("Added to a purchase order"),
    "delay": _l("Delayed by the supplier"),
}


# History lines of a task that are no workflow transition.
TASK_EVENT_LABELS = {
    "create": _l("created"),
    "claim": _l("Claimed"),
    "assign": _l("Assigned"),
    "release": _l("Released"),
    "escalate": _l("Escalated"),
}


PO_STATE_LABELS = {"draft": _l("draft"), "sent": _l("sent"), "ordered": _l("ordered"),
                   "cancelled": _l("cancelled")}
PO_LAYOUT_LABELS = {"stockwarn": _l("stockwarn CSV/Excel importer"), "odoo": "Odoo",
                    "erpnext": "ERPNext"}
ALERT_STATE_LABELS = {"open": _l("open"), "acknowledged": _l("acknowledged"),
                      "resolved": _l("resolved")}


def alert_state_label(value: str) -> str:
    return str(ALERT_STATE_LABELS.get(value, value))


RESOLUTION_LABELS = {  # alerts.resolution: why it was resolved
    "auto": _l("its condition no longer held on a stock event"),
    "rule_changed": _l("its rule was changed and its condition no longer holds"),
    "rule_removed": _l("its rule is no longer in the active version"),
}


def resolution_label(value: str) -> str:
    return str(RESOLUTION_LABELS.get(value, value))


def task_event_label(value: str) -> str:
    return str(TASK_EVENT_LABELS.get(value, value))


def severity_label(value: str) -> str:
    return str(SEVERITY_LABELS.get(value, value))


def state_label(value: str) -> str:
    return str(TASK_STATE_LABELS.get(value, value))


def requisition_state_label(value: str) -> str:
    return str(REQUISITION_STATE_LABELS.get(value, value))


def requisition_transition_label(value: str) -> str:
    return str(REQUISITION_TRANSITION_LABELS.get(value, value))


# forms/validation.py writes "'<label>' <reason>"; next to its field the label is redundant,
# and the reason reads better in the viewer's language. Unknown reasons are shown as they are.
_FIELD_MESSAGE = re.compile(r"^'(?P<label>.*)' (?P<reason>.+)$", re.S)
_REASONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^is required$"), lambda m: _("This field is required.")),
    (re.compile(r"^must be a number$"), lambda m: _("Enter a number.")),
    (re.compile(r"^must be a finite number$"), lambda m: _("Enter a number.")),
    (re.compile(r"^must be a whole number$"), lambda m: _("Enter a whole number.")),
    (re.compile(r"^must be a date written as YYYY-MM-DD$"),
     lambda m: _("Enter a date (YYYY-MM-DD).")),
    (re.compile(r"^must be yes or no$"), lambda m: _("Tick the box or leave it empty.")),
    (re.compile(r"^must be one of (?P<options>.+)$"),
     lambda m: _("Choose one of: %(options)s.", options=m["options"])),
    (re.compile(r"^must be between (?P<low>\S+) and (?P<high>\S+)$"),
     lambda m: _("Enter a number from %(low)s to %(high)s.", low=m["low"], high=m["high"])),
    (re.compile(r"^must be at least (?P<low>\S+)$"),
     lambda m: _("Enter a number of at least %(low)s.", low=m["low"])),
    (re.compile(r"^must be at most (?P<n>[\d,]+) characters long$"),
     lambda m: _("At most %(n)s characters.", n=m["n"])),
    (re.compile(r"^must be at most (?P<high>\S+)$"),
     lambda m: _("Enter a number of at most %(high)s.", high=m["high"])),
    (re.compile(r"^is too large$"), lambda m: _("The number is too large.")),
    (re.compile(r"^must be more than 0$"), lambda m: _("Enter a number above 0.")),
    (re.compile(r"^is not a known supplier$"), lambda m: _("There is no such supplier.")),
    (re.compile(r"^is not a field of this form"), lambda m: _("This form has no such field.")),
]


def field_message(message: str) -> str:
    """A form validation message in the viewer's language, without the field's own label."""
    found = _FIELD_MESSAGE.match(message)
    if found is None:
        return message
    reason = found["reason"]
    for pattern, render in _REASONS:
        matched = pattern.match(reason)
        if matched:
            return str(render(matched))
    return message
