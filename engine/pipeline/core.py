"""The pure core of the pipeline: a batch of parsed events applied to the state they touch.

``apply(state, events, snap)`` changes the state in place and returns the ``Changes``: no
database, no clock, no queue — the backtest runs it over a history in memory, and storage
loads the state before and saves the changes after it (``engine.storage``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from engine.actions import run_actions
from engine.actions.context import (
    ActionContext,
    RequisitionDraft,
    Skipped,
    SourceStock,
    TransferDraft,
)
from engine.alerts import COOLDOWN, HIT, OPEN, RESOLVE, OpenAlert, decide
from engine.evaluation import evaluate
from engine.metrics import DemandWindow, Metrics
from engine.pipeline.groups import Member, Tally, group_facts, member, reads_all
from engine.pipeline.state import Changes, NewAlert, Pair, StockState
from engine.rules.compiled import Rule
from engine.snapshot import DEFAULT_TZ, Snapshot
from engine.stock import DEMAND_TYPES, StockEvent, StockLevel, apply as apply_to_level


def apply(state: StockState, events: Sequence[StockEvent], snap: Snapshot,
          keep_order: bool = False) -> Changes:
    """Apply ``events`` to ``state``; what changed.

    A batch given at once is applied in time order; recorded events (``keep_order``) in the
    order given, as they arrived. Every pair an event touches must be in ``state.pairs``
    (``touched`` names them).
    """
    applier = _Applier(state, snap)
    for event in (events if keep_order else sorted(events, key=lambda e: e.at)):
        applier.apply_event(event)
    applier.changes.events = len(events)
    return applier.changes


def evaluate_only(state: StockState, snap: Snapshot,
                  checks: Iterable[tuple[StockEvent, int, int, date]]) -> Changes:
    """The rules evaluated on pairs whose stock does not change (the daily run: a synthetic
    ``daily`` event per pair, each ``(event, sku id, warehouse id, local day)``): alerts
    opened, hit and resolved as on any event."""
    applier = _Applier(state, snap)
    for event, sku_id, wh_id, day in checks:
        pair = applier.pairs[(sku_id, wh_id)]
        applier._evaluate_pair(event, pair, wh_id, day)
        if snap.group_rules:
            applier._evaluate_groups(event, pair, wh_id, day)
    return applier.changes


def touched(events: Iterable[StockEvent], snap: Snapshot,
            ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The pairs the events touch, and those whose ordered requisitions they may move (a
    receipt with a ref, a count with on_order): what storage must load before ``apply``."""
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    keys: list[tuple[int, int]] = []
    requisition_keys = []
    add = keys.append
    for e in events:
        key = (sku_ids[e.sku], wh_ids[e.warehouse])
        add(key)
        if e.to_warehouse:
            add((key[0], wh_ids[e.to_warehouse]))
        type_ = e.type
        if ((type_ == "receipt" and e.ref is not None)
                or (type_ == "count" and e.on_order is not None)):
            requisition_keys.append(key)
    return keys, requisition_keys


