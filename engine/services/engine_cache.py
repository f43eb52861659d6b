"""What every evaluation needs in memory: master data, supplier links, the compiled ruleset
and its indexes. Refreshed when the active version or the catalogue revision changes, which
each batch checks with one small query — so several processes stay consistent.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from engine.calendars import CalendarView
from engine.facts import FactMaker
from engine.forecast import Model
from engine.membership import GroupIndex, referenced_roots
from engine.metrics import SupplierLink
from engine.rules.compiled import RulesetSettings
from engine.evaluation import Candidates, RuleIndex
from engine.services.master_data import SKU_FACT_COLUMNS, warehouse_facts
from engine.services.rulesets import ActiveRuleset, RulesetCache
from engine.storage import bulk
from engine.storage.tables import (
    forecasts,
    ruleset_state,
    sku_suppliers,
    skus,
    suppliers,
    warehouses,
)


MAX_FACT_MAKERS = 16_384
MAX_SELECTIONS = 50_000  # per warehouse, when SKU profiles are per SKU: then started afresh
FREEZE_FROM_SKUS = 5_000  # a snapshot of this many SKUs is kept out of the collector's passes
DEFAULT_TZ = ZoneInfo(RulesetSettings().timezone)  # until a ruleset names its own


@dataclass
class Snapshot:
    key: tuple[int | None, int]
    ruleset: ActiveRuleset | None
    sku_ids: dict[str, int]
    sku_facts: dict[int, dict[str, Any]]
    warehouse_ids: dict[str, int]
    warehouse_facts: dict[int, dict[str, Any]]
    links: dict[int, tuple[SupplierLink, ...]]
    supplier_ids: dict[str, int]
    supplier_contacts: dict[str, Any]
    rule_index: RuleIndex | None = None
    group_index: GroupIndex | None = None
    tz: Any = None
    needs_total: bool = False
    promotion_days: frozenset[str] = frozenset()
    # issue #16: the stored forecasts by (SKU code, warehouse code), and the calendars' view
    # of each set of groups
    forecasts: dict[tuple[str, str], Model] = field(default_factory=dict)
    _views: dict[tuple[str, ...], CalendarView | None] = field(default_factory=dict)
    _params: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    _makers: dict[tuple[int, tuple[str, ...]], FactMaker] = field(default_factory=dict)
    _profile_by_id: list[int | None] | dict[int, int | None] = field(default_factory=list)
    _selections: dict[int, dict[int, tuple[tuple[str, ...], dict[str, Candidates]]]] = field(
        default_factory=dict)
    _selections_bounded: bool = False

    def params(self, groups: tuple[str, ...]) -> Mapping[str, Any]:
        found = self._params.get(groups)
        if found is None and self.ruleset is not None:
            found = self._params[groups] = self.ruleset.compiled.params_for(groups)
        return found or {}

    def fact_maker(self, sku_id: int, groups: tuple[str, ...]) -> FactMaker:
        """What the facts of a SKU's events under its groups' params share, built once.

        Bounded (``MAX_FACT_MAKERS``, then started afresh): one per SKU of 100k would hold
        tens of megabytes for SKUs that may not move again.
        """
        key = (sku_id, groups)
        found = self._makers.get(key)
        if found is None:
            if len(self._makers) >= MAX_FACT_MAKERS:
                self._makers.clear()
            found = self._makers[key] = FactMaker(self.links.get(sku_id, ()), self.params(groups),
                                                  self.tz or DEFAULT_TZ, self.promotion_days,
                                                  self.calendar_view(groups), self.forecasts)
        return found

    def calendar_view(self, groups: tuple[str, ...]) -> CalendarView | None:
        """The ruleset's calendar periods that apply to a pair in ``groups`` (None: none do)."""
        if groups not in self._views:
            calendars = self.ruleset.compiled.calendars if self.ruleset is not None else ()
            view = CalendarView(calendars, groups, self.promotion_days)
            self._views[groups] = view if view else None
        return self._views[groups]

    def groups_for(self, sku: str, warehouse: str) -> tuple[str, ...]:
        return self.group_index.groups_for(sku, warehouse) if self.group_index else ()

    def select(self, sku_id: int, wh_id: int, event_type: str) -> tuple[tuple[str, ...], Candidates]:
        """A pair's groups and the candidate rules of an event type: the selection of every
        event, by ids (a list index and two small dict lookups when remembered).

        ``groups_for`` then ``RuleIndex.candidates`` give the same answer from the codes, with
        about twice as many lookups in dictionaries of every SKU: at 100k SKUs the selection
        was a third of (a)'s time in ``bench/replay.py``, most of it waiting for memory.
        Remembered per SKU profile × warehouse (a few thousand at 100k SKUs; bounded when
        profiles are per SKU), per event type.
        """
        try:
            profile = self._profile_by_id[sku_id]
        except (IndexError, KeyError):
            profile = None
        if profile is None:  # no ruleset, or a SKU not in the catalogue (it has no events)
            return self._select_by_codes(sku_id, wh_id, event_type)
        cells = self._selections.get(wh_id)
        if cells is None:
            cells = self._selections[wh_id] = {}
        entry = cells.get(profile)
        if entry is None:
            if self._selections_bounded and len(cells) >= MAX_SELECTIONS:
                cells.clear()
            entry = cells[profile] = (self._groups_by_ids(sku_id, wh_id), {})
        groups, by_type = entry
        found = by_type.get(event_type)
        if found is None:
            found = by_type[event_type] = self.rule_index.candidates(event_type, groups)
        return groups, found

    def _select_by_codes(self, sku_id: int, wh_id: int, event_type: str) -> tuple[tuple[str, ...], Candidates]:
        if self.rule_index is None:
            return (), Candidates((), ())
        groups = self._groups_by_ids(sku_id, wh_id)
        return groups, self.rule_index.candidates(event_type, groups)

    def _groups_by_ids(self, sku_id: int, wh_id: int) -> tuple[str, ...]:
        sku = self.sku_facts.get(sku_id, {})
        return self.groups_for(sku.get("code", ""), self.warehouse_facts[wh_id]["code"])

    def index_profiles(self) -> None:
        """The profile of each SKU id, for ``select`` (once the group index is built): a list
        indexed by id while ids are dense, as database ids usually are; a dict otherwise."""
        index = self.group_index
        if index is None:
            return
        profiles = {sku_id: index.profile_of(sku["code"]) for sku_id, sku in self.sku_facts.items()}
        top = max(profiles, default=0)
        if top <= 2 * len(profiles) + 1024:
            dense: list[int | None] = [None] * (top + 1)
            for sku_id, profile in profiles.items():
                dense[sku_id] = profile
            self._profile_by_id = dense
        else:
            self._profile_by_id = profiles
        self._selections_bounded = index.profiles_bounded


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
    for sku_id, supplier_id, price, preferred, backup in bulk.stream(
            conn, sku_suppliers, ("sku_id", "supplier_id", "price", "preferred", "backup")):
        code, lead_time, lead_time_std, moq, pack_size, name, on_time_rate = terms[supplier_id]
        links.setdefault(sku_id, []).append(SupplierLink(
            code=code, lead_time_days=lead_time, lead_time_std_days=lead_time_std,
            price=price, preferred=preferred, backup=backup, moq=moq, pack_size=pack_size,
            name=name, on_time_rate=on_time_rate))
    snap = Snapshot(
        key=key,
        ruleset=rulesets.active(conn) if key[0] is not None else None,
        sku_ids=sku_ids,
        sku_facts=facts_by_id,
        warehouse_ids={r.code: r.id for r in wh_rows},
        warehouse_facts={r.id: warehouse_facts(r) for r in wh_rows},
        links={k: tuple(v) for k, v in links.items()},
        supplier_ids={r.code: r.id for r in sup_rows.values()},
        supplier_contacts={r.code: r.contact or {} for r in sup_rows.values()},
    )
    if snap.ruleset is not None:
        compiled = snap.ruleset.compiled
        snap.rule_index = RuleIndex(compiled)
        snap.rule_index.build_all()
        snap.group_index = GroupIndex(compiled, snap.sku_facts.values(), snap.warehouse_facts.values())
        snap.index_profiles()
        snap.tz = ZoneInfo(compiled.settings.timezone)
        snap.needs_total = any("stock.total_available" in repr(r.when) for r in compiled.rules)
        snap.promotion_days = frozenset(str(d) for d in compiled.settings.extra.get("promotion_days", []))
        if uses_forecasts(compiled):
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


__all__ = ["EngineCache", "Snapshot", "keep_out_of_gc", "referenced_roots"]
