"""Editing master data on its pages: a SKU, a warehouse or a supplier, new or changed.

The form's values go through the very use case of ``PUT /skus`` (``catalog.put_rows``, one
row): the same checks, all-or-nothing, the audit trail and the catalogue revision. Its
problems come back by field (``suppliers.1.price``) and are shown next to their input, in the
viewer's language. A SKU's attributes, which no form field shows, are kept as they are.
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.catalog_pages import per_kind
from admin.web.i18n import field_message
from admin.web.session import current_user, login_required
from engine.errors import InputInvalid, NotFound
from engine.policy import Right
from engine.services import catalog
from engine.services import catalog_browse as browse

TEXT_FIELDS = {"skus": ("name", "category", "unit", "unit_cost"),
               "warehouses": ("name", "region"),
               "suppliers": ("name", "lead_time_days", "lead_time_std_days", "moq", "pack_size",
                             "on_time_rate")}
MAX_LINKS = 50
_SPLIT = re.compile(r"[,，、;；]")


@login_required(Right.ADMIN)
def new(kind: str) -> Any:
    return _edit(kind, None)


@login_required(Right.ADMIN)
def edit(kind: str, code: str) -> Any:
    return _edit(kind, code)


per_kind("/{kind}/new", "new", new, ("GET", "POST"))
per_kind("/{kind}/edit/<path:code>", "edit", edit, ("GET", "POST"))


def _edit(kind: str, code: str | None) -> Any:
    svc = services()
    stored: dict[str, Any] | None = None
    if code is not None:
        with svc.uow() as uow:
            stored = browse.get(uow.conn, kind, code)
    errors: dict[str, list[str]] = {}
    form = request.form if request.method == "POST" else None
    if form is not None:
        row = row_of(kind, form, stored)
        try:
            _save(kind, row, is_new=stored is None)
        except InputInvalid as exc:
            errors = errors_by_field(exc.errors, _link_rows(form) if kind == "skus" else [])
        else:
            flash(_("Saved %(code)s.", code=row["code"]), "success")
            return redirect(url_for(f".{kind[:-1]}", code=row["code"]), 303)
    model = _model(kind, form, stored)
    with svc.uow() as uow:
        choices = browse.choices(uow.conn, "skus") if kind == "skus" else {}
    return render_template(f"catalog/edit_{kind}.html", kind=kind, model=model,
                           stored=stored, errors=errors,
                           choices=choices), 422 if errors else 200


def _save(kind: str, row: dict[str, Any], is_new: bool) -> None:
    svc = services()
    user = current_user()
    assert user is not None  # login_required
    with svc.uow() as uow:
        if is_new:
            try:
                browse.get(uow.conn, kind, str(row.get("code", "")))
            except NotFound:
                pass
            else:
                raise InputInvalid([{"row": 0, "field": "code", "message": "exists"}])
        catalog.put_rows(uow.conn, kind, [row], user.username, svc.clock.now())
        uow.commit()


def row_of(kind: str, form: Any, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The bulk upsert's row from the form (texts as typed: the use case checks them)."""
    row: dict[str, Any] = {"code": stored["code"] if stored else form.get("code", "").strip()}
    for name in TEXT_FIELDS[kind]:
        value = form.get(name, "").strip()
        if value or name in ("unit",):
            row[name] = value
        elif name in ("category", "region"):
            row[name] = None  # emptied
        # else left out: a number's default, or "is required"
    if kind == "skus":
        row["tags"] = [t.strip() for t in _SPLIT.split(form.get("tags", "")) if t.strip()]
        row["abc_class"] = form.get("abc_class") or None
        row["attributes"] = (stored or {}).get("attributes") or {}
        row["suppliers"] = _links(form)
    if kind == "suppliers":
        row["contact"] = _contact(form.get("contact", ""))
    return row


def _link_rows(form: Any) -> list[int]:
    """The form rows that hold a supplier, in order: the n-th link is on row ``[n]``."""
    rows = []
    for i in range(MAX_LINKS):
        if f"link-{i}-supplier" not in form:
            break
        if form.get(f"link-{i}-supplier", "").strip():
            rows.append(i)
    return rows


def _links(form: Any) -> list[dict[str, Any]]:
    links = []
    preferred = form.get("preferred", "")
    for i in _link_rows(form):
        supplier = form.get(f"link-{i}-supplier", "").strip()
        link: dict[str, Any] = {"supplier": supplier, "preferred": preferred == str(i),
                                "backup": bool(form.get(f"link-{i}-backup"))}
        price = form.get(f"link-{i}-price", "").strip()
        if price:
            link["price"] = price
        links.append(link)
    return links


