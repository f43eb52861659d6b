"""Purchase orders: drafted from approved requisitions, exported for the ERP, sent (issue #18).

Export is a download in the layout an ERP's importer reads (CSV, or Excel through openpyxl);
sending queues a message to the supplier's e-mail contact through the notification channels;
marking ordered takes every approved line through ``order`` with the ERP's number.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from admin.auth import services
from admin.web.pages import money, number, web_blueprint
from admin.web.session import current_roles, current_user, login_required
from engine.errors import Conflict
from engine.policy import Right
from engine.services import po_export, purchase_orders
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed

bp = web_blueprint("purchase_orders", __name__)
PAGE_SIZE = 50


@bp.get("/purchase-orders")
@login_required()
def index() -> Any:
    with services().uow() as uow:
        total, orders = purchase_orders.list_orders(uow.conn, PAGE_SIZE)
    return render_template("purchase_orders/index.html", orders=orders, total=total)


@bp.get("/purchase-orders/<int:po_id>")
@login_required()
def show(po_id: int) -> Any:
    with services().uow() as uow:
        order = purchase_orders.load(uow.conn, po_id)
    return render_template("purchase_orders/show.html", order=order, layouts=po_export.LAYOUTS)


@bp.get("/purchase-orders/<int:po_id>/export.<fmt>")
@login_required()
def export(po_id: int, fmt: str) -> Any:
    layout = request.args.get("layout", "stockwarn")
    if fmt not in ("csv", "xlsx") or layout not in po_export.LAYOUTS:
        abort(404)
    svc = services()
    with svc.uow() as uow:
        order = purchase_orders.load(uow.conn, po_id)
    today = svc.clock.now().date()
    headers, rows = po_export.rows(order, layout, today)
    name = f"SW-PO-{po_id}-{layout}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(rows)
        body = "\ufeff" + out.getvalue()  # a BOM: Excel in China opens UTF-8 CSV right
        return Response(body.encode("utf-8"), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})
    book = Workbook()
    sheet = book.active
    sheet.title = "Purchase Order"[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 48)
    data = io.BytesIO()
    book.save(data)
    return Response(data.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{name}"'},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def order_text(order: dict[str, Any]) -> tuple[str, str]:
    """The message to the supplier: subject and one line per SKU, in the viewer's language."""
    subject = _("Purchase order SW-PO-%(id)s", id=order["id"])
    lines = [_("Dear %(name)s,", name=order["supplier_name"]), "",
             _("please deliver the following:"), ""]
    for i, line in enumerate(order["lines"], 1):
        lines.append(f"{i}. {line['sku']} {line['sku_name']} × {number(line['quantity'])} "
                     f"{line['unit'] or ''} @ {money(line['unit_price'])} → "
                     f"{line['warehouse_name']} ({line['warehouse']})")
    lines += ["", _("Total: %(total)s", total=money(order["total"]))]
    return subject, "\n".join(lines)


@bp.post("/purchase-orders/<int:po_id>/send")
@login_required(Right.ACT)
def send(po_id: int) -> Any:
    user = current_user()
    assert user is not None
    svc = services()
    try:
        with svc.uow() as uow:
            order = purchase_orders.load(uow.conn, po_id)
            subject, text = order_text(order)
            _note, outbox_id = purchase_orders.send(uow.conn, po_id, text, subject,
                                                    user.username, svc.clock.now())
            uow.commit()
    except Conflict as exc:
        flash(_("The order was not sent: %(reason)s", reason=_why(exc, order)), "error")
        return redirect(url_for(".show", po_id=po_id), 303)
    svc.jobs.dispatch(outbox_id, "deliver")
    flash(_("Sent to %(address)s.", address=order["contact"].get("email")), "success")
    return redirect(url_for(".show", po_id=po_id), 303)


def _why(exc: Conflict, order: dict[str, Any]) -> str:
    if "contact" in exc.message:
        return _("supplier %(name)s has no e-mail contact; add one in the supplier's master "
                 "data", name=order["supplier_name"])
    return _("the order is no longer a draft")


@bp.post("/purchase-orders/<int:po_id>/ordered")
@login_required(Right.ACT)
def ordered(po_id: int) -> Any:
    user = current_user()
    assert user is not None
    svc = services()
    ref = request.form.get("ref", "").strip()
    try:
        with svc.uow() as uow:
            count = purchase_orders.mark_ordered(uow.conn, po_id, ref, user.username,
                                                 current_roles(), svc.clock.now())
            uow.commit()
    except FormInvalid:
        flash(_("Enter the ERP's purchase order number."), "error")
    except (TransitionNotAllowed, RoleNotAllowed, Conflict):
        flash(_("The order could not be marked ordered: a line changed or is not yours to "
                "order."), "error")
    else:
        flash(_("%(n)s requisitions are now ordered as %(ref)s.", n=count, ref=ref), "success")
    return redirect(url_for(".show", po_id=po_id), 303)
