"""REST: people's contacts (issue #18): each user reads and sets their own, an admin anyone's."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from admin.api.body import json_body
from admin.auth import require, services
from engine.errors import InputInvalid
from engine.policy import Right
from engine.services import contacts

blp = Blueprint("user_contacts", __name__, url_prefix="/api/v1/users",
                description="How to reach people: e-mail, phone, WeCom/DingTalk/Feishu ids")


class ContactsSchema(Schema):
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    wecom_id = fields.String(allow_none=True)
    dingtalk_id = fields.String(allow_none=True)
    feishu_id = fields.String(allow_none=True)


def _put(username: str) -> Any:
    body = json_body()
    if not isinstance(body, dict):
        raise InputInvalid([{"field": "", "message": "the body must be an object of contacts"}])
    with services().uow() as uow:
        found = contacts.set_contacts(uow.conn, username, body)
        uow.commit()
    return found


@blp.route("/me/contacts")
class MyContacts(MethodView):
    @require(Right.READ)
    @blp.response(200, ContactsSchema)
    def get(self) -> Any:
        """The caller's own contacts."""
        with services().uow() as uow:
            return contacts.get_contacts(uow.conn, g.user.username)

    @require()
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": ContactsSchema}}})
    @blp.response(200, ContactsSchema)
    def put(self) -> Any:
        """Set some of the caller's contacts (an empty text clears one); 422 by field."""
        return _put(g.user.username)


@blp.route("/<username>/contacts")
class UserContacts(MethodView):
    @require(admin=True)
    @blp.response(200, ContactsSchema)
    def get(self, username: str) -> Any:
        """A user's contacts (admins)."""
        with services().uow() as uow:
            return contacts.get_contacts(uow.conn, username)

    @require(admin=True)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": ContactsSchema}}})
    @blp.response(200, ContactsSchema)
    def put(self, username: str) -> Any:
        """Set some of a user's contacts (admins); 422 by field."""
        return _put(username)



