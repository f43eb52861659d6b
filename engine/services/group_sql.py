"""SKU groups in SQL (issue #18): a group's members, the ids of its SKUs per warehouse id (from
the engine cache's snapshot, ``Snapshot.group_members``), passed to the database as parameters,
so that the inbox's filter and the dashboard's and report's counts by group run there instead
of testing tens of thousands of rows one by one in Python.

Groups stay JsonLogic over master data, evaluated by the engine; nothing is stored. The members
are those of the snapshot the caller holds: a catalogue or ruleset change makes a new snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
)

Members = Mapping[int, Sequence[int]]  # SKU ids per warehouse id


def among(conn: Connection, column: Any, ids: Sequence[int], name: str) -> ColumnElement[bool]:
    """``column IN ids`` for thousands of ids, as one parameter ``name``: an array unnested on
    PostgreSQL, a JSON list read by ``json_each`` on SQLite (one parameter per id would pass
    either database's limit). A subquery, not ``= ANY(array)``: the database hashes it once
    whatever the plan, where a generic plan of a prepared statement searched the array for
    every row."""
    if conn.dialect.name == "postgresql":
        listed = func.unnest(bindparam(name, list(ids), type_=ARRAY(Integer))).table_valued(
            "value").render_derived()
    else:
        listed = func.json_each(bindparam(name, json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(listed.c.value))


def in_group(conn: Connection, members: Members, sku_id: Any, warehouse_id: Any,
             name: str) -> ColumnElement[bool]:
    """The pair ``(sku_id, warehouse_id)`` (columns) is in the group of ``members``: one list
    of SKU ids per distinct membership — a single one when the group reads only ``sku.*``."""
    by_list: dict[tuple[int, ...], list[int]] = {}
    for wh_id, sku_ids in members.items():
        if sku_ids:
            by_list.setdefault(tuple(sku_ids), []).append(wh_id)
    parts = [and_(warehouse_id.in_(sorted(whs)), among(conn, sku_id, ids, f"{name}_{n}"))
             for n, (ids, whs) in enumerate(by_list.items())]
    return or_(*parts) if parts else false()
