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
from engine.actions.context import ActionContext, RequisitionDraft, Skipped
from engine.alerts import COOLDOWN, HIT, OPEN, RESOLVE, OpenAlert, decide
from engine.evaluation import evaluate
from engine.metrics import Metrics
from engine.pipeline.elsewhere import Elsewhere
from engine.pipeline.state import Changes, NewAlert, Pair, StockState
from engine.rules.compiled import Rule
from engine.snapshot import DEFAULT_TZ, Snapshot
from engine.stock import DEMAND_TYPES, StockEvent
from engine.stock import apply as apply_to_level
from engine.supply import order_facts, raised_orders


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
                  checks: Iterable[tuple[StockEvent, int, int, date]],
                  only: Sequence[Rule] | None = None, reason: str | None = None) -> Changes:
    """The rules evaluated on pairs whose stock does not change (the daily run: a synthetic
    ``daily`` event per pair, each ``(event, sku id, warehouse id, local day)``): alerts
    opened, hit and resolved as on any event.

    ``only``: just these rules, on the pairs in their groups, whatever their ``on`` says (an
    activation evaluating the rules it changed, #17); an alert they resolve is resolved with
    ``reason`` (default ``auto``)."""
    applier = _Applier(state, snap, only, reason)
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


class _Applier(Elsewhere):
    """One batch's walk over its events: stock, demand, then the rules and their decisions."""

    def __init__(self, state: StockState, snap: Snapshot, only: Sequence[Rule] | None = None,
                 reason: str | None = None) -> None:
        self.state = state
        self.snap = snap
        self.only, self.reason = only, reason
        self.pairs = state.pairs
        self.ordered = state.ordered
        self.mutes = state.mutes
        self.changes = Changes(state.pairs, state.ordered)
        self._by_sku: dict[int, list[Pair]] | None = None
        self._init_elsewhere(snap)  # issue #19: other warehouses, group rules

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
        groups, candidates = snap.select(pair.sku_id, wh_id, event.type)  # evaluated unit by unit
        rules: Sequence[Rule] = candidates
        open_alerts = pair.open_alerts
        only = self.only
        if only is not None:  # these rules on the pairs of their groups, raising whatever ``on``
            rules = [r for r in only if not r.groups or not set(r.groups).isdisjoint(groups)]
            open_alerts = {k: a for k, a in open_alerts.items() if any(r.id == k for r in rules)}
            extra: list[Rule] = []
        else:
            extra = index.resolvers(rules, open_alerts) if open_alerts else []
        if not rules and not extra:
            return
        sku = snap.sku_facts[pair.sku_id]
        wh = snap.warehouse_facts[wh_id]
        total = self._total_available(pair) if snap.needs_total else None
        facts = snap.fact_maker(pair.sku_id, groups).facts(
            event, sku, wh, pair.level, pair.window, total, day)
        if pair.open_orders:  # issue #19: the ``order.*`` facts of the next open order
            facts["order"] = order_facts(pair.open_orders)
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
            raising = only is not None or event.type in rule.on
            decision = decide(rule, hit, open_alert, pair.last_resolved.get(rule.id), event.at)
            if decision in (OPEN, COOLDOWN) and not raising:
                continue
            if decision == OPEN and self.mutes and self.mutes.covers(rule.id, pair.sku_id, wh_id,
                                                                     event.at):
                continue  # muted for this pair (issue #17): no alert, no action
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
        ctx = ActionContext(self.snap.ruleset.compiled, rule, facts, metrics, links, event.at,
                            pair.open_requisitions, self.snap.supplier_contacts,
                            open_orders=tuple(pair.open_orders),
                            **self._transfer_context(rule, pair, event))
        drafts = run_actions(rule.actions, ctx)
        self._note_transfers(pair, drafts)
        explained = dict(facts, actions=[{"action": d.action_key, "skipped": d.reason}
                                         for d in drafts if isinstance(d, Skipped)])
        ordered = sum(d.quantity for d in drafts if isinstance(d, RequisitionDraft))
        if ordered:
            pair.level.on_order_local += ordered
            pair.open_requisitions += 1
            pair.open_orders.extend(raised_orders(drafts, links, event.at))
            # The next rule on this event must see the new position; the alert just opened
            # keeps the facts it saw (the dict is replaced, not changed).
            facts["stock"] = dict(facts["stock"], on_order=pair.level.on_order,
                                  inventory_position=pair.level.inventory_position)
        new_alerts = self.changes.new_alerts
        new_alerts.append(NewAlert(rule, pair, event.at, explained, drafts, last_hit_at=event.at))
        pair.open_alerts[rule.id] = OpenAlert(-len(new_alerts), rule.id, 1)  # negative: new

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
            if self.reason is not None:
                self.changes.reasons[open_alert.id] = self.reason
        del pair.open_alerts[rule.id]
        pair.last_resolved[rule.id] = at

    def _receive_requisition(self, pair: Pair, event: StockEvent) -> bool:
        """A receipt whose ``ref`` names an ordered requisition of this SKU×warehouse receives it.

        True when that requisition was still counted here (not yet by the ERP): then the
        arrival lowers the local on-order quantity, not the ERP's.
        """
        assert event.ref is not None
        req = self.ordered.receive((pair.sku_id, pair.wh_id), event.ref, event.id, event.at)
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
