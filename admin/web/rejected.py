"""Rejected stock events (admins): what the engine refused and why, and their replay once the
master data is fixed. The page of ``GET /api/v1/events/rejected`` and of its replay.

An event naming a SKU that is not in the catalogue yet is the usual case: the admin adds the SKU
(an import, ``PUT /skus``), then replays; those now valid are applied, the others stay listed
with their new reasons. Nothing is ever dropped from here.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import login_required
from engine.policy import Right
from engine.services import events

bp = web_blueprint("rejected", __name__, url_prefix="/admin/events/rejected")
PAGE_SIZE = 100


@bp.get("")
@login_required(Right.READ_PRIVATE)
def index() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with services().uow() as uow:
        total, items = events.list_rejected(uow.conn, "pending", PAGE_SIZE, (page - 1) * PAGE_SIZE)
    for item in items:  # what was sent: the event as JSON, or the text that was not JSON
        payload = item["payload"]
        item["sent"] = item["raw"] if payload is None else json.dumps(payload, ensure_ascii=False)
    return render_template("rejected/index.html", items=items, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.post("/replay")
@login_required(Right.ADMIN)
def replay() -> Any:
    svc = services()
    with svc.uow() as uow:
        counts = events.replay_rejected(uow, svc.cache, svc.clock.now(), jobs=svc.jobs,
                                        deliverable=svc.deliverable_channels())
    done = counts["accepted"] + counts["duplicate"]
    message = _("Replayed: %(accepted)s applied, %(duplicate)s were already in, %(rejected)s still "
                "rejected.", accepted=counts["accepted"], duplicate=counts["duplicate"],
                rejected=counts["rejected"])
    flash(message, "error" if counts["rejected"] else "success" if done else "info")
    return redirect(url_for(".index"), 303)
