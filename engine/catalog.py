"""Master data as it arrives from an admin or an ERP: SKUs, warehouses, suppliers (SPEC §5).

Each row is validated by a marshmallow schema; errors are reported by row index and field so a
bulk upsert can say exactly which rows are wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from engine.rules.variables import MAX_OPEN_CHARS, MAX_TAG_CHARS, MAX_TAGS

CODE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$",
    error="must be 1–64 letters, digits or . _ - / and start with a letter or digit",
)
MAX_ROWS = 10_000


class FiniteFloat(fields.Float):
    """A number that is neither NaN nor infinite, and not a boolean."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise ValidationError("must be a number, not true/false")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result is not None and not math.isfinite(result):
            raise ValidationError("must be a finite number")
        return result


def _fits(value: Any, limit: int) -> bool:
    """Free-form data (a SKU's attributes) at most ``limit`` characters as JSON."""
    size = len(json.dumps(value, ensure_ascii=False, default=str))
    if size > limit:
        raise ValidationError(f"at most {limit:,} characters as JSON; this is {size:,}")
    return True


class WarehouseSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 256))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))


class SupplierSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 256))
    lead_time_days = FiniteFloat(required=True, validate=validate.Range(0, 365))
    lead_time_std_days = FiniteFloat(load_default=0.0, validate=validate.Range(0, 365))
    moq = FiniteFloat(load_default=0.0, validate=validate.Range(0, 1e9))
    pack_size = FiniteFloat(load_default=1.0, validate=validate.Range(0, 1e9, min_inclusive=False))
    on_time_rate = FiniteFloat(load_default=None, allow_none=True, validate=validate.Range(0, 1))
    contact = fields.Dict(load_default=None, allow_none=True)


class SkuSupplierSchema(Schema):
    class Meta:
        unknown = RAISE

    supplier = fields.String(required=True, validate=CODE)
    price = FiniteFloat(load_default=None, allow_none=True, validate=validate.Range(0, 1e12))
    preferred = fields.Boolean(load_default=False)
    backup = fields.Boolean(load_default=False)


class SkuSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 256))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    # The sizes a rule's condition may meet (engine.rules.variables): its cost bound counts on them
    tags = fields.List(fields.String(validate=validate.Length(1, MAX_TAG_CHARS)), load_default=list,
                       validate=validate.Length(max=MAX_TAGS,
                                                error=f"at most {MAX_TAGS} tags per SKU"))
    unit = fields.String(load_default="EA", validate=validate.Length(1, 32))
    unit_cost = FiniteFloat(load_default=0.0, validate=validate.Range(0, 1e12))
    abc_class = fields.String(load_default=None, allow_none=True, validate=validate.OneOf("ABC"))
    attributes = fields.Dict(keys=fields.String(), load_default=dict,
                             validate=lambda value: _fits(value, MAX_OPEN_CHARS))
    suppliers = fields.List(fields.Nested(SkuSupplierSchema), load_default=None, allow_none=True)

    @validates_schema
    def _one_preferred(self, data: Mapping[str, Any], **_: Any) -> None:
        links = data.get("suppliers") or []
        if sum(1 for link in links if link["preferred"]) > 1:
            raise ValidationError("only one supplier can be preferred", "suppliers")
        codes = [link["supplier"] for link in links]
        if len(codes) != len(set(codes)):
            raise ValidationError("a supplier is listed twice", "suppliers")


SCHEMAS: dict[str, type[Schema]] = {
    "skus": SkuSchema,
    "warehouses": WarehouseSchema,
    "suppliers": SupplierSchema,
}


def flatten_errors(messages: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """marshmallow's nested error dict → ``[(("suppliers", 0, "price"), "message"), ...]``."""
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            seg = () if key == "_schema" else (key,)
            out.extend(flatten_errors(value, prefix + seg))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.extend((prefix, m) for m in messages)
    elif isinstance(messages, list):
        for item in messages:
            out.extend(flatten_errors(item, prefix))
    else:
        out.append((prefix, str(messages)))
    return out


def validate_rows(kind: str, rows: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validate a bulk upsert body: (clean rows, errors as ``{row, field, message}``).

    Duplicate codes within one batch are an error on the later row.
    """
    if not isinstance(rows, list):
        return [], [{"row": None, "field": None, "message": "the body must be a JSON list of rows"}]
    if len(rows) > MAX_ROWS:
        return [], [{"row": None, "field": None,
                     "message": f"{len(rows)} rows; at most {MAX_ROWS} per request"}]
    schema = SCHEMAS[kind]()
    clean: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors.append({"row": index, "field": None, "message": "each row must be an object"})
            continue
        try:
            data = schema.load(row)
        except ValidationError as exc:
            for path, message in flatten_errors(exc.messages):
                field = ".".join(str(p) for p in path) or None
                errors.append({"row": index, "field": field, "message": _sentence(field, message)})
            continue
        if data["code"] in seen:
            errors.append({"row": index, "field": "code", "message":
                           f"code '{data['code']}' is already used by row {seen[data['code']]}"})
            continue
        seen[data["code"]] = index
        clean.append(data)
    return clean, errors


_PLAIN = {
    "Missing data for required field.": "is required",
    "Not a valid number.": "must be a number",
    "Not a valid string.": "must be text",
    "Not a valid boolean.": "must be true or false",
    "Not a valid list.": "must be a list",
    "Not a valid mapping type.": "must be an object",
    "Field may not be null.": "may not be empty (null)",
    "Unknown field.": "is not a known field",
    "Special numeric values (nan or infinity) are not permitted.": "must be a finite number",
}


def _sentence(field: str | None, message: str) -> str:
    message = _PLAIN.get(message, message).rstrip(".")
    message = message[0].lower() + message[1:] if message else message
    return f"'{field}' {message}" if field else message


__all__ = ["EXCLUDE", "MAX_ROWS", "SCHEMAS", "flatten_errors", "validate_rows"]
