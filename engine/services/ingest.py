"""Stock events in; alerts, tasks, requisitions, notifications and escalations out.

One batch is one transaction: the events, the stock level changes, the daily demand, every
alert and every effect commit together or not at all. Idempotency is the database's job: each
event is inserted with ``ON CONFLICT (event_id) DO NOTHING RETURNING`` and only the rows that
came back are applied, so a repeated id is never applied twice, even by two processes at once.
Rejected items are stored for review and replay in the same transaction.
"""

from __future__ import annotations

import json
import logging
from zoneinfo import ZoneInfo
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from engine.actions import run_actions
from engine.actions.context import (
    ActionContext,
    EscalationDraft,
    NotificationDraft,
    RequisitionDraft,
    Skipped,
    TaskDraft,
)
from engine.alerts import COOLDOWN, HIT, OPEN, RESOLVE, OpenAlert, decide
from engine.evaluation import evaluate
from engine.metrics import DemandWindow, Metrics
from engine.rules.compiled import Rule, RulesetSettings
from engine.services.engine_cache import Snapshot
from engine.services.ingest_requisitions import OrderedRequisitions, open_requisitions
from engine.services.rule_failures import RuleFailures
from engine.stock import DEMAND_TYPES, StockEvent, StockLevel, apply, parse_event
from engine.storage.tables import (
    OPEN_ALERT_PREDICATE,
    alerts,
    demand_days,
    escalations,
    notifications,
    outbox as outbox_table,
    rejected_events,
    requisition_history,
    requisitions,
    stock_events,
    stock_levels,
    task_history,
    tasks,
)
from engine.storage import bulk
from engine.storage.upsert import insert_for

log = logging.getLogger(__name__)
DEFAULT_TZ = ZoneInfo(RulesetSettings().timezone)  # until a ruleset names its own
LEVEL_KEY = ("sku_id", "warehouse_id")
LOAD_COLUMNS = ("sku_id", "warehouse_id", "on_hand", "reserved", "on_order_erp", "on_order_local",
                "erp_on_order_at", "last_event_at", "last_sale_day", "demand_window")
LEVEL_COLUMNS = ("on_hand", "reserved", "on_order_erp", "on_order_local", "erp_on_order_at",
                 "last_event_at", "last_sale_day", "demand_window")
ALERT_COLUMNS = ("rule", "rule_version", "sku_id", "warehouse_id", "severity", "owner", "state",
                 "opened_at", "last_hit_at", "resolved_at", "resolution", "hits", "facts")
TASK_COLUMNS = ("alert_id", "action_key", "title", "workflow", "state", "closed", "role", "severity",
                "due_at", "data", "created_at", "updated_at")
TASK_HISTORY_COLUMNS = ("task_id", "at", "actor", "transition", "from_state", "to_state", "data")
REQUISITION_COLUMNS = ("alert_id", "action_key", "sku_id", "warehouse_id", "supplier_id", "quantity",
                       "unit_price", "amount", "state", "approval_role", "reason", "created_at",
                       "updated_at")
REQUISITION_HISTORY_COLUMNS = ("requisition_id", "at", "actor", "transition", "from_state",
                               "to_state", "data")
# What tells apart two alerts opened and resolved in one batch (see _write_closed_alerts)
CLOSED_KEY = ("rule", "sku_id", "warehouse_id", "opened_at", "last_hit_at", "resolved_at", "hits")
_closed_key = itemgetter(*(ALERT_COLUMNS.index(c) for c in CLOSED_KEY))
EVENT_COLUMNS = ("event_id", "type", "sku_id", "warehouse_id", "qty", "at", "ref", "payload",
                 "received_at", "applied", "batch_id")


@dataclass(frozen=True)
class Unparsed:
    """A line of an input file that was not JSON: rejected with its reason, its text kept."""

    text: str
    message: str


@dataclass
class ItemResult:
    index: int
    id: str | None
    status: str  # accepted | duplicate | rejected
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass
class Pair:
    """The state of one SKU×warehouse while a batch is applied."""

    sku_id: int
    wh_id: int
    level: StockLevel
    window: DemandWindow
    last_event_at: datetime | None = None
    last_sale_day: date | None = None
    open_alerts: dict[str, OpenAlert] = field(default_factory=dict)
    last_resolved: dict[str, datetime] = field(default_factory=dict)
    open_requisitions: int = 0
    erp_on_order_at: datetime | None = None
    window_changed: bool = False  # demand added in this batch: the stored window is rewritten


