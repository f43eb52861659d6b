"""Users and API tokens: passwords hashed with Argon2id, tokens stored only as SHA-256."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, insert, literal_column, select, update

from engine.errors import Conflict, InputInvalid, NotFound
from engine.policy import Scope
from engine.services import audit
from engine.storage.tables import api_tokens, ruleset_state, users

TOKEN_PREFIX = "sw_"
MAX_PASSWORD = 1024  # bounds the hashing cost (RELIABILITY §1.3)
MIN_PASSWORD = 8
LAST_USED_EVERY = timedelta(minutes=1)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    is_admin: bool
    active: bool = True
    locale: str | None = None
    session_epoch: int = 0  # page sessions carry it; a bump ends them all (0 from the token query)


def _user(row: Any) -> User:
    """A user from any row with the ``users`` columns (a ``select(users)``, the token query)."""
    return User(row.id, row.username, row.display_name, row.is_admin, row.active, row.locale,
                row._mapping.get("session_epoch", 0))


def check_password_rules(password: str) -> None:
    if len(password) > MAX_PASSWORD:
        raise InputInvalid([{"field": "password", "message": f"password too long (max {MAX_PASSWORD})"}])
    if len(password) < MIN_PASSWORD:
        raise InputInvalid(
            [{"field": "password", "message": f"password must have at least {MIN_PASSWORD} characters"}]
        )


def create_user(
    conn: Connection,
    username: str,
    now: datetime,
    password: str | None = None,
    is_admin: bool = False,
    display_name: str = "",
    actor: str = "system",
) -> User:
    if not USERNAME.match(username):
        raise InputInvalid([{"field": "username", "message":
                             "a username is 1–64 lowercase letters, digits, '.', '_' or '-'"}])
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise Conflict(f"user '{username}' already exists")
    password_hash = None
    if password is not None:
        check_password_rules(password)
        password_hash = _hasher.hash(password)
    audit.record(conn, now, actor, "user.create", username, admin=is_admin,
                 password=password is not None)
    new_id = conn.execute(
        insert(users).values(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            is_admin=is_admin,
            active=True,
            created_at=now,
        ).returning(users.c.id)
    ).scalar_one()
    return User(new_id, username, display_name or username, is_admin)


def get_user(conn: Connection, username: str) -> User:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise NotFound("user", username)
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def authenticate_password(conn: Connection, username: str, password: str) -> User | None:
    """The user when the password matches; None otherwise (same answer for unknown users)."""
    if len(password) > MAX_PASSWORD:
        return None
    row = conn.execute(select(users).where(users.c.username == username)).first()
    stored = row._mapping["password_hash"] if row is not None else None
    try:
        # Verify against a dummy hash for unknown users so timing does not reveal them.
        ok = _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or not row._mapping["active"]:
        return None
    return _user(row)


def set_password(conn: Connection, username: str, password: str, *, actor: str,
                 now: datetime) -> None:
    """A new password; every page session of the user ends (API tokens stay: revoke them).
    The audit trail says who changed it and when, never the password."""
    check_password_rules(password)
    done = conn.execute(
        update(users).where(users.c.username == username)
        .values(password_hash=_hasher.hash(password), session_epoch=users.c.session_epoch + 1)
    )
    if done.rowcount == 0:
        raise NotFound("user", username)
    audit.record(conn, now, actor, "user.password", username)


def set_active(conn: Connection, username: str, active: bool, *, actor: str,
               now: datetime) -> None:
    """Enable or disable a user. A disabled user's sessions end at once and its API tokens
    are refused; enabling it again revives neither the sessions nor anything signed before."""
    done = conn.execute(
        update(users).where(users.c.username == username)
        .values(active=active, session_epoch=users.c.session_epoch + 1)
    )
    if done.rowcount == 0:
        raise NotFound("user", username)
    audit.record(conn, now, actor, "user.enable" if active else "user.disable", username)


def set_admin(conn: Connection, username: str, is_admin: bool, *, actor: str,
              now: datetime) -> None:
    """Make a user an admin or take it back; their sessions end (their rights changed)."""
    done = conn.execute(
        update(users).where(users.c.username == username)
        .values(is_admin=is_admin, session_epoch=users.c.session_epoch + 1)
    )
    if done.rowcount == 0:
        raise NotFound("user", username)
    audit.record(conn, now, actor, "user.admin", username, admin=is_admin)


def end_sessions(conn: Connection, user_id: int) -> None:
    """End every page session of the user, on every device (sign-out does this)."""
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(session_epoch=users.c.session_epoch + 1))


def session_user(conn: Connection, user_id: int, username: str, epoch: int) -> User | None:
    """The user a page session names, while that session is still valid: the same user (a
    user deleted and created again under the same name must sign in again), active, and not
    signed out, given a new password or disabled since (the session's epoch is current)."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or row.username != username or not row.active or row.session_epoch != epoch:
        return None
    return _user(row)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(conn: Connection, username: str, name: str, now: datetime,
                 scope: str = Scope.FULL, actor: str = "system") -> str:
    """A new API token for ``username``; the plain token is returned once and never stored.

    ``scope`` (engine/policy.py): ``full`` (the user's own rights), ``read`` or ``ingest``.
    """
    if scope not in _SCOPES:
        raise InputInvalid([{"field": "scope", "message":
                             f"a token's scope is one of {', '.join(Scope)}, not {scope!r}"}])
    user = get_user(conn, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens).values(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token),
            prefix=token[:10],
            created_at=now,
            scope=Scope(scope).value,
        )
    )
    audit.record(conn, now, actor, "token.create", f"{token[:10]}… ({username})", label=name,
                 scope=Scope(scope).value)
    return token


