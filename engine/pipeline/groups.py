"""Group rules (``per: group_warehouse``, issue #19): aggregates over a group's member SKUs in
one warehouse (``group.*``) and in every warehouse (``group.all.*``), kept up to date while a
batch is applied.

A member counts its available stock, inventory position, daily demand, whether it is below
its reorder point (available < reorder point, as the per-SKU rules say it) and whether it is
out of stock (available ≤ 0). The group's days of cover are its available stock over its
daily demand (null without demand). Pure: the core hands in each member's level and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def reads_all(rule: Any) -> bool:
    """Whether a group rule reads ``group.all.*`` (then every warehouse's members count)."""
    return "group.all" in repr(rule.when)


SUMS = ("on_hand", "available", "inventory_position", "below_reorder_point", "out_of_stock",
        "avg_daily_demand")


@dataclass(frozen=True)
class Member:
    on_hand: float
    available: float
    inventory_position: float
    below_reorder_point: int
    out_of_stock: int
    avg_daily_demand: float


def member(on_hand: float, available: float, position: float, reorder_point: float,
           demand: float) -> Member:
    return Member(on_hand, available, position, int(available < reorder_point),
                  int(available <= 0), demand)


@dataclass
class Tally:
    """The sums over a set of members; ``put`` replaces one member's share."""

    members: dict[int, Member] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMS, 0.0))

    def put(self, key: int, m: Member) -> None:
        old = self.members.get(key)
        sums = self.sums
        for name in SUMS:
            sums[name] += getattr(m, name) - (getattr(old, name) if old is not None else 0.0)
        self.members[key] = m

    def facts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"skus": len(self.members)}
        for name in SUMS:
            value = self.sums[name]
            out[name] = int(round(value)) if name in ("below_reorder_point", "out_of_stock") \
                else round(value, 9)
        demand = self.sums["avg_daily_demand"]
        if demand > 0:
            out["days_of_cover"] = self.sums["available"] / demand
        return out


def group_facts(group_id: str, here: Tally, everywhere: list[Tally] | None = None,
                skus: int = 0) -> dict[str, Any]:
    """The ``group`` facts: this warehouse's tally, and — for a rule that reads them — ``all``
    over every warehouse's tallies (``skus``: the group's SKUs in at least one warehouse)."""
    out = {"id": group_id, **here.facts()}
    if everywhere is not None:
        total = Tally()
        for tally in everywhere:
            for name in SUMS:
                total.sums[name] += tally.sums[name]
        out["all"] = dict(total.facts(), skus=skus)
    return out