@dataclass
class NewAlert:
    rule: Rule
    pair: Pair
    at: datetime
    facts: dict[str, Any]
    drafts: list[Any]
    hits: int = 1
    last_hit_at: datetime | None = None
    resolved_at: datetime | None = None
    id: int | None = None


@dataclass
class BatchStats:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts_opened: int = 0
    alerts_resolved: int = 0
    tasks: int = 0
    requisitions: int = 0
    follow_ups: list[tuple[int, str]] = field(default_factory=list)


def validate_items(items: Sequence[Any], snap: Snapshot, now: datetime) -> tuple[list[tuple[int, StockEvent]], list[ItemResult]]:
    """Parse every item and check its SKU and warehouses exist; errors per item and field."""
    good: list[tuple[int, StockEvent]] = []
    results: list[ItemResult] = []
    seen: set[str] = set()
    sku_ids, wh_ids, supplier_ids = snap.sku_ids, snap.warehouse_ids, snap.supplier_ids
    for index, raw in enumerate(items):
        if isinstance(raw, Unparsed):
            results.append(ItemResult(index, None, "rejected", [{"field": "", "message": raw.message}]))
            continue
        parsed = parse_event(raw, now)
        if isinstance(parsed, list):
            raw_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            if isinstance(raw, dict):  # every problem at once: unknown codes too
                parsed.extend(_unknown_codes(raw.get, snap, {e.get("field") for e in parsed}))
            results.append(ItemResult(index, raw_id, "rejected", parsed))
            continue
        if not (parsed.sku in sku_ids and parsed.warehouse in wh_ids
                and (parsed.to_warehouse is None or parsed.to_warehouse in wh_ids)
                and (parsed.supplier is None or parsed.supplier in supplier_ids)):
            results.append(ItemResult(index, parsed.id, "rejected",
                                      _unknown_codes(partial(getattr, parsed), snap)))
        elif parsed.id in seen:
            results.append(ItemResult(index, parsed.id, "duplicate"))
        else:
            seen.add(parsed.id)
            good.append((index, parsed))
    return good, results


_CODE_FIELDS = (("sku", "sku_ids", "SKU"), ("warehouse", "warehouse_ids", "warehouse"),
                ("to_warehouse", "warehouse_ids", "warehouse"), ("supplier", "supplier_ids", "supplier"))


def _unknown_codes(get: Callable[[str], Any], snap: Snapshot,
                   said: Container[Any] = ()) -> list[dict[str, str]]:
    """The errors of an event that names a SKU, warehouse or supplier that does not exist.

    ``get`` reads a field of the event (parsed, or the raw item of an event refused for other
    reasons); ``said``: fields whose own errors already speak for them."""
    errors = []
    for name, index, kind in _CODE_FIELDS:
        code = get(name)
        if type(code) is str and name not in said and code not in getattr(snap, index):
            errors.append({"field": name, "message": f"{kind} '{code}' does not exist"})
    return errors


