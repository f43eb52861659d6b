"""The first records of a file checked as an import would check them, before importing.

A preview (``ImportService.preview``) says how each row reads; this adds what the import's
check pass would say of those rows against the master data as it is now (an unknown SKU or
warehouse, a supplier that does not exist, an event the event path refuses), so that the
data-import page marks them before anything is started. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from engine.imports import master
from engine.imports.dedupe import Naming
from engine.imports.plugin import ImportRequest
from engine.imports.records import BadRow, Record
from engine.imports.validate import Validator
from engine.services.engine_cache import DEFAULT_TZ

if TYPE_CHECKING:
    from engine.bootstrap import Services


def check_records(svc: Services, kind: str | None, records: Sequence[Record],
                  columns: dict[str, str] | None) -> list[BadRow]:
    """The problems of ``records`` (a file's first rows, already read), in row order."""
    if not records:
        return []
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
        tz = ZoneInfo(active.compiled.settings.timezone) if active else DEFAULT_TZ
        validator = Validator(uow.conn, tz, svc.clock.now(), kind)
        checked = validator.page(list(records), columns)
        repeated = validator.ids.duplicates()
        if repeated:  # rows repeating an earlier one, named by a second look at them
            validator.naming = Naming(repeated)
            checked.bad.extend(validator.page(list(records), columns).repeated)
        for name in ("suppliers", "warehouses", "skus"):
            checked.bad.extend(master.check(master.merge(uow.conn, name,
                                                         checked.masters[name]), columns))
    return sorted(checked.bad, key=_row_key)


def _row_key(bad: BadRow) -> Any:
    return (bad.row is None, bad.row or 0)


def first_rows(service: Any, plugin: str, path: str, options: dict[str, Any],
               limit: int = 15) -> dict[str, Any] | None:
    """The first rows of a file as they are, and the fields of every kind, when its importer
    can tell them (``sample``): for a page that lets the user name the header row and its
    columns. None when it cannot; ``ImportFailed`` when the file cannot be read at all."""
    importer = service.importer(plugin)
    sample = getattr(importer, "sample", None)
    if sample is None:
        return None
    found: dict[str, Any] = sample(ImportRequest(kind=None, file=path, options=dict(options)),
                                   limit)
    return found
