"""Engine exceptions → HTTP answers: one JSON shape per kind of failure (SPEC §6)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, InputInvalid, NotFound, PermissionDenied
from engine.rules.problems import DocumentTooLarge, RulesetInvalid
from engine.strict_json import JsonInvalid


class BadRequest(Exception):
    """A request the API cannot read at all (wrong content type, malformed body)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _json(status: int, **body: Any) -> Any:
    response = jsonify(body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(RulesetInvalid)
    def _ruleset_invalid(exc: RulesetInvalid) -> Any:
        status = 413 if isinstance(exc, DocumentTooLarge) else 422
        return _json(status, errors=[p.as_dict() for p in exc.problems])

    @app.errorhandler(InputInvalid)
    def _input_invalid(exc: InputInvalid) -> Any:
        return _json(422, errors=exc.errors, message="the request was refused; nothing was changed")

    @app.errorhandler(JsonInvalid)
    def _json_invalid(exc: JsonInvalid) -> Any:
        return _json(exc.status, errors=[{"path": exc.path, "message": exc.message}],
                     message=exc.message)

    @app.errorhandler(BadRequest)
    def _bad_request(exc: BadRequest) -> Any:
        return _json(exc.status, errors=[{"path": "", "message": exc.message}], message=exc.message)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Any:
        return _json(404, message=f"{exc.kind} '{exc.key}' not found")

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> Any:
        return _json(409, message=exc.message)

    @app.errorhandler(PermissionDenied)
    def _forbidden(exc: PermissionDenied) -> Any:
        return _json(403, message=exc.message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return _json(exc.code or 500, message=exc.description)
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return _json(500, message="internal error; it has been logged")
        return "Internal error; it has been logged.", 500
