"""The REST API under /api/v1 and its OpenAPI document, generated from the marshmallow schemas."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

API_SPEC = {
    "API_TITLE": "Inventory early-warning rules engine",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "info": {"description": "SPEC §6. Authenticate with `Authorization: Bearer <token>` "
                                "(create one with `flask --app wsgi tokens create NAME`)."},
    },
}


def init_app(app: Flask) -> Api:
    from admin.api import (
        alerts,
        catalog,
        contacts,
        events,
        imports,
        noise,
        notifications,
        requisitions,
        ruleset,
        stock,
        tasks,
        transfers,
    )

    for key, value in API_SPEC.items():
        app.config.setdefault(key, value)
    api = Api(app)
    events.register_schemas(api)
    for module in (ruleset, catalog, events, alerts, tasks, requisitions, stock, notifications,
                   imports, contacts, transfers, noise):
        api.register_blueprint(module.blp)
    return api