def _contact(text: str) -> dict[str, str] | None:
    """``key: value`` lines (a line without a colon is the contact's text)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not line.strip():
            continue
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
        else:
            out["text"] = (out.get("text", "") + " " + line.strip()).strip()
    return out or None


def _model(kind: str, form: Any, stored: dict[str, Any] | None) -> dict[str, Any]:
    """What the form's inputs show: as posted, else as stored, else empty."""
    if form is not None:
        model = {k: form.get(k, "") for k in ("code", *TEXT_FIELDS[kind], "tags", "abc_class",
                                               "contact")}
        if stored:
            model["code"] = stored["code"]
        if kind == "skus":
            model["links"] = [{"supplier": form.get(f"link-{i}-supplier", ""),
                               "price": form.get(f"link-{i}-price", ""),
                               "preferred": form.get("preferred") == str(i),
                               "backup": bool(form.get(f"link-{i}-backup"))}
                              for i in range(MAX_LINKS) if f"link-{i}-supplier" in form]
        return model
    model = {k: ("" if v is None else v) for k, v in (stored or {}).items()}
    if kind == "skus":
        model["tags"] = ", ".join((stored or {}).get("tags") or [])
        model["links"] = [{"supplier": s["supplier"], "price": "" if s["price"] is None
                           else s["price"], "preferred": s["preferred"], "backup": s["backup"]}
                          for s in (stored or {}).get("suppliers", [])]
    if kind == "suppliers":
        contact = (stored or {}).get("contact") or {}
        model["contact"] = "\n".join(v if k == "text" else f"{k}: {v}"
                                     for k, v in contact.items())
    return model


# -- problems in the viewer's language --------------------------------------------------------
_OWN: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^exists$"), lambda m: _("This code exists already: edit it instead.")),
    (re.compile(r"^'[^']*' must be 1–64 letters"),
     lambda m: _("1 to 64 letters, digits or . _ - /, starting with a letter or digit.")),
    (re.compile(r"^'[^']*' length must be between 1 and (?P<n>\d+)$"),
     lambda m: _("Enter 1 to %(n)s characters.", n=m["n"])),
    (re.compile(r"^'[^']*' longer than maximum length (?P<n>\d+)$"),
     lambda m: _("At most %(n)s characters.", n=m["n"])),
    (re.compile(r"^'[^']*' must be greater than or equal to (?P<low>\S+) and less than or "
                r"equal to (?P<high>\S+)$"),
     lambda m: _("Enter a number from %(low)s to %(high)s.", low=m["low"], high=m["high"])),
    (re.compile(r"^'[^']*' must be greater than (?P<low>\S+) and less than or equal to "
                r"(?P<high>\S+)$"),
     lambda m: _("Enter a number above %(low)s, at most %(high)s.", low=m["low"],
                 high=m["high"])),
    (re.compile(r"^'[^']*' must be one of: (?P<options>.+)$"),
     lambda m: _("Choose one of: %(options)s.", options=m["options"])),
    (re.compile(r"^supplier '(?P<code>[^']*)' does not exist"),
     lambda m: _("Supplier %(code)s does not exist: add it first.", code=m["code"])),
    (re.compile(r"^'suppliers' only one supplier can be preferred$"),
     lambda m: _("Only one supplier can be preferred.")),
    (re.compile(r"^'suppliers' a supplier is listed twice$"),
     lambda m: _("A supplier is listed twice.")),
]


def message(text: str) -> str:
    for pattern, render in _OWN:
        found = pattern.match(text)
        if found:
            return str(render(found))
    return field_message(text)


def errors_by_field(errors: list[dict[str, Any]],
                    link_rows: list[int]) -> dict[str, list[str]]:
    """``{field: [messages]}``; a supplier link's field names its row of the form."""
    out: dict[str, list[str]] = {}
    for e in errors:
        field = str(e.get("field") or "")
        parts = field.split(".")
        if len(parts) > 2 and parts[0] == "suppliers" and parts[1].isdigit() \
                and int(parts[1]) < len(link_rows):
            field = ".".join(["suppliers", str(link_rows[int(parts[1])]), *parts[2:]])
        out.setdefault(field, []).append(message(str(e.get("message"))))
    return out
