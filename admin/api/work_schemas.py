"""Wire schemas of the work endpoints (alerts, tasks, requisitions, stock): query arguments for
filters and paging, request bodies and answers, as the OpenAPI document shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import flask_smorest
from marshmallow import Schema, ValidationError, fields, post_load, validate
from webargs.flaskparser import FlaskParser

from engine.errors import InputInvalid
from engine.rules.compiled import SEVERITIES
from engine.workflows.requisitions import STATES as REQUISITION_STATES

MAX_LIMIT = 500


# -- query arguments ------------------------------------------------------------------------
class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=0),
                           metadata={"description": f"page size, at most {MAX_LIMIT}"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @post_load
    def _clamp(self, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        data["limit"] = min(data["limit"], MAX_LIMIT)
        return data


def split_page(args: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
    """Loaded query arguments → (filters, limit, offset)."""
    filters = {k: v for k, v in args.items() if k not in ("limit", "offset") and v is not None}
    return filters, args["limit"], args["offset"]


class AlertArgsSchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(("open", "acknowledged", "resolved")))
    sku = fields.String(metadata={"description": "SKU code"})
    warehouse = fields.String(metadata={"description": "warehouse code"})
    rule = fields.String(metadata={"description": "rule id"})
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    role = fields.String(metadata={"description": "the owner role"})


class TaskArgsSchema(PageArgsSchema):
    state = fields.String()
    sku = fields.String(metadata={"description": "SKU code"})
    warehouse = fields.String(metadata={"description": "warehouse code"})
    rule = fields.String(metadata={"description": "rule id of the task's alert"})
    role = fields.String(metadata={"description": "the role whose inbox holds the task"})
    assignee = fields.String()
    open = fields.Boolean(metadata={"description": "true: not closed; false: closed"})
    overdue = fields.Boolean(metadata={"description": "true: past due and not closed"})
    mine = fields.Boolean(metadata={"description": "true: only tasks of the caller's roles"})


class RequisitionArgsSchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(REQUISITION_STATES))
    sku = fields.String(metadata={"description": "SKU code"})
    warehouse = fields.String(metadata={"description": "warehouse code"})
    supplier = fields.String(metadata={"description": "supplier code"})
    rule = fields.String(metadata={"description": "rule id of the requisition's alert"})
    role = fields.String(metadata={"description": "the approval role"})
    open = fields.Boolean(metadata={"description": "true: not received, rejected or cancelled"})
    mine = fields.Boolean(metadata={"description": "true: only those the caller's roles approve"})


# -- request bodies -------------------------------------------------------------------------
class TransitionRequestSchema(Schema):
    transition = fields.String(required=True, validate=validate.Length(1, 64))
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "the transition form's answers"})


def load_body(schema: Schema, body: Any) -> dict[str, Any]:
    """``body`` loaded by ``schema``; errors as ``InputInvalid`` (422) with the field named."""
    if not isinstance(body, dict):
        raise InputInvalid([{"field": "", "message": "the body must be a JSON object"}])
    try:
        return schema.load(body)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise InputInvalid(field_errors(exc.messages)) from exc


def field_errors(messages: Any) -> list[dict[str, object]]:
    """marshmallow/webargs messages → ``[{"field", "message"}]``, one entry per field."""
    if isinstance(messages, Mapping) and len(messages) == 1:
        (key, inner), = messages.items()
        if key in ("query", "json") and isinstance(inner, Mapping):
            messages = inner  # webargs keys the messages by location first
    if not isinstance(messages, Mapping):
        messages = {"": messages}
    return [{"field": str(k), "message": "; ".join(map(str, _flat(v)))}
            for k, v in messages.items()]


class FieldErrorParser(FlaskParser):
    """Invalid query arguments answer 422 ``{"errors": [{"field", "message"}]}``, as bodies do."""

    def handle_error(self, error: ValidationError, *args: Any, **kwargs: Any) -> NoReturn:
        raise InputInvalid(field_errors(error.messages))


class WorkBlueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = FieldErrorParser()


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _flat(v)]
    return [m for v in value for m in _flat(v)] if isinstance(value, list) else [value]


# -- answers --------------------------------------------------------------------------------
class FieldErrorSchema(Schema):
    field = fields.String()
    message = fields.String()


class FieldErrorsSchema(Schema):
    errors = fields.List(fields.Nested(FieldErrorSchema))
    message = fields.String()


class AlertSchema(Schema):
    id = fields.Integer()
    rule = fields.String()
    rule_version = fields.Integer()
    sku = fields.String()
    warehouse = fields.String()
    severity = fields.String(metadata={"enum": list(SEVERITIES)})
    state = fields.String(metadata={"enum": ["open", "acknowledged", "resolved"]})
    owner = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    last_hit_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    hits = fields.Integer()
    facts = fields.Dict(metadata={"description": "the values the condition saw"})


class AlertPageSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(AlertSchema))


class HistorySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    transition = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String()
    data = fields.Dict()


class TaskSchema(Schema):
    id = fields.Integer()
    alert = fields.Integer(allow_none=True)
    rule = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    warehouse = fields.String(allow_none=True)
    title = fields.String()
    workflow = fields.String()
    state = fields.String()
    closed = fields.Boolean()
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    severity = fields.String()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    data = fields.Dict(metadata={"description": "the form answers, latest per field"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class TaskPageSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(TaskSchema))


class ChoiceSchema(Schema):
    value = fields.String()
    label = fields.String()
    labels = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "the label per language (zh, en), if given"})


class WidgetSchema(Schema):
    name = fields.String()
    label = fields.String()
    input = fields.String(metadata={"enum": ["text", "textarea", "number", "select", "date",
                                             "checkbox"]})
    choices = fields.List(fields.Nested(ChoiceSchema))
    required = fields.Boolean()
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)
    step = fields.Raw(allow_none=True, metadata={"description": '"any" or 1'})
    max_length = fields.Integer(allow_none=True)
    help = fields.String()


class TransitionSchema(Schema):
    id = fields.String()
    label = fields.String()
    to = fields.String()
    form = fields.List(fields.Nested(WidgetSchema))


class AlertSummarySchema(Schema):
    id = fields.Integer()
    rule = fields.String()
    state = fields.String()
    severity = fields.String()
    sku = fields.String()
    warehouse = fields.String()
    facts = fields.Dict()


class TaskDetailSchema(TaskSchema):
    history = fields.List(fields.Nested(HistorySchema))
    alert_summary = fields.Nested(AlertSummarySchema, allow_none=True)
    transitions = fields.List(fields.Nested(TransitionSchema),
                              metadata={"description": "what the caller may do now"})


class RequisitionSchema(Schema):
    id = fields.Integer()
    alert = fields.Integer(allow_none=True)
    rule = fields.String(allow_none=True)
    sku = fields.String()
    warehouse = fields.String()
    supplier = fields.String(allow_none=True)
    quantity = fields.Float()
    unit_price = fields.Float(allow_none=True)
    amount = fields.Float(allow_none=True)
    state = fields.String(metadata={"enum": list(REQUISITION_STATES)})
    approval_role = fields.String(allow_none=True)
    owner = fields.String(allow_none=True, metadata={
        "description": "the role responsible for it (the raising rule's owner): with the "
                       "approval role, the buying roles that may submit, order and receive"})
    ref = fields.String(allow_none=True, metadata={"description": "ERP purchase order number"})
    ordered_at = fields.DateTime(allow_none=True)
    counted_by_erp = fields.Boolean()
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class RequisitionPageSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(RequisitionSchema))


class RequisitionDetailSchema(RequisitionSchema):
    history = fields.List(fields.Nested(HistorySchema))
    transitions = fields.List(fields.String(), metadata={"description": "what the caller may do"})


class LevelsSchema(Schema):
    on_hand = fields.Float()
    reserved = fields.Float()
    available = fields.Float()
    on_order = fields.Float()
    on_order_erp = fields.Float()
    on_order_local = fields.Float()
    inventory_position = fields.Float()
    total_available = fields.Float()


class MetricsSchema(Schema):
    avg_daily_demand = fields.Float()
    demand_std = fields.Float()
    lead_time_days = fields.Float()
    lead_time_std = fields.Float()
    safety_stock = fields.Float()
    reorder_point = fields.Float()
    max_stock = fields.Float()
    days_of_cover = fields.Float(allow_none=True)
    days_since_last_sale = fields.Integer(allow_none=True)


class WarehouseStockSchema(Schema):
    warehouse = fields.String()
    name = fields.String(allow_none=True)
    levels = fields.Nested(LevelsSchema)
    metrics = fields.Nested(MetricsSchema)
    supplier = fields.Dict(allow_none=True, metadata={"description": "the preferred supplier"})
    groups = fields.List(fields.String())
    last_event_at = fields.DateTime(allow_none=True)
    alerts = fields.List(fields.Nested(AlertSchema), metadata={"description": "open alerts"})


class StockSchema(Schema):
    sku = fields.String()
    name = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    total_available = fields.Float()
    warehouses = fields.List(fields.Nested(WarehouseStockSchema))
