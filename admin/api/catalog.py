"""REST: master data bulk upserts and listings (SKUs, warehouses, suppliers)."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from admin.api import schemas
from admin.api.body import json_body
from admin.auth import require, services
from engine.policy import Right
from engine.services import catalog

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Master data")

_ROW_SCHEMAS = {"skus": schemas.SkuSchema, "warehouses": schemas.WarehouseSchema,
                "suppliers": schemas.SupplierSchema}


def _make_view(kind: str) -> type[MethodView]:
    row_schema = _ROW_SCHEMAS[kind]

    class Rows(MethodView):
        # Supplier rows carry their contacts: admins (or an admin's read token) only.
        @require(Right.READ_PRIVATE if kind == "suppliers" else Right.READ)
        @blp.response(200, row_schema(many=True))
        def get(self) -> list[dict[str, Any]]:
            svc = services()
            limit = min(request.args.get("limit", 1000, type=int), 10_000)
            offset = request.args.get("offset", 0, type=int)
            with svc.uow() as uow:
                return catalog.list_rows(uow.conn, kind, limit, offset)

        @require(Right.ADMIN)
        @blp.doc(requestBody={"required": True, "content": {
            "application/json": {"schema": row_schema(many=True)}}})
        @blp.response(200, schemas.UpsertResultSchema)
        @blp.alt_response(422, schema=schemas.RowErrorsSchema,
                          description="at least one bad row: the whole batch is refused")
        def put(self) -> dict[str, int]:
            rows = json_body()
            svc = services()
            with svc.uow() as uow:
                result = catalog.put_rows(uow.conn, kind, rows, g.user.username, svc.clock.now())
                uow.commit()
            return result

    Rows.__name__ = f"{kind.title()}Rows"
    Rows.get.__doc__ = f"List {kind} (paged with limit and offset)."
    Rows.put.__doc__ = (f"Create or update {kind} in bulk by code. All-or-nothing: any bad row "
                        "refuses the batch and every bad row is reported by index and field.")
    return Rows


for _kind in ("skus", "warehouses", "suppliers"):
    blp.add_url_rule(f"/{_kind}", endpoint=_kind, view_func=_make_view(_kind))
