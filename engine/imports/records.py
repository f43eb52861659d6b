"""The canonical records an importer yields, whatever its source (ERP.md §1).

An importer only reads: it turns rows of a file or pages of an ERP's answers into these plain
records. Quantities are in the source's unit with ``factor`` (source unit → the SKU's stock
unit, ERP.md §3.4) so that conversion happens once, in the import service. Master data carries
only the fields the source knows (``None`` = leave as it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class WarehouseRecord:
    code: str
    name: str | None = None
    region: str | None = None
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class SupplierRecord:
    code: str
    name: str | None = None
    lead_time_days: float | None = None
    lead_time_std_days: float | None = None
    moq: float | None = None
    pack_size: float | None = None
    on_time_rate: float | None = None
    contact: str | None = None
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class SupplierLink:
    supplier: str
    preferred: bool = False
    backup: bool = False
    price: float | None = None


@dataclass(frozen=True)
class SkuRecord:
    code: str
    name: str | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    unit: str | None = None
    unit_cost: float | None = None
    abc_class: str | None = None
    suppliers: tuple[SupplierLink, ...] | None = None
    attributes: dict[str, Any] | None = None
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class StockSnapshot:
    """Absolute levels of one SKU×warehouse as the source reports them (ERP.md TL;DR 5); applied
    as a ``count`` event carrying ``reserved`` and ``on_order`` (SPEC §4)."""

    sku: str
    warehouse: str
    on_hand: float
    as_of: datetime
    reserved: float | None = None
    on_order: float | None = None
    factor: float = 1.0
    id: str | None = None  # deterministic when the source has one; else made from the values
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class StockMove:
    """One SPEC §4 event (sale, receipt, issue, return, adjustment, transfer, reserve, …) with a
    deterministic ``id`` (ERP.md §1 last row: ``odoo:{db}:stock.move:{id}``, ``erpnext:SLE:{name}``,
    ``k3:{FormId}:{FEntryID}``, ``u8:{table}:{AutoID}``, ``csv:{file}:{row}``)."""

    id: str
    type: str
    sku: str
    warehouse: str
    qty: float
    at: datetime
    ref: str | None = None
    to_warehouse: str | None = None
    factor: float = 1.0
    cancelled: bool = False  # ERPNext is_cancelled, Kingdee un-approval: reconcile, never apply
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class PurchaseOrderLine:
    po: str
    line: str
    supplier: str
    sku: str
    warehouse: str
    qty_ordered: float
    qty_received: float = 0.0
    expected_date: date | None = None
    status: str | None = None  # open | done | cancelled (source words mapped by the importer)
    factor: float = 1.0
    origin: str | None = field(default=None, compare=False)  # "row 12": named in messages


@dataclass(frozen=True)
class SalesColumns:
    """Many daily sales rows at once, as columns: the same as one ``StockMove`` per row (type
    ``sale``, id ``sale:{sku}:{warehouse}:{day}``, factor 1), without an object per row. A
    file importer yields it for a page of plain rows: a year of daily sales is millions of
    rows, and a record per row costs three times the reading of the file."""

    date: Sequence[Any]  # each row's date cell as read
    days: Mapping[Any, tuple[datetime, str]]  # date cell -> (midnight without a zone, ISO day)
    sku: Sequence[str]
    warehouse: Sequence[str]
    qty: Sequence[float]  # > 0 (an int where the cell held a whole number)
    row: Sequence[int]  # the rows' numbers in the file, for messages

    @property
    def at(self) -> tuple[datetime, ...]:
        """Each row's date as a datetime (a date alone is midnight, without a zone)."""
        return tuple(self.days[d][0] for d in self.date)

    @property
    def day(self) -> tuple[str, ...]:
        """Each row's day as an ISO date, as in the ids."""
        return tuple(self.days[d][1] for d in self.date)


@dataclass(frozen=True)
class BadRow:
    """A row or record the importer could not read: where (``row`` number in the file, or the
    page), which ``column`` and why. Kept for review like a rejected event."""

    where: str
    reason: str
    column: str | None = None
    row: int | None = None
    raw: dict[str, Any] | None = None


Record = (WarehouseRecord | SupplierRecord | SkuRecord | StockSnapshot | StockMove
          | PurchaseOrderLine | SalesColumns | BadRow)


@dataclass(frozen=True)
class Page:
    """What the import service commits at once. ``cursor`` is where to resume after this page
    (stored with the commit, so an interrupted run resumes after its last committed page);
    ``where`` names the page in messages ("stock.quant offset 500", "rows 2–1001")."""

    records: list[Record]
    where: str
    cursor: dict[str, Any] | None = None
    progress: tuple[int, int | None] | None = None  # (done, total or None)
    complete_kinds: frozenset[str] = field(default_factory=frozenset)
    # kinds this run has read in full (a snapshot): what it did not see may be reconciled away
    columns: dict[str, str] | None = None
    # canonical field -> the source's column or field name, so that messages name the column