class Batch:
    """Applies one batch of valid, new events inside the caller's transaction."""

    def __init__(self, conn: Connection, snap: Snapshot, now: datetime,
                 deliverable: frozenset[str] | None = None) -> None:
        self.conn = conn
        self.snap = snap
        self.now = now
        self.deliverable = deliverable  # configured channels; None: try every channel
        self.pairs: dict[tuple[int, int], Pair] = {}
        self.demand: dict[tuple[int, int, date], float] = defaultdict(float)
        self.new_alerts: list[NewAlert] = []
        self.hits: dict[int, tuple[int, datetime]] = {}
        self.resolved: dict[int, datetime] = {}
        self.follow_ups: list[tuple[int, str]] = []  # outbox rows to hand to the jobs port
        self.ordered = OrderedRequisitions()
        self.failures = RuleFailures()  # rules skipped on an event: counted, admins told
        self.stats = BatchStats()

    # -- loading ---------------------------------------------------------------------------
    def load(self, keys: Iterable[tuple[int, int]],
             requisition_keys: Iterable[tuple[int, int]] = ()) -> None:
        """Lock and read the stock levels of ``keys`` with their open alerts; then the ordered
        requisitions of ``requisition_keys`` (pairs with a receipt with a ref, or a count with
        on_order: the events that change them)."""
        keys = sorted(set(keys))
        if not keys:
            return
        conn = self.conn
        bulk.insert_many(conn, stock_levels, LEVEL_KEY, keys,
                         "ON CONFLICT (sku_id, warehouse_id) DO NOTHING")
        rows = bulk.select_by_pairs(conn, stock_levels, LOAD_COLUMNS, keys, lock=True)
        rows.sort(key=lambda r: (r[0], r[1]))  # pairs in key order, whatever the plan
        for (sku_id, wh_id, on_hand, reserved, on_order_erp, on_order_local, erp_on_order_at,
             last_event_at, last_sale_day, window) in rows:
            self.pairs[(sku_id, wh_id)] = Pair(
                sku_id, wh_id, StockLevel(on_hand, reserved, on_order_erp, on_order_local),
                DemandWindow.from_dict(window) if window else DemandWindow(),
                last_event_at, last_sale_day,
                open_requisitions=1 if on_order_local > 0 else 0, erp_on_order_at=erp_on_order_at,
                window_changed=not window)  # a new pair's empty window is written once
        pairs = self.pairs
        open_alerts = bulk.select_by_pairs(conn, alerts, ("id", "rule", "sku_id", "warehouse_id", "hits"),
                                           keys, where=f"t.{OPEN_ALERT_PREDICATE}")
        open_alerts.sort(key=lambda a: a[1])  # each pair's open alerts in rule id order
        for alert_id, rule, sku_id, wh_id, hits in open_alerts:
            pairs[(sku_id, wh_id)].open_alerts[rule] = OpenAlert(alert_id, rule, hits)
        if self._has_cooldowns():
            for rule, sku_id, wh_id, at in bulk.select_by_pairs(
                    conn, alerts, ("rule", "sku_id", "warehouse_id"), keys,
                    where="t.resolved_at IS NOT NULL", max_of="resolved_at"):
                pairs[(sku_id, wh_id)].last_resolved[rule] = at
        self.ordered.load(self.conn, requisition_keys)  # after the levels are locked

    def _has_cooldowns(self) -> bool:
        rs = self.snap.ruleset
        return rs is not None and any(r.cooldown for r in rs.compiled.rules)

    # -- applying --------------------------------------------------------------------------
    def apply_event(self, event: StockEvent) -> None:
        snap = self.snap
        sku_id = snap.sku_ids[event.sku]
        type_ = event.type
        wh_id = snap.warehouse_ids[event.warehouse]
        # the event's local day, worked out once: its demand day and its facts' ``today``
        day = event.at.astimezone(snap.tz or DEFAULT_TZ).date()
        if type_ == "transfer" and event.to_warehouse:
            self._apply_side(event, "from", sku_id, wh_id, day)
            self._apply_side(event, "to", sku_id, snap.warehouse_ids[event.to_warehouse], day)
        else:
            self._apply_side(event, "from", sku_id, wh_id, day)

    def _apply_side(self, event: StockEvent, side: str, sku_id: int, wh_id: int, day: date) -> None:
        pair = self.pairs[(sku_id, wh_id)]
        type_ = event.type
        local_receipt = (type_ == "receipt" and event.ref is not None
                         and self._receive_requisition(pair, event))
        apply(pair.level, event, side, erp_receipt=not local_receipt)
        if type_ == "count" and event.on_order is not None:
            pair.erp_on_order_at = event.at
            self._counted_by_erp(pair, event.at)
        if type_ in DEMAND_TYPES:  # demand history is kept with or without rules
            qty = event.qty or 0.0
            pair.window.add(day, qty)
            pair.window_changed = True
            self.demand[(sku_id, wh_id, day)] += qty
            if pair.last_sale_day is None or day > pair.last_sale_day:
                pair.last_sale_day = day
        if pair.last_event_at is None or event.at > pair.last_event_at:
            pair.last_event_at = event.at
        if self.snap.ruleset is not None:
            self.evaluate_pair(event, pair, wh_id, day)

    def evaluate_pair(self, event: StockEvent, pair: Pair, wh_id: int, day: date | None = None) -> None:
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
                self.failures.note(rule.id, outcome.error, pair.sku_id, wh_id, event.id, event.at)
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
        """Available over every warehouse of the SKU loaded in this batch.

        The batch's pairs are fixed once loaded, so they are grouped by SKU once, in load
        order (the same order, hence the same float sum, as a scan of ``self.pairs``).
        """
        by_sku: dict[int, list[Pair]] | None = getattr(self, "_pairs_by_sku", None)
        if by_sku is None or getattr(self, "_pairs_by_sku_size", -1) != len(self.pairs):
            by_sku = {}
            for (s, _), p in self.pairs.items():
                by_sku.setdefault(s, []).append(p)
            self._pairs_by_sku, self._pairs_by_sku_size = by_sku, len(self.pairs)
        return sum(p.level.available for p in by_sku.get(pair.sku_id, ()))

    def _open(self, rule: Rule, pair: Pair, event: StockEvent, facts: dict[str, Any],
              metrics: Any, links: Any) -> None:
        assert self.snap.ruleset is not None
        if not pair.open_requisitions and any(a.kind == "create_requisition" for a in rule.actions):
            # Nothing on order here; an ordered one the ERP counts still covers (SPEC §3).
            pair.open_requisitions = open_requisitions(self.conn, pair.sku_id, pair.wh_id)
        ctx = ActionContext(self.snap.ruleset.compiled, rule, facts, metrics, links, event.at,
                            pair.open_requisitions, self.snap.supplier_contacts)
        drafts = run_actions(rule.actions, ctx)
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
        alert = NewAlert(rule, pair, event.at, explained, drafts, last_hit_at=event.at)
        self.new_alerts.append(alert)
        pair.open_alerts[rule.id] = OpenAlert(-len(self.new_alerts), rule.id, 1)  # negative: new

    def _hit(self, open_alert: OpenAlert, at: datetime) -> None:
        if open_alert.id < 0:
            new = self.new_alerts[-open_alert.id - 1]
            new.hits, new.last_hit_at = open_alert.hits, at
        else:
            self.hits[open_alert.id] = (open_alert.hits, at)

    def _resolve(self, open_alert: OpenAlert, pair: Pair, rule: Rule, at: datetime) -> None:
        if open_alert.id < 0:
            self.new_alerts[-open_alert.id - 1].resolved_at = at
        else:
            self.resolved[open_alert.id] = at
        del pair.open_alerts[rule.id]
        pair.last_resolved[rule.id] = at
        self.stats.alerts_resolved += 1

    # -- writing ---------------------------------------------------------------------------
    def write(self) -> None:
        self.ordered.write(self.conn, self.now)
        self._write_levels()
        self._write_demand()
        self._write_alert_changes()
        self._write_new_alerts()
        if self.failures.seen and self.snap.ruleset is not None:
            self.follow_ups += self.failures.write(self.conn, self.snap.ruleset.version, self.now,
                                                   self.deliverable)

    def _write_levels(self) -> None:
        """Every pair's level; its demand window only when demand changed it (most of a batch's
        pairs: the others skip the window's encoding)."""
        if not self.pairs:
            return
        changed, same = [], []
        for p in self.pairs.values():
            lv = p.level
            row = (lv.on_hand, lv.reserved, lv.on_order_erp, lv.on_order_local, p.erp_on_order_at,
                   p.last_event_at, p.last_sale_day)
            if p.window_changed:
                changed.append((*row, p.window.to_dict(), p.sku_id, p.wh_id))
            else:
                same.append((*row, p.sku_id, p.wh_id))
        bulk.update_many(self.conn, stock_levels, LEVEL_COLUMNS, LEVEL_KEY, changed,
                         also="version = version + 1")
        bulk.update_many(self.conn, stock_levels, LEVEL_COLUMNS[:-1], LEVEL_KEY, same,
                         also="version = version + 1")

    def _write_demand(self) -> None:
        if not self.demand:
            return
        bulk.insert_many(self.conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                         [(s, w, d, q) for (s, w, d), q in self.demand.items()],
                         "ON CONFLICT (sku_id, warehouse_id, day) "
                         "DO UPDATE SET qty = demand_days.qty + excluded.qty")

    def _write_alert_changes(self) -> None:
        if self.hits:
            bulk.update_many(self.conn, alerts, ("hits", "last_hit_at"), ("id",),
                             [(h, at, i) for i, (h, at) in self.hits.items()])
        if self.resolved:
            bulk.update_many(self.conn, alerts, ("resolved_at",), ("id",),
                             [(at, i) for i, at in self.resolved.items()],
                             also="state = 'resolved', resolution = 'auto'")
            self.conn.execute(
                update(escalations)
                .where(escalations.c.alert_id.in_(list(self.resolved)), escalations.c.fired_at.is_(None),
                       escalations.c.cancelled_at.is_(None))
                .values(cancelled_at=self.now))

    def _write_new_alerts(self) -> None:
        """Every alert opened in this batch and every effect of its actions: one statement per
        table for the whole batch (not several per alert), each guarded by its unique key."""
        if not self.new_alerts:
            return
        assert self.snap.ruleset is not None
        version = self.snap.ruleset.version
        rows = [(a.rule.id, version, a.pair.sku_id, a.pair.wh_id, a.rule.severity, a.rule.owner,
                 "resolved" if a.resolved_at else "open", a.at, a.last_hit_at or a.at, a.resolved_at,
                 "auto" if a.resolved_at else None, a.hits, a.facts)
                for a in self.new_alerts]
        # Open ones may meet an alert another process opened first (the partial unique index);
        # an alert opened and resolved within the batch cannot conflict with anything.
        open_rows = [r for a, r in zip(self.new_alerts, rows, strict=True) if not a.resolved_at]
        closed = [(a, r) for a, r in zip(self.new_alerts, rows, strict=True) if a.resolved_at]
        if open_rows:
            # The predicate is literal SQL: see OPEN_ALERT_PREDICATE.
            returned = bulk.insert_returning(
                self.conn, alerts, ALERT_COLUMNS, open_rows, ("id", "rule", "sku_id", "warehouse_id"),
                f"ON CONFLICT (rule, sku_id, warehouse_id) WHERE {OPEN_ALERT_PREDICATE} DO NOTHING")
            ids = {(rule, sku, wh): i for i, rule, sku, wh in returned}
            for a in self.new_alerts:
                if not a.resolved_at:
                    a.id = ids.get((a.rule.id, a.pair.sku_id, a.pair.wh_id))
        self._write_closed_alerts(closed)
        written = [a for a in self.new_alerts if a.id is not None]
        self.stats.alerts_opened += len(written)
        self._write_tasks(written)
        self._write_requisitions(written)
        self._write_notifications(written)
        self._write_escalations([a for a in written if not a.resolved_at])

    def _write_closed_alerts(self, closed: list[tuple[NewAlert, tuple[Any, ...]]]) -> None:
        """Alerts opened and resolved within the batch, in one multi-row statement (they cannot
        conflict with anything). Each returned id goes to its alert by the columns that tell
        two of them apart: rule, pair, opened, last hit and resolved times, hits, as stored.
        Two alike in one batch (the same rule opened twice at one instant): one statement per
        alert, as before."""
        if not closed:
            return
        conn = self.conn
        stored = bulk.bind_rows(conn, alerts, CLOSED_KEY, [_closed_key(row) for _, row in closed])
        by_key = dict(zip(stored, (a for a, _ in closed)))
        if len(by_key) < len(closed):
            for a, row in closed:
                a.id = conn.execute(insert(alerts).returning(alerts.c.id),
                                    dict(zip(ALERT_COLUMNS, row, strict=True))).scalar_one()
            return
        rows = [row for _, row in closed]
        for alert_id, *found in bulk.insert_returning(conn, alerts, ALERT_COLUMNS, rows,
                                                      ("id", *CLOSED_KEY)):
            by_key[tuple(found)].id = alert_id

    def _drafts(self, alerts_: list[NewAlert], kind: type) -> list[tuple[NewAlert, Any]]:
        return [(a, d) for a in alerts_ for d in a.drafts if isinstance(d, kind)]

    def _write_tasks(self, alerts_: list[NewAlert]) -> None:
        drafts = self._drafts(alerts_, TaskDraft)
        if not drafts:
            return
        now = self.now
        made = bulk.insert_returning(self.conn, tasks, TASK_COLUMNS, [
            (a.id, d.action_key, d.title, d.workflow, d.state, False, d.role, d.severity, d.due_at,
             {}, now, now) for a, d in drafts], ("id", "alert_id", "action_key"))
        by_key = {(alert_id, action_key): task_id for task_id, alert_id, action_key in made}
        bulk.insert_many(self.conn, task_history, TASK_HISTORY_COLUMNS, [
            (by_key[(a.id, d.action_key)], now, "system", "create", None, d.state,
             {"alert": a.id, "rule": a.rule.id}) for a, d in drafts])
        self.stats.tasks += len(made)

    def _write_requisitions(self, alerts_: list[NewAlert]) -> None:
        drafts = self._drafts(alerts_, RequisitionDraft)
        if not drafts:
            return
        now = self.now
        supplier_ids = self.snap.supplier_ids
        made = bulk.insert_returning(self.conn, requisitions, REQUISITION_COLUMNS, [
            (a.id, d.action_key, a.pair.sku_id, a.pair.wh_id, supplier_ids.get(d.supplier or ""),
             d.quantity, d.unit_price, d.amount, d.state, d.approval_role, d.reason, now, now)
            for a, d in drafts], ("id", "alert_id", "action_key"))
        by_key = {(alert_id, action_key): req_id for req_id, alert_id, action_key in made}
        bulk.insert_many(self.conn, requisition_history, REQUISITION_HISTORY_COLUMNS, [
            (by_key[(a.id, d.action_key)], now, "system", "create", None, d.state,
             {"alert": a.id, "reason": d.reason}) for a, d in drafts])
        self.stats.requisitions += len(made)

    def _write_notifications(self, alerts_: list[NewAlert]) -> None:
        drafts = self._drafts(alerts_, NotificationDraft)
        if not drafts:
            return
        stmt = (insert_for(self.conn, notifications).on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(notifications.c.id))
        # A channel nobody configured cannot deliver: the message is kept, visibly undeliverable,
        # and `outbox retry` sends it once the channel is set up — no job is spent on it now.
        ok = self.deliverable
        made = self.conn.execute(stmt.returning(notifications.c.state), [
            dict(alert_id=a.id, dedupe_key=f"alert:{a.id}:{d.action_key}", channel=d.channel,
                 recipients=list(d.recipients), subject=d.subject, message=d.message,
                 state="pending" if ok is None or d.channel in ok else "undeliverable",
                 last_error=None if ok is None or d.channel in ok
                 else f"channel '{d.channel}' is not configured",
                 created_at=self.now) for a, d in drafts]).all()
        made = [row.id for row in made if row.state == "pending"]
        if made:
            rows = self.conn.execute(insert(outbox_table).returning(outbox_table.c.id), [
                dict(kind="deliver", payload={"notification": n}, status="pending", available_at=self.now,
                     created_at=self.now) for n in made]).scalars().all()
            self.follow_ups.extend((row_id, "deliver") for row_id in rows)

    def _write_escalations(self, alerts_: list[NewAlert]) -> None:
        drafts = self._drafts(alerts_, EscalationDraft)
        if drafts:
            stmt = insert_for(self.conn, escalations).on_conflict_do_nothing(index_elements=["alert_id", "level"])
            self.conn.execute(stmt, [dict(alert_id=a.id, level=d.level, to_role=d.to_role, due_at=d.due_at)
                                     for a, d in drafts])

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


