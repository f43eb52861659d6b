"""Many SKU×warehouse pairs as columns (issue #16): what ``fact_columns`` reads without a Python
object per pair, and each pair as a ``PairRow`` when one is evaluated one by one.

A ``PairRows`` keeps the rows as read (stock levels' tuples, or ``PairRow`` objects) and numpy
columns of them: ids, stock numbers, the stored demand windows and each pair's groups (as the
number of a distinct tuple of groups). ``rows[i]`` gives the ``PairRow`` the per-event path
would have built, from the row as read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, overload

import numpy as np

from engine.stock import StockLevel


@dataclass(slots=True)
class PairRow:
    sku_id: int
    wh_id: int
    level: StockLevel
    window: Any  # the stored demand window: packed (bytes), a dict, its JSON text, or None
    groups: tuple[str, ...]


class PairRows(Sequence[PairRow]):
    """Pairs as columns, in order; ``source[order[i]]`` is row ``i`` as read: a stock level's
    tuple (sku_id, wh_id, on_hand, reserved, on_order_erp, on_order_local, window) or a
    ``PairRow``."""

    __slots__ = (
        "group_of",
        "groupings",
        "on_hand",
        "on_order",
        "order",
        "reserved",
        "sku_id",
        "source",
        "wh_id",
    )

    def __init__(self, source: Sequence[Any], order: np.ndarray, sku_id: np.ndarray,
                 wh_id: np.ndarray, on_hand: np.ndarray, reserved: np.ndarray,
                 on_order: np.ndarray, group_of: np.ndarray,
                 groupings: Sequence[tuple[str, ...]]) -> None:
        self.source, self.order = source, order
        self.sku_id, self.wh_id = sku_id, wh_id
        self.on_hand, self.reserved, self.on_order = on_hand, reserved, on_order
        self.group_of, self.groupings = group_of, list(groupings)

    @classmethod
    def of(cls, rows: Sequence[PairRow]) -> PairRows:
        """Rows already made one by one (tests, callers with a few pairs)."""
        if isinstance(rows, PairRows):
            return rows
        numbers: dict[tuple[str, ...], int] = {}
        group_of = np.array([numbers.setdefault(r.groups, len(numbers)) for r in rows],
                            dtype=np.int64)
        return cls(list(rows), np.arange(len(rows)),
                   np.array([r.sku_id for r in rows], dtype=np.int64),
                   np.array([r.wh_id for r in rows], dtype=np.int64),
                   np.array([r.level.on_hand for r in rows], dtype=np.float64),
                   np.array([r.level.reserved for r in rows], dtype=np.float64),
                   np.array([r.level.on_order for r in rows], dtype=np.float64),
                   group_of, list(numbers))

    def take(self, index: np.ndarray) -> PairRows:
        """The rows at ``index`` (positions in this one), in that order."""
        return PairRows(self.source, self.order[index], self.sku_id[index], self.wh_id[index],
                        self.on_hand[index], self.reserved[index], self.on_order[index],
                        self.group_of[index], self.groupings)

    def in_groups(self, wanted: Sequence[str]) -> PairRows:
        """The rows in any of ``wanted`` groups (all when none is given)."""
        if not wanted:
            return self
        want = set(wanted)
        ok = np.array([bool(want.intersection(g)) for g in self.groupings], dtype=bool)
        return self.take(np.flatnonzero(ok[self.group_of]) if len(ok) else
                         np.zeros(0, dtype=np.int64))

    @property
    def windows(self) -> list[Any]:
        """The stored demand window of each row."""
        source = self.source
        if source and isinstance(source[0], PairRow):
            return [source[i].window for i in self.order.tolist()]
        return list(map(itemgetter(6), map(source.__getitem__, self.order.tolist())))

    def __len__(self) -> int:
        return len(self.order)

    @overload
    def __getitem__(self, i: int | np.integer[Any]) -> PairRow: ...
    @overload
    def __getitem__(self, i: slice) -> PairRows: ...

    def __getitem__(self, i: int | np.integer[Any] | slice) -> PairRow | PairRows:
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        found = self.source[int(self.order[i])]
        if isinstance(found, PairRow):
            return found
        sku_id, wh_id, on_hand, reserved, erp, local, window = found
        return PairRow(sku_id, wh_id, StockLevel(on_hand, reserved, erp, local), window,
                       self.groupings[int(self.group_of[i])])

    def __iter__(self) -> Iterator[PairRow]:
        for i in range(len(self)):
            yield self[i]
