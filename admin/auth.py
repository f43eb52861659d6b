"""Who is calling: Bearer API tokens for the REST API, with the right each endpoint needs.

Every API view is wrapped in ``require(right)``: no token → 401, a token whose user or scope
lacks the right → 403 (engine/policy.py decides; the pages ask the same model). A user's
business roles are the active ruleset's roles that list them.
The token is looked up on every request (a revoked one fails at once) with a single read; its
``last_used_at`` is written at most once a minute, in a commit of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, g, jsonify, request

from engine.bootstrap import Services
from engine.policy import Identity, Right, may
from engine.services import accounts
from engine.storage.unit_of_work import UnitOfWork

F = TypeVar("F", bound=Callable[..., Any])


def services() -> Services:
    return current_app.extensions["engine"]  # type: ignore[no-any-return]


def _unauthorized(message: str) -> Any:
    response = jsonify(message=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate(svc: Services, uow: UnitOfWork, token: str) -> accounts.TokenUse | None:
    now = svc.clock.now()
    found = accounts.check_token(uow.conn, token, now)
    if found is None:
        return None
    g.state_key = found.state_key  # read with the token: see state_key()
    if found.note_due:
        # Committed at once: a view sharing this transaction never holds the token's row lock.
        accounts.note_token_use(uow.conn, found.token_id, now)
        uow.commit()
        g.state_key = None  # read in the transaction just ended: the view reads its own
    return found


def state_key() -> tuple[int | None, int] | None:
    """The (active ruleset version, catalogue revision) this request read with its token, for
    ``EngineCache.current``: one round trip fewer per request. Read a moment earlier than a
    query of its own would be, which changes nothing: either reading can be overtaken by a
    change committed just after it."""
    return g.get("state_key")


def current_user_from_token() -> accounts.User | None:
    token = _bearer_token()
    if token is None:
        return None
    svc = services()
    with svc.uow() as uow:
        found = _authenticate(svc, uow, token)
    return found.user if found else None


def _forbidden(identity: Identity, right: Right) -> Any:
    if may(Identity(identity.username, identity.is_admin), right):
        message = f"a {identity.scope} token may not do this; use a token with the right scope"
    else:
        message = "only an admin may do this"
    response = jsonify(message=message)
    response.status_code = 403
    return response


def require(right: Right = Right.ACT, *, admin: bool = False,
            same_transaction: bool = False) -> Callable[[F], F]:
    """Decorate an API view: authenticate the Bearer token and demand ``right`` of its user
    and scope (``admin=True`` is ``Right.ADMIN``). The README's "Who may read and act" table
    lists the right of every endpoint.

    With ``same_transaction`` the view does its work in the transaction that checked the token
    (``request_uow()``): one connection and one commit per request, which is most of the cost
    of a single-event POST. Other views get a transaction of their own, as before.
    """
    needed = Right.ADMIN if admin else right

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _bearer_token()
            if token is None:
                return _unauthorized("a valid API token is required (Authorization: Bearer …)")
            svc = services()
            # A view sharing the token's unit of work runs it statement by statement until it
            # asks for a transaction (``UnitOfWork.transaction``; ingest does when it writes
            # more than once): a single-event POST then costs 2 round trips, not 4.
            with svc.uow(statement_commits=same_transaction) as uow:
                found = _authenticate(svc, uow, token)
                if found is None:
                    return _unauthorized("a valid API token is required (Authorization: Bearer …)")
                g.user = found.user
                g.identity = Identity(found.user.username, found.user.is_admin,
                                      scope=found.scope)
                if not may(g.identity, needed):
                    return _forbidden(g.identity, needed)
                if same_transaction:
                    g.request_uow = uow
                    try:
                        return view(*args, **kwargs)
                    finally:
                        g.pop("request_uow", None)
            return view(*args, **kwargs)

        wrapper._right = needed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def request_uow() -> Iterator[UnitOfWork]:
    """This request's unit of work: the one ``require(same_transaction=True)`` checked the token
    in, or a new one. Leaving it rolls back whatever was not committed, like any unit of work."""
    shared: UnitOfWork | None = g.get("request_uow")
    if shared is None:
        with services().uow() as uow:
            yield uow
        return
    try:
        yield shared
    finally:
        shared.rollback()


def user_roles(user: accounts.User) -> frozenset[str]:
    """The user's business roles in the active ruleset (empty when there is none)."""
    svc = services()
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
    return active.compiled.roles_of(user.username) if active else frozenset()


def caller(roles: frozenset[str] | None = None) -> Identity:
    """This API request's identity with its business roles (``roles`` when the view has just
    read them with the active ruleset, else read now)."""
    identity: Identity = g.identity
    if roles is None:
        roles = user_roles(g.user)
    return Identity(identity.username, identity.is_admin, roles, identity.scope)
