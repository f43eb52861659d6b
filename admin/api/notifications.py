"""REST: messages the notify actions produced, their delivery state, and retrying failed ones."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from admin.auth import require, services
from engine.policy import Right
from engine.services import deliveries, outbox

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="Notifications and their delivery")


class NotificationSchema(Schema):
    id = fields.Integer()
    alert_id = fields.Integer(allow_none=True)
    channel = fields.String()
    recipients = fields.List(fields.String())
    subject = fields.String()
    message = fields.String()
    state = fields.String(metadata={"enum": ["pending", "retrying", "sent", "failed", "undeliverable"]})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class RetryRequestSchema(Schema):
    ids = fields.List(fields.Integer(), metadata={"description": "default: every failed or undeliverable one"})


class RetryResultSchema(Schema):
    retried = fields.List(fields.Integer())


@blp.route("")
class Notifications(MethodView):
    @require(Right.READ_PRIVATE)  # recipients and message texts
    @blp.response(200, NotificationSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Newest first; ``?state=failed`` to see what did not go out, and why."""
        svc = services()
        with svc.uow() as uow:
            return deliveries.list_notifications(uow.conn, request.args.get("state"),
                                                 request.args.get("limit", 50, type=int),
                                                 request.args.get("offset", 0, type=int))


@blp.route("/retry")
class Retry(MethodView):
    @require(Right.ADMIN)
    @blp.arguments(RetryRequestSchema, required=False)
    @blp.response(200, RetryResultSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send failed or undeliverable notifications again (after fixing the channel)."""
        svc = services()
        now = svc.clock.now()
        with svc.uow() as uow:
            ids = deliveries.retry(uow.conn, (body or {}).get("ids"), now)
            rows = [outbox.add(uow.conn, "deliver", {"notification": i}, now) for i in ids]
            uow.commit()
        if svc.jobs.inline:
            svc.jobs.dispatch_many([(r, "deliver") for r in rows])
        return {"retried": ids}
