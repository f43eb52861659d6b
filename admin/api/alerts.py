"""REST: alerts (SPEC §5), filtered and paged; the explanation is in each alert's ``facts``."""

from __future__ import annotations

from typing import Any, cast

from flask.views import MethodView

from admin.api.work_schemas import AlertArgsSchema, AlertPageSchema, WorkBlueprint, split_page
from admin.auth import require, services
from engine.policy import Right
from engine.services import queries

blp = WorkBlueprint("alerts", __name__, url_prefix="/api/v1/alerts",
                description="Alerts raised by the rules")


@blp.route("")
class Alerts(MethodView):
    @require(Right.READ)
    @blp.arguments(AlertArgsSchema, location="query")
    @blp.response(200, AlertPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Alerts, newest first; filter by state, sku, warehouse, rule, severity, role (owner)."""
        filters, limit, offset = split_page(args)
        with services().uow() as uow:
            total, items = queries.list_alerts(
                uow.conn, cast(queries.AlertFilters, filters), limit, offset)
        return {"total": total, "items": items}
