"""A count may carry only reserved and/or on_order (an ERP's open purchase orders imported
without touching on_hand); a count with none of the three is still refused."""

from __future__ import annotations

from engine.stock import StockEvent, StockLevel, apply, parse_event

BASE = {"id": "c1", "type": "count", "sku": "S", "warehouse": "W",
        "at": "2026-11-20T08:00:00+08:00"}


def test_a_count_of_on_order_only_leaves_on_hand_alone() -> None:
    event = parse_event({**BASE, "on_order": 40})
    assert isinstance(event, StockEvent) and event.qty is None
    level = StockLevel(on_hand=12, reserved=2, on_order_erp=5)
    apply(level, event)
    assert (level.on_hand, level.reserved, level.on_order_erp) == (12, 2, 40)


def test_a_count_with_nothing_to_set_is_refused() -> None:
    assert parse_event(dict(BASE)) == [{"field": "qty", "message": "'qty' is required for a count event"}]
