"""What every evaluation needs in memory: master data, supplier links, the compiled ruleset
and its indexes. Refreshed when the active version or the catalogue revision changes, which
each batch checks with one small query — so several processes stay consistent.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from engine.forecast import Model
from engine.membership import referenced_roots
from engine.metrics import SupplierLink
from engine.services.master_data import SKU_FACT_COLUMNS, warehouse_facts
from engine.services.rulesets import RulesetCache
from engine.snapshot import DEFAULT_TZ, MAX_FACT_MAKERS, MAX_SELECTIONS, Snapshot
from engine.storage import bulk
from engine.storage.supply_store import SupplyLearning
from engine.storage.tables import (
    forecasts,
    ruleset_state,
    sku_suppliers,
    skus,
    suppliers,
    warehouses,
)

FREEZE_FROM_SKUS = 5_000  # a snapshot of this many SKUs is kept out of the collector's passes


_STATE_QUERY = select(ruleset_state.c.active_version, ruleset_state.c.catalog_revision).where(
    ruleset_state.c.id == 1)  # built once: it runs before every batch


class EngineCache:
    def __init__(self, rulesets: RulesetCache) -> None:
        self.rulesets = rulesets
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def current(self, conn: Connection, key: tuple[int | None, int] | None = None) -> Snapshot:
        """The snapshot of the active version and catalogue revision, loaded when they changed.

        ``key`` is that pair when the caller has just read it in another statement (the API
        reads it with the token, ``accounts.check_token``): then no query of its own.
        """
        if key is None:
            state = conn.execute(_STATE_QUERY).one()
            key = (state.active_version, state.catalog_revision)
        snap = self._snapshot
        if snap is None or snap.key != key:
            with self._lock:
                snap = self._snapshot = load_snapshot(conn, key, self.rulesets)
                keep_out_of_gc(snap)
        return snap

    def invalidate(self) -> None:
        self._snapshot = None


def keep_out_of_gc(snap: Snapshot) -> None:
    """Put a big snapshot (with all else alive now) where the cyclic garbage collector no
    longer walks it: its hundreds of thousands of objects live as long as it is current, yet
    each older-generation pass walked them all again. Measured with ``bench/replay.py``'s loop
    at 20k SKUs: a quarter of selection + facts + evaluation. The previous snapshot, just
    replaced, is unfrozen and collected first, so it is not kept for good."""
    if len(snap.sku_ids) < FREEZE_FROM_SKUS:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def load_snapshot(conn: Connection, key: tuple[int | None, int], rulesets: RulesetCache) -> Snapshot:
    wh_rows = list(conn.execute(select(warehouses)))
    sup_rows = {r.id: r for r in conn.execute(select(suppliers))}
    # SKU rows are streamed (not listed first) and their repeated text (category, unit, tags,
    # attribute names and values) shared: each JSON column otherwise parses its own copies,
    # most of the snapshot's memory at 100k SKUs.
    sku_ids: dict[str, int] = {}
    facts_by_id: dict[int, dict[str, Any]] = {}
    # SQLAlchemy's own JSON decoding on SQLite: the engine's deserializer, else json.loads
    shared = _Sharing(getattr(conn.dialect, "_json_deserializer", None) or json.loads)
    text, json_ = shared.text, shared.json
    names = SKU_FACT_COLUMNS
    for id_, code, name, category, tags, unit, unit_cost, abc_class, attributes in bulk.stream(
            conn, skus, ("id", *names), raw=("tags", "attributes")):
        sku_ids[code] = id_
        values = (code, name, text(category), json_(tags), text(unit), unit_cost, text(abc_class),
                  json_(attributes))
        facts_by_id[id_] = {k: v for k, v in zip(names, values) if v is not None}
    del shared, text, json_
    links: dict[int, list[SupplierLink]] = {}
    terms = {r.id: (r.code, r.lead_time_days, r.lead_time_std_days, r.moq, r.pack_size, r.name,
                    r.on_time_rate) for r in sup_rows.values()}
    ruleset = rulesets.active(conn) if key[0] is not None else None
    learn = SupplyLearning.load(conn, ruleset.compiled.settings if ruleset else None,
                                {i: bool(r.unavailable) for i, r in sup_rows.items()})
    for sku_id, supplier_id, price, preferred, backup in bulk.stream(
            conn, sku_suppliers, ("sku_id", "supplier_id", "price", "preferred", "backup")):
        code, lead_time, lead_time_std, moq, pack_size, name, on_time_rate = terms[supplier_id]
        link = SupplierLink(
            code=code, lead_time_days=lead_time, lead_time_std_days=lead_time_std,
            price=price, preferred=preferred, backup=backup, moq=moq, pack_size=pack_size,
            name=name, on_time_rate=on_time_rate)
        links.setdefault(sku_id, []).append(learn.link(link, supplier_id, sku_id))
    snap = Snapshot(
        key=key,
        ruleset=ruleset,
        sku_ids=sku_ids,
        sku_facts=facts_by_id,
        warehouse_ids={r.code: r.id for r in wh_rows},
        warehouse_facts={r.id: warehouse_facts(r) for r in wh_rows},
        links={k: tuple(v) for k, v in links.items()},
        supplier_ids={r.code: r.id for r in sup_rows.values()},
        supplier_contacts={r.code: r.contact or {} for r in sup_rows.values()},
    )
    snap.index()
    if snap.ruleset is not None and uses_forecasts(snap.ruleset.compiled):
        snap.forecasts = load_forecasts(conn, sku_ids, snap.warehouse_ids)
    return snap


def uses_forecasts(compiled: Any) -> bool:
    """True when the settings or a group ask for a forecast method other than the window mean."""
    methods = {compiled.settings.forecast_method} | {
        g.params.get("forecast_method") for g in compiled.groups.values()}
    return bool(methods - {None, "mean"})


def load_forecasts(conn: Connection, sku_ids: Mapping[str, int],
                   warehouse_ids: Mapping[str, int]) -> dict[tuple[str, str], Model]:
    """The stored forecasts by (SKU code, warehouse code)."""
    skus_by_id = {i: c for c, i in sku_ids.items()}
    whs_by_id = {i: c for c, i in warehouse_ids.items()}
    out: dict[tuple[str, str], Model] = {}
    for sku_id, wh_id, model in bulk.stream(conn, forecasts, ("sku_id", "warehouse_id", "model")):
        if isinstance(model, str):
            model = json.loads(model)
        code, wh = skus_by_id.get(sku_id), whs_by_id.get(wh_id)
        if code is not None and wh is not None:
            out[(code, wh)] = Model.from_dict(model)
    return out


class _Sharing:
    """One object per distinct text, and per distinct JSON text of the catalogue's JSON columns
    (tags, attributes): 100k SKUs hold a few thousand distinct tag lists and attribute
    objects, each parsed once and shared (read-only, as every snapshot value is) instead of one
    copy per row — most of the snapshot's memory and load time at 100k SKUs."""

    MAX_PARSED = 20_000  # distinct JSON texts remembered (then started afresh): bounded memory

    def __init__(self, loads: Any) -> None:
        self.pool: dict[str, str] = {}
        self.parsed: dict[str, Any] = {}
        self.loads = loads

    def text(self, value: Any) -> Any:
        return self.pool.setdefault(value, value) if type(value) is str else value

    def json(self, value: Any) -> Any:
        """A JSON column's value as the driver gave it: text (SQLite), or already decoded."""
        if type(value) is not str:
            return _shared(value, self.pool)
        parsed = self.parsed
        found = parsed.get(value)
        if found is None:
            if len(parsed) >= self.MAX_PARSED:
                parsed.clear()
            found = parsed[value] = _shared(self.loads(value), self.pool)
        return found


def _shared(value: Any, pool: dict[str, str]) -> Any:
    t = type(value)
    if t is str:
        return pool.setdefault(value, value)
    if t is list:
        return [_shared(v, pool) for v in value]
    if t is dict:
        return {pool.setdefault(k, k) if type(k) is str else k: _shared(v, pool)
                for k, v in value.items()}
    return value


__all__ = ["DEFAULT_TZ", "MAX_FACT_MAKERS", "MAX_SELECTIONS", "EngineCache", "Snapshot",
           "keep_out_of_gc", "referenced_roots"]