def insert_events(conn: Connection, events: list[tuple[int, StockEvent]], snap: Snapshot,
                  now: datetime, applied: bool = True, batch_id: int | None = None) -> dict[str, int]:
    """Insert the events; the new ones by id → row id (the others were there: duplicates)."""
    if not events:
        return {}
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    rows = [(e.id, e.type, sku_ids[e.sku], wh_ids[e.warehouse], e.qty, e.at, e.ref,
             e.raw if type(e.raw) is dict else dict(e.raw), now, applied, batch_id)
            for _, e in events]
    # ON CONFLICT … RETURNING: only the rows inserted now come back, atomically (no check first)
    returned = bulk.insert_returning(conn, stock_events, EVENT_COLUMNS, rows, ("id", "event_id"),
                                     "ON CONFLICT (event_id) DO NOTHING")
    return {event_id: row_id for row_id, event_id in returned}


ANNOUNCED_COLUMNS = EVENT_COLUMNS[:-2]  # all but applied (false) and batch_id (the new row)


def insert_announced(conn: Connection, events: list[tuple[int, StockEvent]], snap: Snapshot,
                     now: datetime) -> dict[str, int]:
    """PostgreSQL: insert the events, not applied yet, and the ``apply_events`` outbox row that
    announces them, in one statement (one round trip fewer per ingest request than
    ``outbox.add`` then ``insert_events``). The outbox row is written only when some event is
    new, so an all-duplicate request leaves none behind to delete. New ids → row ids."""
    if not events:
        return {}
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    rows = bulk.bind_rows(conn, stock_events, ANNOUNCED_COLUMNS, [
        (e.id, e.type, sku_ids[e.sku], wh_ids[e.warehouse], e.qty, e.at, e.ref,
         e.raw if type(e.raw) is dict else dict(e.raw), now) for _, e in events])
    stamp = bulk.bind_rows(conn, outbox_table, ("available_at",), [(now,)])[0][0]
    out: dict[str, int] = {}
    size = bulk.MAX_ROWS
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        sql = _announced_sql(conn, len(chunk))
        params = (*(v for row in chunk for v in row), stamp, stamp)
        out.update((event_id, row_id) for row_id, event_id in conn.exec_driver_sql(sql, params))
    return out


