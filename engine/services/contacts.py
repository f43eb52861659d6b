"""How to reach a person: e-mail, phone and their WeCom, DingTalk and Feishu ids (issue #18).

Set by an admin for anyone, or by each user for themselves; read when a notification to a
role's members is delivered (engine/services/deliveries.py turns usernames into these).
Every field is checked and every problem reported at once, by field; nothing is half-saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import InputInvalid, NotFound
from engine.storage.tables import users

FIELDS = ("email", "phone", "wecom_id", "dingtalk_id", "feishu_id")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,29}$")
_CHAT_ID = re.compile(r"^[A-Za-z0-9_.@:\-]{1,64}$")
LIMITS = {"email": 256, "phone": 32, "wecom_id": 64, "dingtalk_id": 64, "feishu_id": 64}


def get_contacts(conn: Connection, username: str) -> dict[str, Any]:
    row = conn.execute(select(users.c.username, users.c.display_name,
                              *(users.c[f] for f in FIELDS))
                       .where(users.c.username == username)).first()
    if row is None:
        raise NotFound("user", username)
    return dict(row._mapping)


def list_contacts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(users.c.username, users.c.display_name, users.c.is_admin,
                               users.c.active, *(users.c[f] for f in FIELDS))
                        .order_by(users.c.username))
    return [dict(r._mapping) for r in rows]


def set_contacts(conn: Connection, username: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set the given fields (an empty value clears one); the contacts after. ``InputInvalid``
    lists every bad field; unknown fields are refused."""
    errors: list[dict[str, object]] = []
    clean: dict[str, str | None] = {}
    for key, value in values.items():
        if key not in FIELDS:
            errors.append({"field": key, "message": f"'{key}' is not a contact field; the fields "
                                                    f"are {', '.join(FIELDS)}"})
            continue
        if value is not None and not isinstance(value, str):
            errors.append({"field": key, "message": f"'{key}' must be text"})
            continue
        text = (value or "").strip()
        problem = _problem(key, text) if text else None
        if problem:
            errors.append({"field": key, "message": problem})
        clean[key] = text or None
    if errors:
        raise InputInvalid(errors)
    if clean:
        done = conn.execute(update(users).where(users.c.username == username).values(**clean))
        if done.rowcount == 0:
            raise NotFound("user", username)
    return get_contacts(conn, username)


def _problem(key: str, text: str) -> str | None:
    if len(text) > LIMITS[key]:
        return f"'{key}' is too long: at most {LIMITS[key]} characters"
    if key == "email" and not _EMAIL.match(text):
        return "'email' must be an e-mail address such as name@example.com"
    if key == "phone" and not _PHONE.match(text):
        return "'phone' must be a phone number such as +86 138 0000 0000"
    if key.endswith("_id") and not _CHAT_ID.match(text):
        return f"'{key}' must be an id of letters, digits and . _ - @ :"
    return None
