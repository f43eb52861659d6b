"""Rules that failed at run time on a batch's events (a budget exceeded, a division by zero):
noted per rule by the pipeline's core, counted and told to admins by
``engine.services.rule_failures`` when the batch is saved (issue #13). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BUDGET = "budget"
ERROR = "error"


@dataclass
class Failure:
    """The failures of one rule in one batch."""

    kind: str
    message: str
    count: int
    first_at: datetime
    last_at: datetime
    sku_id: int
    warehouse_id: int
    event_id: str


def kind_of(error: str) -> str:
    """``budget`` when the condition ran out of fuel, ``error`` for any other fault."""
    return BUDGET if error.startswith("BudgetExceeded") else ERROR


class RuleFailures:
    """The failures seen while one batch is applied, by rule id."""

    def __init__(self) -> None:
        self.seen: dict[str, Failure] = {}

    def note(self, rule_id: str, error: str, sku_id: int, warehouse_id: int, event_id: str,
             at: datetime) -> None:
        found = self.seen.get(rule_id)
        if found is None:
            self.seen[rule_id] = Failure(kind_of(error), error, 1, at, at, sku_id, warehouse_id,
                                         event_id)
            return
        found.count += 1
        found.kind, found.message = kind_of(error), error
        found.first_at, found.last_at = min(found.first_at, at), max(found.last_at, at)
        found.sku_id, found.warehouse_id, found.event_id = sku_id, warehouse_id, event_id