def _announced_sql(conn: Connection, n: int) -> str:
    cache = bulk.statement_cache(conn)
    key = ("announced", n)
    sql = cache.get(key)
    if sql is None:
        dialect = conn.dialect
        one = "(" + ", ".join(f"CAST(%s AS {stock_events.c[c].type.compile(dialect)})"
                              for c in ANNOUNCED_COLUMNS) + ")"
        cols = ", ".join(ANNOUNCED_COLUMNS)
        sql = cache[key] = (
            # nextval first: each event names the outbox row, written after them by the same
            # statement (there is no foreign key to order them).
            "WITH b AS (SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id), "
            f"ev AS (INSERT INTO stock_events ({cols}, applied, batch_id) "
            f"SELECT v.*, false, b.id FROM b, (VALUES {', '.join([one] * n)}) AS v ({cols}) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id, batch_id), "
            "o AS (INSERT INTO outbox (id, kind, payload, status, available_at, created_at) "
            f"SELECT DISTINCT batch_id, 'apply_events', CAST('{{}}' AS {outbox_table.c.payload.type.compile(dialect)}), 'pending', "
            "CAST(%s AS TIMESTAMP WITH TIME ZONE), CAST(%s AS TIMESTAMP WITH TIME ZONE) FROM ev) "
            "SELECT id, event_id FROM ev")
    return sql  # type: ignore[no-any-return]


