"""Who is calling: Bearer API tokens for the REST API, with role checks on every endpoint.

Every API view is wrapped in ``require(...)``: no token → 401, a token of a user without the
needed right → 403. A user's business roles are the active ruleset's roles that list them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, jsonify, request

from engine.bootstrap import Services
from engine.services import accounts

F = TypeVar("F", bound=Callable[..., Any])


def services() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


def _unauthorized(message: str) -> Any:
    response = jsonify(message=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def current_user_from_token() -> accounts.User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    svc = services()
    with svc.uow() as uow:
        user = accounts.authenticate_token(uow.conn, token.strip(), svc.clock.now())
        uow.commit()
    return user


def require(admin: bool = False) -> Callable[[F], F]:
    """Decorate an API view: authenticate the Bearer token, and demand an admin when asked."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user_from_token()
            if user is None:
                return _unauthorized("a valid API token is required (Authorization: Bearer …)")
            g.user = user
            if admin and not user.is_admin:
                response = jsonify(message="only an admin may do this")
                response.status_code = 403
                return response
            return view(*args, **kwargs)

        wrapper._auth = "admin" if admin else "user"  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def user_roles(user: accounts.User) -> frozenset[str]:
    """The user's business roles in the active ruleset (empty when there is none)."""
    svc = services()
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
    return active.compiled.roles_of(user.username) if active else frozenset()
