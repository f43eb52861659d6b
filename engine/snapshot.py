"""What every evaluation reads in memory: master data, supplier links, the compiled ruleset and
its indexes, as of one active version and catalogue revision. Pure: loaded by
``engine.services.engine_cache``, read by the event pipeline's core (``engine.pipeline``), the
previews and the backtest alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from engine.calendars import CalendarView
from engine.evaluation import Candidates, RuleIndex
from engine.facts import FactMaker
from engine.forecast import Model
from engine.membership import GroupIndex
from engine.metrics import SupplierLink
from engine.rules.compiled import CompiledRuleset, Rule, RulesetSettings

MAX_FACT_MAKERS = 16_384
MAX_SELECTIONS = 50_000  # per warehouse, when SKU profiles are per SKU: then started afresh
DEFAULT_TZ = ZoneInfo(RulesetSettings().timezone)  # until a ruleset names its own


K = TypeVar("K", bound=Hashable)  # what tally_by_groups counts by, beside the groups

@dataclass(frozen=True)
class ActiveRuleset:
    """The active ruleset version, compiled."""

    version: int
    revision: int
    compiled: CompiledRuleset


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
    _pair_groups: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    _members: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    # issue #19: the rules alerting per group×warehouse, and whether a rule suggests transfers
    group_rules: tuple[Rule, ...] = ()
    suggests_transfers: bool = False
    # worked out once per snapshot, not per applied batch: whether a rule raises requisitions
    # (the pair's open ones are counted) and whether one reads ``order.*`` (open orders loaded)
    raises_requisitions: bool = False
    reads_orders: bool = False

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
        index = self.rule_index
        if profile is None or index is None:  # no ruleset, or a SKU not in the catalogue (no events)
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
            found = by_type[event_type] = index.candidates(event_type, groups)
        return groups, found

    def pair_groups(self, sku_id: int, wh_id: int) -> tuple[str, ...]:
        """``groups_for`` by ids, remembered per SKU profile × warehouse: what the pages' group
        filter and counts ask for tens of thousands of pairs at a time (issue #18). () for a
        SKU or warehouse not in the catalogue."""
        try:
            profile = self._profile_by_id[sku_id]
        except (IndexError, KeyError, TypeError):
            profile = None
        if profile is None or wh_id not in self.warehouse_facts:
            sku, wh = self.sku_facts.get(sku_id), self.warehouse_facts.get(wh_id)
            return self.groups_for(sku["code"], wh["code"]) if sku and wh else ()
        key = (profile, wh_id)
        found = self._pair_groups.get(key)
        if found is None:
            if len(self._pair_groups) >= MAX_SELECTIONS:
                self._pair_groups.clear()
            found = self._pair_groups[key] = self._groups_by_ids(sku_id, wh_id)
        return found

    def tally_by_groups(self, sku_ids: Sequence[int], wh_ids: Sequence[int],
                        keys: Sequence[K]) -> Counter[tuple[tuple[str, ...], K]]:
        """How many rows (SKU id, warehouse id, key) there are per (``pair_groups`` of the
        pair, key): what the dashboard and the report count over tens of thousands of open
        alerts or tasks (issue #18). The rows are first counted per SKU profile × warehouse ×
        key by ``Counter`` over the columns (no Python code per row), then each cell's groups
        are looked up once; a SKU without a profile is looked up on its own."""
        profile_of = self._profile_by_id
        try:
            profiles = list(map(profile_of.__getitem__, sku_ids))
        except (IndexError, KeyError, TypeError):  # a SKU no longer in the catalogue
            profiles = [profile_of[i] if 0 <= i < len(profile_of) else None  # type: ignore[operator]
                        for i in sku_ids] if isinstance(profile_of, list) else [
                profile_of.get(i) for i in sku_ids]
        # a cell per profile; a SKU without one is a cell of its own (its id, negated - 1)
        cells_of = profiles if None not in profiles else [
            p if p is not None else -1 - s for p, s in zip(profiles, sku_ids)]
        first_sku = dict(zip(zip(cells_of, wh_ids), sku_ids))  # any SKU of the cell
        out: Counter[tuple[tuple[str, ...], K]] = Counter()
        for (cell, wh_id, key), n in Counter(zip(cells_of, wh_ids, keys)).items():
            out[(self.pair_groups(first_sku[(cell, wh_id)], wh_id), key)] += n
        return out

    def group_members(self, group: str) -> dict[int, list[int]]:
        """The ids of the SKUs in ``group``, per warehouse id, in order: tested once per SKU
        profile × warehouse, remembered for the life of this snapshot (a catalogue or ruleset
        change makes a new snapshot, so they are never stale)."""
        found = self._members.get(group)
        if found is None:
            by_profile: dict[Any, list[int]] = {}
            for sku_id in self.sku_facts:
                try:
                    profile = self._profile_by_id[sku_id]
                except (IndexError, KeyError):
                    profile = None
                by_profile.setdefault(("sku", sku_id) if profile is None else profile,
                                      []).append(sku_id)
            found = {}
            for wh_id in self.warehouse_facts:
                ids_here = sorted(i for ids in by_profile.values()
                                  if group in self.pair_groups(ids[0], wh_id) for i in ids)
                if ids_here:  # a warehouse where the group holds no SKU is left out
                    found[wh_id] = ids_here
            self._members[group] = found
        return found

    def all_group_members(self) -> dict[str, dict[int, list[int]]]:
        """``group_members`` of every group of the active ruleset, in document order."""
        groups = self.ruleset.compiled.groups if self.ruleset is not None else {}
        return {g: self.group_members(g) for g in groups}

    def _select_by_codes(self, sku_id: int, wh_id: int, event_type: str) -> tuple[tuple[str, ...], Candidates]:
        if self.rule_index is None:
            return (), Candidates((), ())
        groups = self._groups_by_ids(sku_id, wh_id)
        return groups, self.rule_index.candidates(event_type, groups)

    def _groups_by_ids(self, sku_id: int, wh_id: int) -> tuple[str, ...]:
        sku = self.sku_facts.get(sku_id, {})
        return self.groups_for(sku.get("code", ""), self.warehouse_facts[wh_id]["code"])

    def index(self) -> None:
        """Build the ruleset's indexes (rules by event type and group, group membership, each
        SKU's profile) and settings: once, when the snapshot is made."""
        if self.ruleset is None:
            return
        compiled = self.ruleset.compiled
        self.rule_index = RuleIndex(compiled)
        self.rule_index.build_all()
        self.group_index = GroupIndex(compiled, self.sku_facts.values(), self.warehouse_facts.values())
        self.index_profiles()
        self.tz = ZoneInfo(compiled.settings.timezone)
        self.needs_total = any("stock.total_available" in repr(r.when) for r in compiled.rules)
        self.group_rules = tuple(r for r in compiled.rules
                                 if r.enabled and r.per == "group_warehouse")
        self.suggests_transfers = any(a.kind == "suggest_transfer" for r in compiled.rules
                                      if r.enabled for a in r.actions)
        self.raises_requisitions = any(a.kind == "create_requisition" for r in compiled.rules
                                       for a in r.actions)
        self.reads_orders = any("'order." in repr(r.when) for r in compiled.rules)
        self.promotion_days = frozenset(str(d) for d in compiled.settings.extra.get("promotion_days", []))
        # the stored forecasts, when some group uses them, are loaded by the caller (storage)

    @classmethod
    def in_memory(cls, compiled: CompiledRuleset | None, skus: Mapping[int, dict[str, Any]],
                  warehouses: Mapping[int, dict[str, Any]],
                  links: Mapping[int, tuple[SupplierLink, ...]] | None = None,
                  suppliers: Mapping[str, int] | None = None, version: int = 1) -> Snapshot:
        """A snapshot built from data in memory (no database): SKU and warehouse facts by id
        (each with its ``code``), supplier links by SKU id, supplier ids by code."""
        snap = cls(key=(version, 0),
                   ruleset=ActiveRuleset(version, 0, compiled) if compiled is not None else None,
                   sku_ids={f["code"]: i for i, f in skus.items()}, sku_facts=dict(skus),
                   warehouse_ids={f["code"]: i for i, f in warehouses.items()},
                   warehouse_facts=dict(warehouses), links=dict(links or {}),
                   supplier_ids=dict(suppliers or {}), supplier_contacts={})
        snap.index()
        return snap

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