def store_rejected(conn: Connection, items: Sequence[Any], results: list[ItemResult], source: str,
                   now: datetime) -> None:
    rows = [
        {"event_id": r.id, "payload": items[r.index] if isinstance(items[r.index], dict) else None,
         "raw": None if isinstance(items[r.index], dict) else _raw_text(items[r.index]),
         "errors": r.errors, "source": source, "received_at": now, "state": "pending"}
        for r in results if r.status == "rejected"]
    if rows:
        conn.execute(insert(rejected_events), rows)


def _raw_text(item: Any) -> str:
    """What was sent, as it was sent: the line that was not JSON, or the item's JSON text."""
    if isinstance(item, Unparsed):
        return item.text[:10_000]
    return json.dumps(item, ensure_ascii=False, default=repr)[:10_000]


def record(conn: Connection, items: Sequence[Any], snap: Snapshot, now: datetime,
           source: str = "api", applied: bool = True, batch_id: int | None = None,
           announce: bool = False) -> tuple[list[ItemResult], list[StockEvent], list[int]]:
    """Validate and store a batch: the answer per item, the new events and their row ids.

    ``announce`` (PostgreSQL): store them not applied, with their ``apply_events`` outbox row
    (``insert_announced``)."""
    good, results = validate_items(items, snap, now)
    if announce:
        new_ids = insert_announced(conn, good, snap, now)
    else:
        new_ids = insert_events(conn, good, snap, now, applied, batch_id)
    accepted: list[StockEvent] = []
    for index, event in good:
        if event.id in new_ids:
            accepted.append(event)
            results.append(ItemResult(index, event.id, "accepted"))
        else:
            results.append(ItemResult(index, event.id, "duplicate"))
    store_rejected(conn, items, results, source, now)
    results.sort(key=lambda r: r.index)
    return results, accepted, [new_ids[e.id] for e in accepted]


