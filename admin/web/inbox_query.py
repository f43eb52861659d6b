"""The inbox's address: the filters, search and sort kept in the URL, read into an InboxQuery.

The same arguments travel with a task link and a transition's form (``inbox=<query string>``),
so that after a step the buyer lands on the next task of the list they were working through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from admin.auth import services
from admin.web.session import active_ruleset, current_roles, current_user
from engine.rules.compiled import SEVERITIES
from engine.services.inbox import SHOWS, SORTS, UNASSIGNED, InboxQuery, InGroup

KEYS = ("q", "warehouse", "group", "severity", "rule", "overdue", "show", "role", "assignee",
        "sort", "each")


def args_of(source: Mapping[str, Any]) -> dict[str, str]:
    """The inbox arguments present in ``source`` (request args or a parsed query string)."""
    out = {}
    for key in KEYS:
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()[:128]
    return out


def args_from_query_string(text: str | None) -> dict[str, str]:
    return args_of(dict(parse_qsl(text or "")))


def query_string(args: Mapping[str, str]) -> str:
    return urlencode({k: v for k, v in args.items() if k in KEYS and v})


def build(args: Mapping[str, str]) -> tuple[InboxQuery, str | None]:
    """The query for the viewer and the SKU group to filter by (None: any)."""
    user = current_user()
    assert user is not None
    roles = current_roles()
    active = active_ruleset()
    compiled = active.compiled if active else None
    choices = sorted(compiled.roles) if (user.is_admin and compiled) else sorted(roles)
    role = args.get("role") if args.get("role") in choices else None
    show = args.get("show", "open")
    assignee = args.get("assignee")
    if assignee == "me":
        assignee = user.username
    query = InboxQuery(
        roles=None if user.is_admin else tuple(sorted(roles)),
        viewer=None if user.is_admin else user.username,
        role=role,
        q=args.get("q", ""),
        warehouse=args.get("warehouse"),
        severity=args.get("severity") if args.get("severity") in SEVERITIES else None,
        rule=args.get("rule"),
        overdue=args.get("overdue") == "1",
        show=show if show in SHOWS else "open",
        assignee=assignee if assignee != "any" else None,
        sort=args.get("sort") if args.get("sort") in SORTS else "urgency",
        by_pair=args.get("each") != "1",
    )
    group = args.get("group")
    return query, group if compiled and group in compiled.groups else None


def in_group(conn: Any, group: str | None) -> InGroup | None:
    """The members of ``group`` (SKU ids per warehouse id), from the engine's snapshot."""
    if group is None:
        return None
    return InGroup(services().cache.current(conn).group_members(group))


def choices(conn: Any) -> dict[str, Any]:
    """What the filter form offers: warehouses, groups, rules, roles and people."""
    user = current_user()
    assert user is not None
    active = active_ruleset()
    compiled = active.compiled if active else None
    snap = services().cache.current(conn)
    roles = current_roles()
    role_ids = sorted(compiled.roles) if (user.is_admin and compiled) else sorted(roles)
    people = sorted({m for r in role_ids for m in compiled.roles[r].members}) if compiled else []
    return {
        "warehouses": sorted(((w["code"], w.get("name") or w["code"])
                              for w in snap.warehouse_facts.values()), key=lambda w: w[0]),
        "groups": [(g.id, g.name or g.id) for g in compiled.groups.values()] if compiled else [],
        "rules": [(r.id, r.name or r.id) for r in compiled.rules] if compiled else [],
        "roles": role_ids,
        "people": people,
        "severities": list(reversed(SEVERITIES)),
        "sorts": SORTS,
        "unassigned": UNASSIGNED,
    }
