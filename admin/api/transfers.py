"""REST: transfers between warehouses (issue #19): list, show one, request one, take a step."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from admin.api import schemas
from admin.api.body import json_body
from admin.api.work_schemas import (
    FieldErrorsSchema,
    PageArgsSchema,
    TransitionRequestSchema,
    WorkBlueprint,
    load_body,
    split_page,
)
from admin.auth import caller, require, services
from engine.policy import Right
from engine.services import transfers as transfer_service
from engine.workflows.transfers import STATES

blp = WorkBlueprint("transfers", __name__, url_prefix="/api/v1/transfers",
                    description="Transfers between warehouses (requested → shipped → received)")


class TransferArgsSchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(STATES))
    open = fields.Boolean(metadata={"description": "true: requested or shipped"})
    sku = fields.String(metadata={"description": "SKU code"})
    warehouse = fields.String(metadata={"description": "warehouse code, either end"})


class TransferSchema(Schema):
    id = fields.Integer()
    alert = fields.Integer(allow_none=True)
    rule = fields.String(allow_none=True)
    sku = fields.String()
    sku_name = fields.String()
    from_warehouse = fields.String()
    to_warehouse = fields.String()
    quantity = fields.Float()
    state = fields.String(metadata={"enum": list(STATES)})
    ship_role = fields.String(allow_none=True)
    receive_role = fields.String(allow_none=True)
    explanation = fields.Dict(metadata={"description": "the figures it was proposed on"})
    created_by = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class TransferPageSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(TransferSchema))


class TransferHistorySchema(Schema):
    at = fields.String()
    actor = fields.String()
    transition = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String()
    data = fields.Dict()


class TransferDetailSchema(TransferSchema):
    history = fields.List(fields.Nested(TransferHistorySchema))
    transitions = fields.List(fields.String(),
                              metadata={"description": "steps the caller may take"})


class TransferRequestSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    from_warehouse = fields.String(required=True, validate=validate.Length(1, 64))
    to_warehouse = fields.String(required=True, validate=validate.Length(1, 64))
    quantity = fields.Float(required=True, allow_nan=False)
    ship_role = fields.String(load_default=None, validate=validate.Length(1, 64))
    receive_role = fields.String(load_default=None, validate=validate.Length(1, 64))
    note = fields.String(load_default="", validate=validate.Length(0, 2000))


@blp.route("")
class Transfers(MethodView):
    @require(Right.READ)
    @blp.arguments(TransferArgsSchema, location="query")
    @blp.response(200, TransferPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Transfers, newest first."""
        filters, limit, offset = split_page(args)
        with services().uow() as uow:
            total, items = transfer_service.list_transfers(uow.conn, filters, limit, offset)
        return {"total": total, "items": items}

    @require(Right.ACT)
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": TransferRequestSchema}}})
    @blp.response(201, TransferDetailSchema)
    @blp.alt_response(422, schema=FieldErrorsSchema,
                      description="to its own warehouse, not above 0, more than the source has")
    @blp.alt_response(403, schema=schemas.MessageSchema,
                      description="only the receiving role or an admin requests a transfer")
    def post(self) -> dict[str, Any]:
        """Request a transfer by hand (the receiving role or an admin)."""
        body = load_body(TransferRequestSchema(), json_body())
        who = caller()
        svc = services()
        with svc.uow() as uow:
            uow.transaction()
            new_id = transfer_service.request_transfer(uow.conn, body, who, svc.clock.now())
            uow.commit()
            return transfer_service.get_transfer(uow.conn, new_id, who)


@blp.route("/<int:transfer_id>")
class Transfer(MethodView):
    @require(Right.READ)
    @blp.response(200, TransferDetailSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def get(self, transfer_id: int) -> dict[str, Any]:
        """One transfer with its history and the steps the caller may take."""
        with services().uow() as uow:
            return transfer_service.get_transfer(uow.conn, transfer_id, caller())


@blp.route("/<int:transfer_id>/transitions")
class TransferTransitions(MethodView):
    @require(Right.ACT)
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": TransitionRequestSchema}}})
    @blp.response(200, TransferDetailSchema)
    @blp.alt_response(422, schema=FieldErrorsSchema,
                      description="the source would go below zero")
    @blp.alt_response(403, schema=schemas.MessageSchema,
                      description="the caller may not take this step (README: who may act)")
    @blp.alt_response(409, schema=schemas.MessageSchema,
                      description="not allowed from the current state, or changed meanwhile")
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def post(self, transfer_id: int) -> dict[str, Any]:
        """``{"transition": "ship"}``: ship, receive, cancel. Ship: the source's role;
        receive: the destination's; cancel (before shipping): either; admins every step."""
        body = load_body(TransitionRequestSchema(), json_body())
        who = caller()
        svc = services()
        with svc.uow() as uow:
            uow.transaction()
            follow_ups = transfer_service.transition_transfer(
                uow.conn, svc.cache.current(uow.conn), transfer_id, body["transition"],
                body["data"], who, svc.clock.now())
            uow.commit()
            for row_id, kind in follow_ups:
                svc.jobs.dispatch(row_id, kind)
            return transfer_service.get_transfer(uow.conn, transfer_id, who)