def apply_events(conn: Connection, events: list[StockEvent], snap: Snapshot, now: datetime,
                 deliverable: frozenset[str] | None = None, keep_order: bool = False) -> Batch:
    """Apply events: stock, demand, alerts and every action's effect.

    A batch given at once is applied in time order; recorded events (``keep_order``) in the
    order they arrived, as the embedded default would have applied them.
    """
    batch = Batch(conn, snap, now, deliverable)
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
    batch.load(keys, requisition_keys)
    for event in (events if keep_order else sorted(events, key=lambda e: e.at)):
        batch.apply_event(event)
    batch.write()
    batch.stats.accepted = len(events)
    return batch


def apply_recorded(conn: Connection, row_ids: list[int], snap: Snapshot, now: datetime,
                   deliverable: frozenset[str] | None = None) -> Batch:
    """Apply those of ``row_ids`` not applied yet, in id order, and mark them applied."""
    query = (select(stock_events.c.id, stock_events.c.payload)
             .where(bulk.in_ids(conn, stock_events.c.id, row_ids), stock_events.c.applied.is_(False))
             # batch by batch as they arrived, each in time order: as the embedded default does
             .order_by(stock_events.c.batch_id, stock_events.c.at, stock_events.c.id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = list(conn.execute(query))
    events = []
    for row in rows:
        parsed = parse_event(row.payload)  # it was valid when recorded
        if isinstance(parsed, StockEvent) and parsed.sku in snap.sku_ids:
            events.append(parsed)
        else:
            log.error("recorded event %s can no longer be applied: %s", row.id, parsed)
    batch = apply_events(conn, events, snap, now, deliverable, keep_order=True)
    if rows:
        conn.execute(update(stock_events).where(bulk.in_ids(conn, stock_events.c.id, [r.id for r in rows]))
                     .values(applied=True))
    return batch


APPLIER_LOCK = 7_151_001  # pg_advisory_xact_lock key: one applier at a time
APPLY_CHUNK = 5000
APPLY_LIMIT = 20_000  # events per apply transaction; a longer backlog takes several jobs


def apply_pending(conn: Connection, snap: Snapshot, now: datetime,
                  deliverable: frozenset[str] | None = None, limit: int | None = None,
                  clock: Callable[[], datetime] | None = None,
                  ) -> tuple[int, list[tuple[int, str]]]:
    """The apply job: apply every recorded event not applied yet, in arrival (id) order.

    One applier at a time (an advisory lock on PostgreSQL; SQLite's single writer does the same),
    so events reach each SKU×warehouse in the order they arrived, whichever worker runs the job
    and whichever outbox row woke it. Then every ``apply_events`` outbox row none of whose events
    is left unapplied is marked done, in the same transaction. Returns (events applied, follow-ups).

    A backlog over ``limit`` events (``APPLY_LIMIT``) is applied by several jobs: the rows still
    waiting are handed over again on the relay's next pass, not when their leases run out.
    """
    if limit is None:
        limit = APPLY_LIMIT
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPLIER_LOCK})
    applied, follow_ups = 0, []
    while applied < limit:
        ids = list(conn.execute(select(stock_events.c.id).where(stock_events.c.applied.is_(False))
                                .order_by(stock_events.c.id).limit(APPLY_CHUNK)).scalars())
        if not ids:
            break
        if clock is not None:  # events keep arriving while we loop: stamp each chunk's time
            now = clock()
        batch = apply_recorded(conn, ids, snap, now, deliverable)
        follow_ups.extend(batch.follow_ups)
        applied += len(ids)
        if len(ids) < APPLY_CHUNK:
            # That was all there was. Events committed since belong to outbox rows not in this
            # job (every row's events commit with it): their own job applies them.
            break
    pending = select(stock_events.c.id).where(stock_events.c.batch_id == outbox_table.c.id,
                                              stock_events.c.applied.is_(False))
    finished = (select(outbox_table.c.id)
                .where(outbox_table.c.kind == "apply_events", outbox_table.c.status != "done",
                       ~pending.exists()))
    if conn.dialect.name == "postgresql":
        # Rows another worker holds (it waits for the applier lock) are its own to mark: never
        # wait for them while holding the lock it waits for.
        finished = finished.with_for_update(skip_locked=True)
    ids = list(conn.execute(finished).scalars())
    if ids:
        conn.execute(update(outbox_table).where(outbox_table.c.id.in_(ids))
                     .values(status="done", done_at=now, lease_until=None, last_error=None))
    if applied >= limit:
        # Stopped at the limit: the rows whose events wait would otherwise be handed over
        # when their leases run out (60 s each 20,000 events). Their leases end now instead.
        waiting = (select(outbox_table.c.id)
                   .where(outbox_table.c.kind == "apply_events", outbox_table.c.status == "dispatched",
                          pending.exists()))
        if conn.dialect.name == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)  # as above: never wait here
        ids = list(conn.execute(waiting).scalars())
        if ids:
            conn.execute(update(outbox_table).where(outbox_table.c.id.in_(ids)).values(lease_until=now))
    return applied, follow_ups


def ingest(conn: Connection, items: Sequence[Any], snap: Snapshot, now: datetime,
           source: str = "api", deliverable: frozenset[str] | None = None
           ) -> tuple[list[ItemResult], BatchStats]:
    """Record and apply a batch in the caller's transaction (the embedded default)."""
    results, accepted, _ = record(conn, items, snap, now, source)
    batch = apply_events(conn, accepted, snap, now, deliverable)
    stats = batch.stats
    stats.rejected = sum(1 for r in results if r.status == "rejected")
    stats.duplicates = sum(1 for r in results if r.status == "duplicate")
    stats.follow_ups = batch.follow_ups
    return results, stats

