"""REST: noise control (issue #17) — snooze an alert, mute a rule for a SKU or warehouse, and
list both. Who may: ``engine.policy`` (a snooze as the alert's task, a mute for admins)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from admin.api.body import json_body
from admin.auth import caller, require, services
from engine.errors import InputInvalid, NotFound
from engine.noise import parse_instant
from engine.policy import Right, may_snooze_alert
from engine.services import noise_control

blp = Blueprint("noise_api", __name__, url_prefix="/api/v1",
                description="Noise control: snoozed alerts and muted rules")


class SnoozeRequestSchema(Schema):
    until = fields.String(metadata={"description": "ISO 8601 with an offset; in the future"})
    until_stock_change = fields.Boolean(metadata={
        "description": "true: the next stock event of the alert's SKU×warehouse ends it"})
    reason = fields.String(required=True)


class SnoozeSchema(Schema):
    id = fields.Integer()
    alert = fields.Integer()
    until = fields.DateTime(allow_none=True)
    until_stock_change = fields.Boolean()
    reason = fields.String()
    by = fields.String()
    at = fields.DateTime()
    rule = fields.String()
    sku = fields.String()
    warehouse = fields.String()


class MuteRequestSchema(Schema):
    rule = fields.String(required=True)
    sku = fields.String(metadata={"description": "SKU code; with or instead of warehouse"})
    warehouse = fields.String(metadata={"description": "warehouse code"})
    until = fields.String(metadata={"description": "ISO 8601 with an offset; none: until removed"})
    reason = fields.String(required=True)


class MuteSchema(Schema):
    id = fields.Integer()
    rule = fields.String()
    sku = fields.String(allow_none=True)
    warehouse = fields.String(allow_none=True)
    until = fields.DateTime(allow_none=True)
    reason = fields.String()
    by = fields.String()
    at = fields.DateTime()


def _object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise InputInvalid([{"field": "", "message": "the body must be a JSON object"}])
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InputInvalid([{"field": name, "message": f"'{name}' must be text"}])
    return value


def _check_snooze_right(conn: Any, alert_id: int) -> None:
    svc = services()
    active = svc.rulesets.active(conn)
    who = caller(active.compiled.roles_of(g.user.username) if active else frozenset())
    if not may_snooze_alert(who, noise_control.alert_tasks(conn, alert_id),
                            active.compiled.workflows if active else {}):
        raise NotFound("alert", alert_id)


@blp.route("/alerts/<int:alert_id>/snooze")
class AlertSnooze(MethodView):
    @require(Right.ACT)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": SnoozeRequestSchema}}})
    @blp.response(201, SnoozeSchema)
    def post(self, alert_id: int) -> Any:
        """Snooze an open alert until a time, or until its stock changes, saying why; its
        notifications, escalations and digests keep quiet meanwhile. 422 names the field (a
        time in the past), 409 when the alert is resolved; nothing changes then."""
        body = _object()
        until = parse_instant(_text(body, "until"), "until")
        stock = body.get("until_stock_change", False)
        if not isinstance(stock, bool):
            raise InputInvalid([{"field": "until_stock_change",
                                 "message": "'until_stock_change' must be true or false"}])
        svc = services()
        with svc.uow() as uow:
            _check_snooze_right(uow.conn, alert_id)
            found = noise_control.snooze(uow.conn, alert_id, until=until,
                                         until_stock_change=stock,
                                         reason=_text(body, "reason") or "",
                                         actor=g.user.username, now=svc.clock.now())
            uow.commit()
        return found

    @require(Right.ACT)
    @blp.response(200, SnoozeSchema)
    def delete(self, alert_id: int) -> Any:
        """End the alert's snooze now (409 when it has none); held notifications go out."""
        svc = services()
        with svc.uow() as uow:
            _check_snooze_right(uow.conn, alert_id)
            now = svc.clock.now()
            found = noise_control.active_snooze(uow.conn, alert_id, now)
            follow = noise_control.unsnooze(uow.conn, alert_id, g.user.username, now)
            uow.commit()
        for row_id, kind in follow:
            svc.jobs.dispatch(row_id, kind)
        return found


@blp.route("/snoozes")
class Snoozes(MethodView):
    @require(Right.READ)
    @blp.response(200, SnoozeSchema(many=True))
    def get(self) -> Any:
        """Snoozes in force, newest first, with their alert's rule, SKU and warehouse."""
        svc = services()
        with svc.uow() as uow:
            return noise_control.list_snoozes(uow.conn, svc.clock.now())


@blp.route("/mutes")
class Mutes(MethodView):
    @require(Right.READ)
    @blp.response(200, MuteSchema(many=True))
    def get(self) -> Any:
        """Mutes in force, newest first."""
        svc = services()
        with svc.uow() as uow:
            return noise_control.list_mutes(uow.conn, svc.clock.now())

    @require(admin=True)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": MuteRequestSchema}}})
    @blp.response(201, MuteSchema)
    def post(self) -> Any:
        """Mute a rule of the active version for a SKU, a warehouse or one pair (it opens no
        alert there), saying why, until a time or until removed; 422 names the field."""
        body = _object()
        svc = services()
        with svc.uow() as uow:
            active = svc.rulesets.active(uow.conn)
            found = noise_control.mute(
                uow.conn, rule=_text(body, "rule") or "", sku=_text(body, "sku"),
                warehouse=_text(body, "warehouse"),
                until=parse_instant(_text(body, "until"), "until"),
                reason=_text(body, "reason") or "", actor=g.user.username, now=svc.clock.now(),
                known_rules=[r.id for r in active.compiled.rules] if active else [])
            uow.commit()
        return found


@blp.route("/mutes/<int:mute_id>")
class OneMute(MethodView):
    @require(admin=True)
    @blp.response(204)
    def delete(self, mute_id: int) -> None:
        """Remove a mute (it stays in the history); 404 when it is not in force."""
        svc = services()
        with svc.uow() as uow:
            noise_control.unmute(uow.conn, mute_id, g.user.username, svc.clock.now())
            uow.commit()
