"""Master data pages (admins): SKUs, warehouses and suppliers listed with search, filters and
paging, a detail page of each, and the list exported to Excel.

Lists page in SQL (``engine.services.catalog_browse``) so that 100k SKUs open as fast as 100.
A SKU's page shows its stock per warehouse, its suppliers and its open alerts (the service of
``GET /api/v1/skus/{code}/stock``). Editing is ``catalog_edit``.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web import xlsx
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required
from engine.policy import Right
from engine.services import catalog_browse as browse
from engine.services.stock_view import stock_view
from engine.services.supplier_record import set_unavailable, supplier_record

bp = web_blueprint("catalog_pages", __name__, url_prefix="/admin/data")
KINDS = ("skus", "warehouses", "suppliers")
PAGE_SIZE = 50
DETAIL_ROWS = 100


def filters_of(args: Any, kind: str) -> browse.Filters:
    """The listing's filters from the query string (unknown values are ignored)."""
    abc = args.get("abc", "")
    return browse.Filters(
        q=args.get("q", "")[:100],
        category=args.get("category", "")[:128] if kind == "skus" else "",
        abc=abc if kind == "skus" and abc in ("A", "B", "C", "-") else "",
        supplier=args.get("supplier", "")[:64] if kind == "skus" else "",
        region=args.get("region", "")[:128] if kind == "warehouses" else "")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


@bp.get("")
@login_required(Right.ADMIN)
def home() -> Any:
    return redirect(url_for(".index", kind="skus"))


def per_kind(rule: str, endpoint: str, view: Any, methods: tuple[str, ...] = ("GET",)) -> None:
    """One URL rule per kind (``/skus``, ``/warehouses``, ``/suppliers``) for one view, which
    gets the kind as ``kind``: ``url_for(endpoint, kind=...)`` picks the rule."""
    for kind in KINDS:
        bp.add_url_rule(rule.format(kind=kind), endpoint, view, defaults={"kind": kind},
                        methods=list(methods))


@login_required(Right.ADMIN)
def index(kind: str) -> Any:
    filters = filters_of(request.args, kind)
    page = _page()
    with services().uow() as uow:
        total, rows = browse.search(uow.conn, kind, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        choices = browse.choices(uow.conn, kind)
    args = {k: v for k, v in vars(filters).items() if v}
    return render_template(f"catalog/{kind}.html", kind=kind, rows=rows, total=total,
                           page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                           filters=filters, args=args, choices=choices)


@login_required(Right.ADMIN)
def export(kind: str) -> Any:
    """The list as it is filtered, every row (not only this page), as an Excel workbook."""
    svc = services()
    filters = filters_of(request.args, kind)
    path = xlsx.write(kind, browse.export(svc.uow, kind, filters), svc.settings.instance_path)
    return xlsx.send(path, f"{kind}-{svc.clock.now():%Y%m%d-%H%M}.xlsx")


per_kind("/{kind}", "index", index)
per_kind("/{kind}/export.xlsx", "export", export)


@bp.get("/skus/item/<path:code>")
@login_required(Right.ADMIN)
def sku(code: str) -> Any:
    svc = services()
    with svc.uow() as uow:
        row = browse.get(uow.conn, "skus", code)
        stock = stock_view(uow.conn, svc.cache.current(uow.conn), code, svc.clock.now())
    alerts = [a for wh in stock["warehouses"] for a in wh["alerts"]]
    return render_template("catalog/sku.html", kind="skus", sku=row, stock=stock,
                           alerts=alerts)


@bp.get("/warehouses/item/<path:code>")
@login_required(Right.ADMIN)
def warehouse(code: str) -> Any:
    page = _page()
    with services().uow() as uow:
        row = browse.get(uow.conn, "warehouses", code)
        total, levels = browse.stock_in_warehouse(uow.conn, row["id"], DETAIL_ROWS,
                                                  (page - 1) * DETAIL_ROWS)
    return render_template("catalog/warehouse.html", kind="warehouses", warehouse=row,
                           levels=levels, total=total, page=page,
                           pages=max((total + DETAIL_ROWS - 1) // DETAIL_ROWS, 1))


@bp.get("/suppliers/item/<path:code>")
@login_required(Right.ADMIN)
def supplier(code: str) -> Any:
    page = _page()
    svc = services()
    with svc.uow() as uow:
        row = browse.get(uow.conn, "suppliers", code)
        total, linked = browse.skus_of_supplier(uow.conn, row["id"], DETAIL_ROWS,
                                                (page - 1) * DETAIL_ROWS)
        active = svc.cache.current(uow.conn).ruleset
        record = supplier_record(uow.conn, row["id"],
                                 active.compiled.settings if active is not None else None)
    return render_template("catalog/supplier.html", kind="suppliers", supplier=row,
                           linked=linked, total=total, page=page, record=record,
                           pages=max((total + DETAIL_ROWS - 1) // DETAIL_ROWS, 1))


@bp.post("/suppliers/item/<path:code>/availability")
@login_required(Right.ADMIN)
def supplier_availability(code: str) -> Any:
    """Mark the supplier unavailable (or available again): requisitions with a ``fallback``
    go to their fallback supplier meanwhile (issue #19)."""
    svc = services()
    user = current_user()
    assert user is not None  # login_required
    unavailable = request.form.get("unavailable") == "1"
    with svc.uow() as uow:
        set_unavailable(uow.conn, code, unavailable, user.username, svc.clock.now())
        uow.commit()
    flash(_("%(code)s is marked unavailable: requisitions with a fallback go to their fallback supplier.", code=code)
          if unavailable else _("%(code)s is available again.", code=code), "success")
    return redirect(url_for(".supplier", code=code), 303)

