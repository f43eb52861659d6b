"""Wire schemas of the REST API (what the OpenAPI document shows); the domain has its own."""

from __future__ import annotations

from marshmallow import Schema, fields

from engine.catalog import SkuSchema, SupplierSchema, WarehouseSchema

__all__ = ["SkuSchema", "SupplierSchema", "WarehouseSchema"]


class ProblemSchema(Schema):
    path = fields.String(metadata={"description": "where, e.g. rules[2].when"})
    line = fields.Integer(allow_none=True)
    message = fields.String()
    code = fields.String()


class ProblemsSchema(Schema):
    errors = fields.List(fields.Nested(ProblemSchema))


class RowErrorSchema(Schema):
    row = fields.Integer(allow_none=True, metadata={"description": "index in the request list"})
    field = fields.String(allow_none=True)
    message = fields.String()


class RowErrorsSchema(Schema):
    errors = fields.List(fields.Nested(RowErrorSchema))
    message = fields.String()


class MessageSchema(Schema):
    message = fields.String()


class RulesetSchema(Schema):
    version = fields.Integer(allow_none=True)
    revision = fields.Integer()
    name = fields.String(allow_none=True)
    format = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    document = fields.Dict(allow_none=True)


class PutRulesetResultSchema(Schema):
    version = fields.Integer()
    revision = fields.Integer()


class MatchSchema(Schema):
    count = fields.Integer()
    skus = fields.List(fields.String(), metadata={"description": "up to 100 matching SKU codes"})


class RuleMatchSchema(MatchSchema):
    pairs = fields.Integer(metadata={"description": "SKU×warehouse pairs with stock in the rule's groups"})
    hits = fields.Integer(metadata={"description": "pairs whose condition holds now"})
    hit_pairs = fields.List(fields.String(), metadata={
        "description": "up to 100 of them, as SKU@WAREHOUSE"})
    failed = fields.Integer(metadata={"description": "pairs whose condition failed to evaluate"})


class ValidateResultSchema(Schema):
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(ProblemSchema))
    warnings = fields.List(fields.Nested(ProblemSchema), metadata={
        "description": "settings that work but likely overstock, deprecated settings"})
    groups = fields.Dict(keys=fields.String(), values=fields.Nested(MatchSchema))
    rules = fields.Dict(keys=fields.String(), values=fields.Nested(RuleMatchSchema))


class VersionSchema(Schema):
    number = fields.Integer()
    name = fields.String()
    author = fields.String()
    created_at = fields.DateTime()
    comment = fields.String()
    format = fields.String()
    active = fields.Boolean()


class VersionTextSchema(VersionSchema):
    text = fields.String()
    diff = fields.String(allow_none=True)


class UpsertResultSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
