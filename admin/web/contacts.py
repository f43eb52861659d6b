"""Contacts on the pages (issue #18): each user sets their own; an admin sets anyone's."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required
from engine.errors import InputInvalid
from engine.services import contacts

bp = web_blueprint("contacts", __name__)

LABELS = {"email": _l("E-mail"), "phone": _l("Mobile phone"), "wecom_id": _l("WeCom user id"),
          "dingtalk_id": _l("DingTalk user id"), "feishu_id": _l("Feishu user id")}
MESSAGES = {"email": _l("Enter an e-mail address such as name@example.com."),
            "phone": _l("Enter a phone number such as +86 138 0000 0000."),
            "wecom_id": _l("Use letters, digits and . _ - @ : only (at most 64)."),
            "dingtalk_id": _l("Use letters, digits and . _ - @ : only (at most 64)."),
            "feishu_id": _l("Use letters, digits and . _ - @ : only (at most 64).")}


def _save(username: str) -> dict[str, str]:
    """Save the posted contacts of ``username``; the errors by field (empty: saved)."""
    values = {f: request.form[f] for f in contacts.FIELDS if f in request.form}
    try:
        with services().uow() as uow:
            contacts.set_contacts(uow.conn, username, values)
            uow.commit()
    except InputInvalid as exc:
        return {str(e["field"]): str(MESSAGES.get(str(e["field"]), e["message"]))
                for e in exc.errors}
    return {}


@bp.route("/account", methods=["GET", "POST"])
@login_required()
def account() -> Any:
    user = current_user()
    assert user is not None
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _save(user.username)
        if not errors:
            flash(_("Your contacts are saved."), "success")
            return redirect(url_for(".account"), 303)
    with services().uow() as uow:
        found = contacts.get_contacts(uow.conn, user.username)
    values = {**found, **request.form} if errors else found
    return render_template("contacts/account.html", values=values, errors=errors,
                           labels=LABELS, fields=contacts.FIELDS), 422 if errors else 200


@bp.route("/admin/users", methods=["GET"])
@login_required(admin=True)
def users() -> Any:
    with services().uow() as uow:
        everyone = contacts.list_contacts(uow.conn)
    return render_template("contacts/users.html", users=everyone, labels=LABELS,
                           fields=contacts.FIELDS)


@bp.route("/admin/users/<username>", methods=["GET", "POST"])
@login_required(admin=True)
def user(username: str) -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _save(username)
        if not errors:
            flash(_("The contacts of %(name)s are saved.", name=username), "success")
            return redirect(url_for(".users"), 303)
    with services().uow() as uow:
        found = contacts.get_contacts(uow.conn, username)
    values = {**found, **request.form} if errors else found
    return render_template("contacts/account.html", values=values, errors=errors, labels=LABELS,
                           fields=contacts.FIELDS, other=username), 422 if errors else 200
