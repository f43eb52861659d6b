"""The ``excel`` importer: .xlsx workbooks, read row by row (openpyxl's read-only mode), so a
large workbook takes little memory. Codes stored as numbers keep the leading zeros of their
``000000`` number format; dates are real dates or Excel serial numbers."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from plugins.importers.tabular import RowSource, TabularImporter

_ZEROS = re.compile(r"^0+$")


class ExcelImporter(TabularImporter):
    name = "excel"
    label = {"zh": "Excel 文件 (.xlsx)", "en": "Excel workbook (.xlsx)"}
    options = (Option("sheet", "worksheet name (default: the first)", "工作表名称（默认第一个）"),)

    def open(self, request: ImportRequest) -> RowSource:
        from openpyxl import load_workbook

        path = Path(request.file or "")
        with path.open("rb") as fh:
            magic = fh.read(8)
        if magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFailed(self.name, path.name,
                               "this is an old Excel .xls file: save it as .xlsx")
        if not magic.startswith(b"PK"):
            raise ImportFailed(self.name, path.name,
                               "this is not an Excel .xlsx workbook (for CSV use `import csv`)")
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportFailed(self.name, path.name,
                               f"this is not a readable .xlsx workbook ({exc})") from None
        sheet_name = request.options.get("sheet")
        if sheet_name and sheet_name not in book.sheetnames:
            book.close()
            raise ImportFailed(self.name, path.name, f"no sheet '{sheet_name}'; the sheets are "
                               f"{', '.join(book.sheetnames)}")
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        formats: dict[int, int] = {}
        total = sheet.max_row if isinstance(sheet.max_row, int) else None
        done = [0]

        def rows() -> Iterator[tuple[int, Sequence[Any]]]:
            for number, row in enumerate(sheet.iter_rows(), 1):
                values = []
                for index, cell in enumerate(row):
                    value = getattr(cell, "value", None)
                    values.append(value)
                    fmt = getattr(cell, "number_format", None)
                    if isinstance(value, (int, float)) and fmt and _ZEROS.match(fmt):
                        formats[index] = len(fmt)
                done[0] = number
                yield number, values

        return RowSource(rows(), size=total, position=lambda: done[0],
                         zeros=formats,
                         notes=[f"sheet {sheet.title}"], close=book.close)


importer = ExcelImporter()
