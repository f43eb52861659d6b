"""What the pipeline's core reads beyond a pair (issue #19), as a part of its applier: the
SKU's other warehouses for ``suggest_transfer`` (their stock and their own metrics, less what
open transfers not yet shipped will take), and group rules (``per: group_warehouse``) — a
group's sums per warehouse (``engine.pipeline.groups``), kept up to date while a batch is
applied, evaluated once per group×warehouse with their own open alerts.

Pure, as the core: the state comes in loaded (``StockState.elsewhere``, ``inbound``,
``outgoing``, ``group_alerts``, ``group_resolved``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from engine.actions import run_actions
from engine.actions.context import ActionContext, Draft, SourceStock, TransferDraft
from engine.alerts import HIT, OPEN, RESOLVE, OpenAlert, decide
from engine.evaluation import evaluate
from engine.metrics import DemandWindow, Metrics
from engine.pipeline.groups import Member, Tally, group_facts, member, reads_all
from engine.pipeline.state import Changes, NewAlert, Pair, StockState
from engine.rules.compiled import Rule
from engine.snapshot import Snapshot
from engine.stock import StockEvent, StockLevel


class Elsewhere:
    """The applier's part for issue #19 (``engine.pipeline.core._Applier`` derives from it)."""

    state: StockState
    snap: Snapshot
    pairs: dict[tuple[int, int], Pair]
    changes: Changes

    def _init_elsewhere(self, snap: Snapshot) -> None:
        self._tallies: dict[tuple[str, int], Tally] = {}  # group rules' sums, by (group, wh)
        self._reads_all = {r.id for r in snap.group_rules if reads_all(r)}
        self._last_facts: tuple[StockEvent, Pair, dict[str, Any]] | None = None
        self._group_skus: dict[str, int] = {}

    def _hit(self, open_alert: OpenAlert, at: datetime) -> None:
        raise NotImplementedError  # the core's

    def _transfer_context(self, rule: Rule, pair: Pair, event: StockEvent) -> dict[str, Any]:
        """``ActionContext``'s ``sources`` and ``transfer_cover`` for an alert opening."""
        sources = (self._sources(pair, event) if any(a.kind == "suggest_transfer"
                                                     for a in rule.actions) else ())
        return {"sources": sources,
                "transfer_cover": self.state.inbound.get((pair.sku_id, pair.wh_id), 0.0)}

    def _note_transfers(self, pair: Pair, drafts: Sequence[Draft]) -> None:
        """The next alert of this batch sees the transfers just proposed."""
        state = self.state
        for d in drafts:
            if isinstance(d, TransferDraft):
                key = (pair.sku_id, pair.wh_id)
                state.inbound[key] = state.inbound.get(key, 0.0) + d.quantity
                source = (pair.sku_id, self.snap.warehouse_ids[d.from_warehouse])
                state.outgoing[source] = state.outgoing.get(source, 0.0) + d.quantity

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