@dataclass(frozen=True)
class TokenUse:
    """A valid token's user, and whether its ``last_used_at`` is due to be written again.

    ``state_key`` is (active ruleset version, catalogue revision), read in the same statement:
    every API request needs it next (``EngineCache.current``), so it costs no round trip of
    its own. None when the state row is missing.
    """

    user: User
    token_id: int
    note_due: bool
    state_key: tuple[int | None, int] | None = None
    scope: Scope = Scope.FULL


# Built once: constructing this select and its cache key on every request cost more than the
# database's own work on it (~0.45 ms of 0.68 ms CPU per call, measured in-process).
_TOKEN_QUERY = (
    select(users.c.id, users.c.username, users.c.display_name, users.c.is_admin, users.c.active,
           users.c.locale, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at,
           api_tokens.c.scope,
           ruleset_state.c.active_version, ruleset_state.c.catalog_revision)
    .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id)
                 .outerjoin(ruleset_state, ruleset_state.c.id == literal_column("1")))
    .where(api_tokens.c.token_hash == bindparam("token_hash"), api_tokens.c.revoked_at.is_(None))
)


_SCOPES = frozenset(s.value for s in Scope)


def check_token(conn: Connection, token: str, now: datetime) -> TokenUse | None:
    """Look the token up (by its SHA-256, never cached: a revoked token fails at once); read only."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    row = conn.execute(_TOKEN_QUERY, {"token_hash": hash_token(token)}).first()
    # A scope this version does not know (written by hand, or by a newer one) opens nothing.
    if row is None or not row.active or row.scope not in _SCOPES:
        return None
    last_used = row.last_used_at
    revision = row.catalog_revision
    return TokenUse(_user(row), row.token_id, last_used is None or last_used < now - LAST_USED_EVERY,
                    None if revision is None else (row.active_version, revision),
                    Scope(row.scope))


def note_token_use(conn: Connection, token_id: int, now: datetime) -> None:
    """Record the use, at most once a LAST_USED_EVERY (the guard also settles concurrent calls)."""
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id,
               (api_tokens.c.last_used_at.is_(None)) | (api_tokens.c.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now)
    )


def authenticate_token(conn: Connection, token: str, now: datetime) -> User | None:
    """The token's user, or None; notes the use when due (a write at most once a minute)."""
    found = check_token(conn, token, now)
    if found is None:
        return None
    if found.note_due:
        note_token_use(conn, found.token_id, now)
    return found.user


def revoke_token(conn: Connection, prefix: str, now: datetime, actor: str = "system") -> int:
    owners = list(conn.execute(
        select(api_tokens.c.name, users.c.username).join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))))
    done = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    for name, username in owners:
        audit.record(conn, now, actor, "token.revoke", f"{prefix}… ({username})", label=name)
    return done.rowcount


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")
