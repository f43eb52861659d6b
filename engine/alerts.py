"""The alert lifecycle as decisions: open, count a hit, resolve, or hold back in cooldown.

One open alert per rule+SKU+warehouse: the decision here is the first guard, the partial unique
index on ``alerts`` the final one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.rules.compiled import Rule

OPEN, HIT, RESOLVE, COOLDOWN, NOTHING = "open", "hit", "resolve", "cooldown", "nothing"


@dataclass
class OpenAlert:
    id: int
    rule: str
    hits: int


def decide(
    rule: Rule,
    hit: bool,
    open_alert: OpenAlert | None,
    last_resolved_at: datetime | None,
    at: datetime,
) -> str:
    """What happens to ``rule``'s alert on this pair when its condition is ``hit`` at ``at``."""
    if hit:
        if open_alert is not None:
            return HIT
        if last_resolved_at is not None and rule.cooldown and at < last_resolved_at + rule.cooldown:
            return COOLDOWN
        return OPEN
    if open_alert is not None and rule.auto_resolve:
        return RESOLVE
    return NOTHING
