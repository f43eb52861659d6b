"""Known devices: a signed cookie, set when a browser signs in, that names the account and a
random device id (OWASP, "Slow down online guessing attacks with device cookies").

A sign-in attempt from a browser carrying a valid device cookie for the account it signs in
to spends only that device's counter, never the account's or the address's: a stranger who
exhausts the account's limit locks out new browsers, not the owner's own. The cookie is
signed with the app's secret (itsdangerous, as Flask's session is) and is worth nothing for
another account; it holds no secret of the user and does not sign anyone in by itself.
"""

from __future__ import annotations

import secrets

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_DAYS = 180
SALT = "stockwarn-known-device"


def _cookie_name() -> str:
    # __Host- binds it to this host and path /, as the session cookie is (ASVS 3.3.1).
    return "__Host-stockwarn-device" if current_app.config["SESSION_COOKIE_SECURE"] else "stockwarn-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def known_device(username: str) -> str | None:
    """This browser's device id when it signed in to ``username`` before, else None."""
    value = request.cookies.get(_cookie_name())
    if not value or len(value) > 512:
        return None
    try:
        data = _serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != username or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def remember_device(response: Response, username: str, device: str | None) -> None:
    """Mark this browser as a known device of ``username`` (keeping its id when it had one)."""
    value = _serializer().dumps({"u": username, "d": device or secrets.token_urlsafe(16)})
    response.set_cookie(_cookie_name(), value, max_age=DEVICE_DAYS * 86400, path="/",
                        httponly=True, samesite="Lax",
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