class _Applier:
    """One batch's walk over its events: stock, demand, then the rules and their decisions."""

    def __init__(self, state: StockState, snap: Snapshot) -> None:
        self.state = state
        self.snap = snap
        self.pairs = state.pairs
        self.ordered = state.ordered
        self.changes = Changes(state.pairs, state.ordered)
        self._by_sku: dict[int, list[Pair]] | None = None
        self._tallies: dict[tuple[str, int], Tally] = {}  # group rules' sums, by (group, wh)
        self._reads_all = {r.id for r in snap.group_rules if reads_all(r)}
        self._last_facts: tuple[StockEvent, Pair, dict[str, Any]] | None = None
        self._group_skus: dict[str, int] = {}

    def apply_event(self, event: StockEvent) -> None:
        snap = self.snap
        sku_id = snap.sku_ids[event.sku]
        wh_id = snap.warehouse_ids[event.warehouse]
        # the event's local day, worked out once: its demand day and its facts' ``today``
        day = event.at.astimezone(snap.tz or DEFAULT_TZ).date()
        self._apply_side(event, "from", sku_id, wh_id, day)
        if event.type == "transfer" and event.to_warehouse:
            self._apply_side(event, "to", sku_id, snap.warehouse_ids[event.to_warehouse], day)

    def _apply_side(self, event: StockEvent, side: str, sku_id: int, wh_id: int, day: date) -> None:
        pair = self.pairs[(sku_id, wh_id)]
        type_ = event.type
        local_receipt = (type_ == "receipt" and event.ref is not None
                         and self._receive_requisition(pair, event))
        apply_to_level(pair.level, event, side, erp_receipt=not local_receipt)
        if type_ == "count" and event.on_order is not None:
            pair.erp_on_order_at = event.at
            self._counted_by_erp(pair, event.at)
        if type_ in DEMAND_TYPES:  # demand history is kept with or without rules
            qty = event.qty or 0.0
            pair.window.add(day, qty)
            pair.window_changed = True
            self.changes.demand[(sku_id, wh_id, day)] += qty
            if pair.last_sale_day is None or day > pair.last_sale_day:
                pair.last_sale_day = day
        if pair.last_event_at is None or event.at > pair.last_event_at:
            pair.last_event_at = event.at
        if self.snap.ruleset is not None:
            self._evaluate_pair(event, pair, wh_id, day)
            if self.snap.group_rules:
                self._evaluate_groups(event, pair, wh_id, day)

    def _evaluate_pair(self, event: StockEvent, pair: Pair, wh_id: int, day: date) -> None:
        snap = self.snap
        index = snap.rule_index
        assert index is not None and snap.ruleset is not None
        groups, rules = snap.select(pair.sku_id, wh_id, event.type)  # evaluated unit by unit
        open_alerts = pair.open_alerts
        extra = index.resolvers(rules, open_alerts) if open_alerts else []
        if not rules and not extra:
            return
        sku = snap.sku_facts[pair.sku_id]
        wh = snap.warehouse_facts[wh_id]
        total = self._total_available(pair) if snap.needs_total else None
        facts = snap.fact_maker(pair.sku_id, groups).facts(
            event, sku, wh, pair.level, pair.window, total, day)
        self._last_facts = (event, pair, facts)  # a group rule's evaluation reads them too
        outcomes = evaluate(rules, facts)  # hits and failures only
        if extra:
            outcomes += evaluate(extra, facts)
        if not outcomes and not open_alerts:
            return  # nothing hit, nothing open: nothing to decide (the usual case)
        if open_alerts:  # a miss may resolve an open alert: every rule, in order
            answered = {id(o.rule): o for o in outcomes}
            steps: Iterable[tuple[Rule, Any]] = ((r, answered.get(id(r))) for r in (*rules, *extra))
        else:  # a miss without an open alert decides nothing: the hits and failures only
            steps = ((o.rule, o) for o in outcomes)
        links = snap.links.get(pair.sku_id, ())
        for rule, outcome in steps:
            hit = outcome is not None
            if hit and outcome.error is not None:
                self.changes.failures.note(rule.id, outcome.error, pair.sku_id, wh_id, event.id,
                                           event.at)
                continue
            open_alert = open_alerts.get(rule.id)
            if not hit and open_alert is None:
                continue  # decide() says NOTHING
            raising = event.type in rule.on
            decision = decide(rule, hit, open_alert, pair.last_resolved.get(rule.id), event.at)
            if decision in (OPEN, COOLDOWN) and not raising:
                continue
            if decision == OPEN:
                self._open(rule, pair, event, facts, Metrics.from_facts(facts["metrics"]), links)
            elif decision == HIT and open_alert is not None:
                open_alert.hits += 1
                self._hit(open_alert, event.at)
            elif decision == RESOLVE and open_alert is not None:
                self._resolve(open_alert, pair, rule, event.at)

    def _total_available(self, pair: Pair) -> float:
        """Available over every warehouse of the SKU: those of this batch as they are now, the
        others as loaded (``StockState.others_available``) — what ``GET /skus/{code}/stock``
        says. The batch's pairs are fixed once loaded, so they are grouped by SKU once."""
        by_sku = self._by_sku
        if by_sku is None:
            by_sku = self._by_sku = {}
            for (s, _), p in self.pairs.items():
                by_sku.setdefault(s, []).append(p)
        return self.state.others_available.get(pair.sku_id, 0.0) + sum(
            p.level.available for p in by_sku.get(pair.sku_id, ()))

    def _open(self, rule: Rule, pair: Pair, event: StockEvent, facts: dict[str, Any],
              metrics: Metrics, links: Any) -> None:
        assert self.snap.ruleset is not None
        key = (pair.sku_id, pair.wh_id)
        sources = (self._sources(pair, event) if any(a.kind == "suggest_transfer"
                                                     for a in rule.actions) else ())
        ctx = ActionContext(self.snap.ruleset.compiled, rule, facts, metrics, links, event.at,
                            pair.open_requisitions, self.snap.supplier_contacts, sources,
                            self.state.inbound.get(key, 0.0))
        drafts = run_actions(rule.actions, ctx)
        for d in drafts:  # the next alert of this batch sees the transfer proposed
            if isinstance(d, TransferDraft):
                self.state.inbound[key] = self.state.inbound.get(key, 0.0) + d.quantity
                source = (pair.sku_id, self.snap.warehouse_ids[d.from_warehouse])
                self.state.outgoing[source] = self.state.outgoing.get(source, 0.0) + d.quantity
        explained = dict(facts, actions=[{"action": d.action_key, "skipped": d.reason}
                                         for d in drafts if isinstance(d, Skipped)])
        ordered = sum(d.quantity for d in drafts if isinstance(d, RequisitionDraft))
        if ordered:
            pair.level.on_order_local += ordered
            pair.open_requisitions += 1
            # The next rule on this event must see the new position; the alert just opened
            # keeps the facts it saw (the dict is replaced, not changed).
            facts["stock"] = dict(facts["stock"], on_order=pair.level.on_order,
                                  inventory_position=pair.level.inventory_position)
        new_alerts = self.changes.new_alerts
        new_alerts.append(NewAlert(rule, pair, event.at, explained, drafts, last_hit_at=event.at))
        pair.open_alerts[rule.id] = OpenAlert(-len(new_alerts), rule.id, 1)  # negative: new

    # -- issue #19: the SKU's other warehouses, and group rules --------------------------------
    def _stock_of(self, sku_id: int, wh_id: int) -> tuple[StockLevel, DemandWindow]:
        pair = self.pairs.get((sku_id, wh_id))
        if pair is not None:
            return pair.level, pair.window
        return self.state.elsewhere.get((sku_id, wh_id)) or (StockLevel(), DemandWindow())

    def _pair_facts(self, sku_id: int, wh_id: int, level: StockLevel, window: DemandWindow,
                    event: StockEvent) -> dict[str, Any]:
        snap = self.snap
        groups = snap.select(sku_id, wh_id, event.type)[0]
        return snap.fact_maker(sku_id, groups).facts(
            event, snap.sku_facts[sku_id], snap.warehouse_facts[wh_id], level, window)

    def _sources(self, pair: Pair, event: StockEvent) -> tuple[SourceStock, ...]:
        """The SKU's stock in its other warehouses, with their own metrics; what open
        transfers not yet shipped will take from each is not available to give."""
        out = []
        for wh_id, wh in self.snap.warehouse_facts.items():
            key = (pair.sku_id, wh_id)
            if wh_id == pair.wh_id or (key not in self.pairs and key not in self.state.elsewhere):
                continue
            level, window = self._stock_of(*key)
            metrics = self._pair_facts(pair.sku_id, wh_id, level, window, event)["metrics"]
            out.append(SourceStock(wh["code"], wh.get("region"),
                                   level.available - self.state.outgoing.get(key, 0.0),
                                   metrics["reorder_point"], metrics["max_stock"],
                                   metrics["avg_daily_demand"]))
        return tuple(out)

    def _member(self, sku_id: int, wh_id: int, event: StockEvent,
                ) -> tuple[Member, dict[str, Any]]:
        level, window = self._stock_of(sku_id, wh_id)
        facts = self._pair_facts(sku_id, wh_id, level, window, event)
        m = facts["metrics"]
        return member(level.on_hand, level.available, level.inventory_position,
                      m["reorder_point"], m["avg_daily_demand"]), facts

    def _tally(self, group_id: str, wh_id: int, event: StockEvent, day: date) -> Tally:
        found = self._tallies.get((group_id, wh_id))
        if found is None:
            found = self._tallies[(group_id, wh_id)] = Tally()
            snap = self.snap
            for sku_id in snap.group_members(group_id).get(wh_id, ()):
                level, window = self._stock_of(sku_id, wh_id)
                groups = snap.select(sku_id, wh_id, event.type)[0]
                quick = snap.fact_maker(sku_id, groups).reorder_point(window, day)
                if quick is None:
                    found.put(sku_id, self._member(sku_id, wh_id, event)[0])
                else:
                    found.put(sku_id, member(level.on_hand, level.available,
                                             level.inventory_position, quick[1], quick[0]))
        return found

    def _evaluate_groups(self, event: StockEvent, pair: Pair, wh_id: int, day: date) -> None:
        """The group rules of the pair's groups, over the group in this warehouse (and in
        every warehouse when a rule reads ``group.all``): one alert per group×warehouse."""
        snap = self.snap
        groups = snap.select(pair.sku_id, wh_id, event.type)[0]
        wanted = [(r, g) for r in snap.group_rules for g in r.groups if g in groups]
        if not wanted:
            return
        alerts = self.state.group_alerts
        kept = [t for g in dict.fromkeys(g for _, g in wanted)
                if (t := self._tallies.get((g, wh_id))) is not None]
        if not kept and not any(event.type in r.on or (r.id, g, wh_id) in alerts
                                for r, g in wanted):
            return  # nothing to decide, no sum to keep up to date: no facts built
        last = self._last_facts
        if last is not None and last[0] is event and last[1] is pair:
            facts = last[2]  # the pair's own rules just saw these
            m, level = facts["metrics"], pair.level
            mine = member(level.on_hand, level.available, level.inventory_position,
                          m["reorder_point"], m["avg_daily_demand"])
        else:
            mine, facts = self._member(pair.sku_id, wh_id, event)
        for tally in kept:  # the pair's share, up to date
            tally.put(pair.sku_id, mine)
        for rule, group_id in wanted:
            key = (rule.id, group_id, wh_id)
            open_alert = alerts.get(key)
            raising = event.type in rule.on
            if not raising and open_alert is None:
                continue
            here = self._tally(group_id, wh_id, event, day)
            here.put(pair.sku_id, mine)
            members = snap.group_members(group_id)
            everywhere = ([self._tally(group_id, w, event, day) for w in members]
                          if rule.id in self._reads_all else None)
            skus = 0
            if everywhere is not None:
                skus = self._group_skus.get(group_id, -1)
                if skus < 0:
                    skus = self._group_skus[group_id] = len(
                        {s for found in members.values() for s in found})
            seen = dict(facts, group=group_facts(group_id, here, everywhere, skus),
                        scope="group_warehouse")
            outcomes = evaluate([rule], seen)
            hit = bool(outcomes)
            if hit and outcomes[0].error is not None:
                self.changes.failures.note(rule.id, outcomes[0].error, pair.sku_id, wh_id,
                                           event.id, event.at)
                continue
            decision = decide(rule, hit, open_alert, self.state.group_resolved.get(key), event.at)
            if decision == OPEN and raising:
                self._open_group(rule, group_id, pair, event, seen)
            elif decision == HIT and open_alert is not None:
                open_alert.hits += 1
                self._hit(open_alert, event.at)
            elif decision == RESOLVE and open_alert is not None:
                if open_alert.id < 0:
                    self.changes.new_alerts[-open_alert.id - 1].resolved_at = event.at
                else:
                    self.changes.resolved[open_alert.id] = event.at
                del alerts[key]
                self.state.group_resolved[key] = event.at

    def _open_group(self, rule: Rule, group_id: str, pair: Pair, event: StockEvent,
                    facts: dict[str, Any]) -> None:
        assert self.snap.ruleset is not None
        ctx = ActionContext(self.snap.ruleset.compiled, rule, facts,
                            Metrics.from_facts(facts["metrics"]), (), event.at,
                            supplier_contacts=self.snap.supplier_contacts)
        drafts = run_actions(rule.actions, ctx)
        new_alerts = self.changes.new_alerts
        new_alerts.append(NewAlert(rule, pair, event.at, facts, drafts, last_hit_at=event.at,
                                   scope_key=group_id))
        self.state.group_alerts[(rule.id, group_id, pair.wh_id)] = OpenAlert(
            -len(new_alerts), rule.id, 1)

    def _hit(self, open_alert: OpenAlert, at: datetime) -> None:
        if open_alert.id < 0:
            new = self.changes.new_alerts[-open_alert.id - 1]
            new.hits, new.last_hit_at = open_alert.hits, at
        else:
            self.changes.hits[open_alert.id] = (open_alert.hits, at)

    def _resolve(self, open_alert: OpenAlert, pair: Pair, rule: Rule, at: datetime) -> None:
        if open_alert.id < 0:
            self.changes.new_alerts[-open_alert.id - 1].resolved_at = at
        else:
            self.changes.resolved[open_alert.id] = at
        del pair.open_alerts[rule.id]
        pair.last_resolved[rule.id] = at

    def _receive_requisition(self, pair: Pair, event: StockEvent) -> bool:
        """A receipt whose ``ref`` names an ordered requisition of this SKU×warehouse receives it.

        True when that requisition was still counted here (not yet by the ERP): then the
        arrival lowers the local on-order quantity, not the ERP's.
        """
        assert event.ref is not None
        req = self.ordered.receive((pair.sku_id, pair.wh_id), event.ref, event.id)
        if req is None or req.counted_by_erp:
            return False
        pair.level.on_order_local = max(0.0, pair.level.on_order_local - req.quantity)
        return True

    def _counted_by_erp(self, pair: Pair, at: datetime) -> None:
        """The ERP's on_order snapshot at ``at`` includes every requisition ordered before it:
        from now on they count there, not here — never twice (SPEC §4)."""
        moved = self.ordered.count_by_erp((pair.sku_id, pair.wh_id), at)
        if moved:
            pair.level.on_order_local = max(0.0, pair.level.on_order_local - float(moved))
