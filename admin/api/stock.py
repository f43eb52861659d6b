"""REST: one SKU's stock per warehouse — levels, metrics, groups and open alerts (SPEC §6)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from admin.api import schemas
from admin.api.work_schemas import StockSchema, WorkBlueprint
from admin.auth import require, services
from engine.policy import Right
from engine.services.stock_view import stock_view

blp = WorkBlueprint("stock", __name__, url_prefix="/api/v1/skus",
                description="Stock levels and metrics of a SKU")


@blp.route("/<path:code>/stock")
class Stock(MethodView):
    @require(Right.READ)
    @blp.response(200, StockSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema, description="unknown SKU")
    def get(self, code: str) -> dict[str, Any]:
        """Levels, metrics (as a rule would see them now) and open alerts per warehouse."""
        svc = services()
        with svc.uow() as uow:
            return stock_view(uow.conn, svc.cache.current(uow.conn), code, svc.clock.now())
