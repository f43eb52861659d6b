"""Ruleset versions: accept a document, number it, activate it, roll back, diff, audit.

A document is validated completely before anything is written: an invalid one raises
``RulesetInvalid`` and changes nothing. Concurrent edits are serialised by the ``revision``
counter of the single ``ruleset_state`` row: the loser gets ``Conflict`` (HTTP 409).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, NotFound
from engine.rules import CompiledRuleset, load_ruleset
from engine.rules.versions import diff as text_diff
from engine.services import audit
from engine.snapshot import ActiveRuleset
from engine.storage.tables import rule_runs, ruleset_state, ruleset_versions


class RulesetCache:
    """Compiled rulesets by version number, shared by every request and job of one process.

    Compiling is done once per version; each use checks the active version number (one tiny
    query) so a change made by another process is picked up at its next use.
    """

    def __init__(self) -> None:
        self._by_number: dict[int, CompiledRuleset] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, number: int) -> CompiledRuleset:
        compiled = self._by_number.get(number)
        if compiled is None:
            row = conn.execute(
                select(ruleset_versions.c.text, ruleset_versions.c.format).where(
                    ruleset_versions.c.number == number
                )
            ).first()
            if row is None:
                raise NotFound("ruleset version", number)
            compiled = load_ruleset(row.text, row.format, stored=True)
            with self._lock:
                self._by_number[number] = compiled
        return compiled

    def active(self, conn: Connection) -> ActiveRuleset | None:
        state = conn.execute(
            select(ruleset_state.c.active_version, ruleset_state.c.revision).where(
                ruleset_state.c.id == 1
            )
        ).first()
        if state is None or state.active_version is None:
            return None
        return ActiveRuleset(state.active_version, state.revision, self.get(conn, state.active_version))


def sniff_format(text: str, content_type: str | None = None) -> str:
    if content_type:
        ct = content_type.split(";")[0].strip().lower()
        if ct == "application/json":
            return "json"
        if ct in ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"):
            return "yaml"
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def put(
    conn: Connection,
    text: str,
    fmt: str,
    author: str,
    now: datetime,
    comment: str = "",
    expected_revision: int | None = None,
    evaluate: bool = True,
) -> int:
    """Validate ``text`` and make it the new active version; return its number. ``evaluate``:
    record the run that evaluates the rules it changed over the current stock (#17; start it
    after the commit with ``rule_runs.start_for``)."""
    compiled = load_ruleset(text, fmt)  # raises RulesetInvalid: nothing written
    state = conn.execute(select(ruleset_state).where(ruleset_state.c.id == 1)).one()
    revision = state.revision if expected_revision is None else expected_revision
    number = (conn.execute(select(func.max(ruleset_versions.c.number))).scalar() or 0) + 1
    try:
        conn.execute(
            insert(ruleset_versions).values(
                number=number,
                name=compiled.name,
                author=author,
                created_at=now,
                format=fmt,
                text=text,
                comment=comment,
                checksum=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            )
        )
    except IntegrityError as exc:
        raise Conflict("the ruleset was changed at the same time by someone else; reload") from exc
    _set_active(conn, number, revision, now)
    audit.record(conn, now, author, "ruleset.put", f"version {number}", name=compiled.name,
                 comment=comment, previous=state.active_version)
    _audit_roles(conn, _stored(conn, state.active_version), compiled, author, now)
    if evaluate:
        request_run(conn, number, state.active_version, author, now)
    return number


def activate(conn: Connection, number: int, actor: str, now: datetime,
             expected_revision: int | None = None, evaluate: bool = True) -> None:
    """Make an earlier (or any) version the active one again (``evaluate``: as ``put``)."""
    exists = conn.execute(
        select(ruleset_versions.c.number).where(ruleset_versions.c.number == number)
    ).first()
    if exists is None:
        raise NotFound("ruleset version", number)
    state = conn.execute(select(ruleset_state).where(ruleset_state.c.id == 1)).one()
    revision = state.revision if expected_revision is None else expected_revision
    _set_active(conn, number, revision, now)
    audit.record(conn, now, actor, "ruleset.activate", f"version {number}",
                 previous=state.active_version)
    if number != state.active_version:
        _audit_roles(conn, _stored(conn, state.active_version), _stored(conn, number), actor, now)
    if evaluate and number != state.active_version:
        request_run(conn, number, state.active_version, actor, now)


def _stored(conn: Connection, number: int | None) -> CompiledRuleset | None:
    if number is None:
        return None
    text, fmt = version_text(conn, number)
    return load_ruleset(text, fmt, stored=True)


def _audit_roles(conn: Connection, old: CompiledRuleset | None, new: CompiledRuleset | None,
                 actor: str, now: datetime) -> None:
    """A user's business roles are the roles whose ``members`` list them: an activation that
    changes them is a role change of each user concerned (one ``user.roles`` entry each)."""
    def roles_of(ruleset: CompiledRuleset | None) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for role in (ruleset.roles.values() if ruleset is not None else ()):
            for member in role.members:
                out.setdefault(member, set()).add(role.id)
        return out

    before, after = roles_of(old), roles_of(new)
    for user in sorted(set(before) | set(after)):
        added = sorted(after.get(user, set()) - before.get(user, set()))
        removed = sorted(before.get(user, set()) - after.get(user, set()))
        if added or removed:
            audit.record(conn, now, actor, "user.roles", user, added=added, removed=removed)


def request_run(conn: Connection, version: int, previous: int | None, actor: str,
                now: datetime) -> int:
    """Record the run that evaluates what an activation changed over the current stock (#17),
    in the activation's transaction; ``rule_runs`` runs it. Its id."""
    return int(conn.execute(insert(rule_runs).values(
        version=version, previous=previous, actor=actor, state="queued", rules=[],
        counts={}, created_at=now, updated_at=now).returning(rule_runs.c.id)).scalar_one())


def _set_active(conn: Connection, number: int, revision: int, now: datetime) -> None:
    done = conn.execute(
        update(ruleset_state)
        .where(ruleset_state.c.id == 1, ruleset_state.c.revision == revision)
        .values(active_version=number, revision=revision + 1, updated_at=now)
    )
    if done.rowcount != 1:
        raise Conflict("the ruleset was changed by someone else since you loaded it; reload")


def versions(conn: Connection) -> list[dict[str, Any]]:
    active = conn.execute(select(ruleset_state.c.active_version)).scalar()
    rows = conn.execute(
        select(
            ruleset_versions.c.number,
            ruleset_versions.c.name,
            ruleset_versions.c.author,
            ruleset_versions.c.created_at,
            ruleset_versions.c.comment,
            ruleset_versions.c.format,
        ).order_by(ruleset_versions.c.number.desc())
    )
    return [dict(r._mapping, active=r.number == active) for r in rows]


def version_text(conn: Connection, number: int) -> tuple[str, str]:
    row = conn.execute(
        select(ruleset_versions.c.text, ruleset_versions.c.format).where(
            ruleset_versions.c.number == number
        )
    ).first()
    if row is None:
        raise NotFound("ruleset version", number)
    return row.text, row.format


def diff(conn: Connection, old: int, new: int) -> str:
    old_text, _ = version_text(conn, old)
    new_text, _ = version_text(conn, new)
    return text_diff(old_text, new_text, f"version {old}", f"version {new}")
