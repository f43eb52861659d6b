"""REST: purchase requisitions (SPEC §5): list, show one, approve/reject/order/receive/cancel."""

from __future__ import annotations

from typing import Any, cast

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
from admin.auth import caller, require, services
from engine.policy import Right
from engine.services import queries
from engine.services import requisitions as requisition_service

blp = WorkBlueprint("requisitions", __name__, url_prefix="/api/v1/requisitions",
                description="Purchase requisitions and their approval")


@blp.route("")
class Requisitions(MethodView):
    @require(Right.READ)
    @blp.arguments(RequisitionArgsSchema, location="query")
    @blp.response(200, RequisitionPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Requisitions, newest first. ``mine=true``: those the caller's roles approve."""
        filters, limit, offset = split_page(args)
        if filters.pop("mine", False):
            filters["roles"] = sorted(caller().roles)
        with services().uow() as uow:
            total, items = queries.list_requisitions(
                uow.conn, cast(queries.RequisitionFilters, filters), limit, offset)
        return {"total": total, "items": items}


@blp.route("/<int:req_id>")
class Requisition(MethodView):
    @require(Right.READ)
    @blp.response(200, RequisitionDetailSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def get(self, req_id: int) -> dict[str, Any]:
        """One requisition with its history and the transitions the caller may take."""
        who = caller()
        with services().uow() as uow:
            return requisition_service.get_requisition(uow.conn, req_id, who.roles,
                                                       who.is_admin)


@blp.route("/<int:req_id>/transitions")
class RequisitionTransitions(MethodView):
    @require(Right.ACT)
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": TransitionRequestSchema}}})
    @blp.response(200, RequisitionDetailSchema)
    @blp.alt_response(422, schema=FieldErrorsSchema, description="e.g. order without data.ref")
    @blp.alt_response(403, schema=schemas.MessageSchema,
                      description="the caller may not take this step (README: who may act)")
    @blp.alt_response(409, schema=schemas.MessageSchema,
                      description="not allowed from the current state, or changed meanwhile")
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def post(self, req_id: int) -> dict[str, Any]:
        """``{"transition": "approve"}`` or ``{"transition": "order", "data": {"ref": "PO-1"}}``.

        Transitions: submit, approve, reject, order, receive, cancel. Approve and reject need
        the requisition's approval role, and so does cancelling one that waits for approval
        (or an admin); submit, order, receive and other cancels need a buying role (the
        owner of the rule that raised it, or its approval role) or an admin.
        """
        body = load_body(TransitionRequestSchema(), json_body())
        who = caller()
        svc = services()
        with svc.uow() as uow:
            requisition_service.transition_requisition(
                uow.conn, req_id, body["transition"], body["data"], who.username, who.roles,
                svc.clock.now(), who.is_admin)
            uow.commit()
            return requisition_service.get_requisition(uow.conn, req_id, who.roles,
                                                       who.is_admin)
