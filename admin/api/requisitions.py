"""REST: purchase requisitions (SPEC §5): list, show one, approve/reject/order/receive/cancel."""

from __future__ import annotations

from typing import Any, cast

from flask import g
from flask.views import MethodView

from admin.api import schemas
from admin.api.body import json_body
from admin.api.work_schemas import (
    FieldErrorsSchema,
    RequisitionArgsSchema,
    RequisitionDetailSchema,
    RequisitionPageSchema,
    TransitionRequestSchema,
    WorkBlueprint,
    load_body,
    split_page,
)
from admin.auth import require, services, user_roles
from engine.services import queries
from engine.services import requisitions as requisition_service

blp = WorkBlueprint("requisitions", __name__, url_prefix="/api/v1/requisitions",
                description="Purchase requisitions and their approval")


@blp.route("")
class Requisitions(MethodView):
    @require()
    @blp.arguments(RequisitionArgsSchema, location="query")
    @blp.response(200, RequisitionPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Requisitions, newest first. ``mine=true``: those the caller's roles approve."""
        filters, limit, offset = split_page(args)
        if filters.pop("mine", False):
            filters["roles"] = sorted(user_roles(g.user))
        with services().uow() as uow:
            total, items = queries.list_requisitions(
                uow.conn, cast(queries.RequisitionFilters, filters), limit, offset)
        return {"total": total, "items": items}


@blp.route("/<int:req_id>")
class Requisition(MethodView):
    @require()
    @blp.response(200, RequisitionDetailSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def get(self, req_id: int) -> dict[str, Any]:
        """One requisition with its history and the transitions the caller may take."""
        roles = user_roles(g.user)
        with services().uow() as uow:
            return requisition_service.get_requisition(uow.conn, req_id, roles)


@blp.route("/<int:req_id>/transitions")
class RequisitionTransitions(MethodView):
    @require()
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": TransitionRequestSchema}}})
    @blp.response(200, RequisitionDetailSchema)
    @blp.alt_response(422, schema=FieldErrorsSchema, description="e.g. order without data.ref")
    @blp.alt_response(403, schema=schemas.MessageSchema, description="not the approval role")
    @blp.alt_response(409, schema=schemas.MessageSchema,
                      description="not allowed from the current state, or changed meanwhile")
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def post(self, req_id: int) -> dict[str, Any]:
        """``{"transition": "approve"}`` or ``{"transition": "order", "data": {"ref": "PO-1"}}``.

        Transitions: submit, approve, reject, order, receive, cancel. Approve and reject need
        the requisition's approval role.
        """
        body = load_body(TransitionRequestSchema(), json_body())
        roles = user_roles(g.user)
        svc = services()
        with svc.uow() as uow:
            requisition_service.transition_requisition(
                uow.conn, req_id, body["transition"], body["data"], g.user.username, roles,
                svc.clock.now())
            uow.commit()
            return requisition_service.get_requisition(uow.conn, req_id, roles)
