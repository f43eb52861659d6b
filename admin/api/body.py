"""Reading request bodies strictly: the right content type, UTF-8, JSON without surprises."""

from __future__ import annotations

from typing import Any

from flask import request

from admin.errors import BadRequest
from engine import strict_json


def json_body() -> Any:
    """The request's JSON, refusing other content types (415) and malformed JSON (400)."""
    if request.mimetype != "application/json":
        raise BadRequest(f"expected application/json, got {request.mimetype or 'no content type'}", 415)
    return strict_json.loads(request.get_data(cache=False))


def text_body() -> str:
    raw = request.get_data(cache=False)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body must be UTF-8; invalid byte at offset {exc.start}") from exc
