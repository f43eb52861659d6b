"""Master data to an Excel workbook, written row by row (openpyxl's write-only mode).

A write-only workbook keeps no cells in memory: each row goes to a temporary file as it is
appended, so 100k SKUs cost little memory, and the finished file is streamed to the browser
from a descriptor whose name is already unlinked. The headers are the viewer's words for our
fields, the same words the importers recognise, so an exported file can be edited in Excel
and imported again as it is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Response, send_file
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from admin.web.import_labels import FIELD_LABELS

Getter = Callable[[dict[str, Any]], Any]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _joined(values: Any) -> str:
    return ", ".join(str(v) for v in values or ())


def _contact(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" if k != "text" else str(v) for k, v in value.items())
    return "" if value is None else str(value)


COLUMNS: dict[str, list[tuple[Any, Getter]]] = {
    "skus": [
        (FIELD_LABELS["sku"], lambda r: r["code"]),
        (FIELD_LABELS["name"], lambda r: r["name"]),
        (FIELD_LABELS["category"], lambda r: r["category"]),
        (FIELD_LABELS["unit"], lambda r: r["unit"]),
        (FIELD_LABELS["unit_cost"], lambda r: r["unit_cost"]),
        (FIELD_LABELS["abc_class"], lambda r: r["abc_class"]),
        (FIELD_LABELS["tags"], lambda r: _joined(r["tags"])),
        (FIELD_LABELS["supplier"], lambda r: (r.get("supplier_codes") or [None])[0]),
        (_l("All suppliers"), lambda r: _joined(r.get("supplier_codes"))),
    ],
    "warehouses": [
        (FIELD_LABELS["warehouse"], lambda r: r["code"]),
        (FIELD_LABELS["name"], lambda r: r["name"]),
        (FIELD_LABELS["region"], lambda r: r["region"]),
    ],
    "suppliers": [
        (FIELD_LABELS["supplier"], lambda r: r["code"]),
        (FIELD_LABELS["name"], lambda r: r["name"]),
        (FIELD_LABELS["lead_time_days"], lambda r: r["lead_time_days"]),
        (FIELD_LABELS["lead_time_std_days"], lambda r: r["lead_time_std_days"]),
        (FIELD_LABELS["moq"], lambda r: r["moq"]),
        (FIELD_LABELS["pack_size"], lambda r: r["pack_size"]),
        (FIELD_LABELS["on_time_rate"], lambda r: r["on_time_rate"]),
        (FIELD_LABELS["contact"], lambda r: _contact(r["contact"])),
    ],
}
SHEETS = {"skus": _l("SKUs"), "warehouses": _l("Warehouses"), "suppliers": _l("Suppliers")}
CODE_WIDTH = 20


def write(kind: str, rows: Iterable[dict[str, Any]], instance_path: Path) -> Path:
    """Write ``rows`` of ``kind`` to a new workbook file; its path (the caller sends it)."""
    columns = COLUMNS[kind]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(SHEETS[kind]))
    sheet.column_dimensions["A"].width = CODE_WIDTH
    sheet.column_dimensions["B"].width = 32
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title, _ in columns:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values: list[Any] = [get(row) for _, get in columns]
        cell = WriteOnlyCell(sheet, value=values[0])
        cell.number_format = "@"  # codes stay text: 001001 keeps its zeros
        sheet.append([cell, *values[1:]])
    folder = Path(instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(handle)
    book.save(name)
    return Path(name)


def send(path: Path, download_name: str) -> Response:
    """Stream the file and remove it: its name is unlinked at once, the open file stays
    readable until the response is sent."""
    stream = open(path, "rb")  # noqa: SIM115 - closed by the response
    path.unlink(missing_ok=True)
    return send_file(stream, mimetype=XLSX, as_attachment=True, download_name=download_name,
                     max_age=0)
