"""Who is using the pages: the session login, the viewer's business roles, page guards.

The session cookie holds only the username, the user id and the user's session epoch (signed
by Flask). Every request reads the user again, so a disabled user is out at their next click,
and a session whose epoch is behind the user's is over: signing out, a new password and
disabling the user bump it, which ends every session of that user, copies of the cookie
included (issue #13). A user's business roles are the ACTIVE ruleset's roles that list them; an
admin has no implicit role (SPEC §1). Page guards ask the same authorisation model as the API
(engine/policy.py), with the user's own rights.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from admin.auth import services
from engine.policy import Identity, Right, may
from engine.services import accounts
from engine.services.rulesets import ActiveRuleset

F = TypeVar("F", bound=Callable[..., Any])


def login_user(user: accounts.User) -> None:
    """Start a fresh session for ``user`` (nothing of the anonymous session survives)."""
    session.clear()
    session["user"] = user.username
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session.permanent = True
    g.pop("web_user", None)


def logout_user() -> None:
    """End this session and every other session of its user (their cookies open nothing)."""
    uid = session.get("uid")
    if isinstance(uid, int) and current_user() is not None:
        with services().uow() as uow:
            accounts.end_sessions(uow.conn, uid)
            uow.commit()
    session.clear()
    g.pop("web_user", None)


def current_user() -> accounts.User | None:
    """The signed-in, still active user, read once per request."""
    if "web_user" not in g:
        g.web_user = _load_user()
    return g.web_user  # type: ignore[no-any-return]


def _load_user() -> accounts.User | None:
    username, uid, epoch = session.get("user"), session.get("uid"), session.get("epoch")
    if not (isinstance(username, str) and username and isinstance(uid, int)
            and isinstance(epoch, int)):
        return None  # a cookie signed before sessions carried an epoch is over too
    with services().uow() as uow:
        return accounts.session_user(uow.conn, uid, username, epoch)


def active_ruleset() -> ActiveRuleset | None:
    """The active ruleset, read once per request (None before the first one is loaded)."""
    if "active_ruleset" not in g:
        svc = services()
        with svc.uow() as uow:
            g.active_ruleset = svc.rulesets.active(uow.conn)
    return g.active_ruleset  # type: ignore[no-any-return]


def current_roles() -> frozenset[str]:
    """The viewer's business roles in the active ruleset."""
    user = current_user()
    active = active_ruleset()
    if user is None or active is None:
        return frozenset()
    return active.compiled.roles_of(user.username)


def web_identity() -> Identity | None:
    """The signed-in viewer as the authorisation model sees them (a page is a full scope)."""
    user = current_user()
    if user is None:
        return None
    return Identity(user.username, user.is_admin, current_roles())


def role_names() -> dict[str, str]:
    """Role id → its display name in the active ruleset."""
    active = active_ruleset()
    return {r.id: r.name or r.id for r in active.compiled.roles.values()} if active else {}


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 for c in target)):
        return default
    return target


def login_required(right: Right = Right.READ, *, admin: bool = False) -> Callable[[F], F]:
    """Guard a page: anonymous users go to the login page; a viewer without ``right`` gets 403
    (``admin=True`` is ``Right.ADMIN``). The README's "Who may read and act" lists each page."""
    needed = Right.ADMIN if admin else right

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                here = request.full_path.rstrip("?") if request.method == "GET" else None
                target = url_for("auth.login", next=here) if here else url_for("auth.login")
                if request.headers.get("HX-Request"):
                    return "", 204, {"HX-Redirect": target}
                return redirect(target)
            # Read now (the roles come from it), before the view opens its unit of work: on
            # SQLite every transaction takes the write lock, so a second one opened inside it
            # would wait for itself.
            active_ruleset()
            if not may(Identity(user.username, user.is_admin, current_roles()), needed):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
