"""The audit trail (/admin/audit, admins): who changed what and when — ruleset versions and
activations, master data, users, tokens, import sources — newest first, filtered by person and
area. Written by the use cases in the transaction of each change (``engine.services.audit``)."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import login_required
from engine.policy import Right
from engine.services import audit

bp = web_blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE_SIZE = 100
ACTIONS = {  # action: what it says to a reader
    "ruleset.put": _l("saved a ruleset version"),
    "ruleset.activate": _l("activated a ruleset version"),
    "skus.put": _l("imported or changed SKUs"),
    "warehouses.put": _l("imported or changed warehouses"),
    "suppliers.put": _l("imported or changed suppliers"),
    "abc.recompute": _l("recomputed ABC classes"),
}
AREAS = {"ruleset": _l("Rules"), "skus": _l("SKUs"), "warehouses": _l("Warehouses"),
         "suppliers": _l("Suppliers"), "user": _l("Users"), "token": _l("API tokens"),
         "import": _l("Imports"), "abc": _l("ABC classes")}


@bp.get("")
@login_required(Right.READ_PRIVATE)  # who changed what: admins
def index() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    actor = request.args.get("actor", "").strip() or None
    area = request.args.get("area", "").strip() or None
    with services().uow() as uow:
        total = audit.count(uow.conn, actor, area)
        items = audit.entries(uow.conn, PAGE_SIZE, (page - 1) * PAGE_SIZE, actor, area)
        present = audit.areas(uow.conn)
    for item in items:
        item["said"] = ACTIONS.get(item["action"], item["action"])
        detail = item.get("detail") or {}
        item["details"] = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
                                    for k, v in detail.items())
    return render_template("audit/index.html", items=items, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), actor=actor or "",
                           area=area or "", areas=[(a, AREAS.get(a, a)) for a in present])
