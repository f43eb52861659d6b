"""A network importer for tests: its "ERP" is a JSON file of pages (``--url``), its key must
match the file's; it pages with a cursor and yields every kind of canonical record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.imports import records as r
from engine.imports.plugin import CredentialsRefused, ImportRequest, Option, SourceUnreachable

CLASSES = {name: getattr(r, name) for name in (
    "WarehouseRecord", "SupplierRecord", "SkuRecord", "StockSnapshot", "StockMove",
    "PurchaseOrderLine", "BadRow")}


def build(item: dict[str, Any]) -> Any:
    item = dict(item)
    cls = CLASSES[item.pop("record")]
    for key in ("at", "as_of"):
        if key in item:
            item[key] = datetime.fromisoformat(item[key])
    if "expected_date" in item:
        item["expected_date"] = date.fromisoformat(item["expected_date"])
    if "suppliers" in item:
        item["suppliers"] = tuple(r.SupplierLink(**s) for s in item["suppliers"])
    return cls(**item)


class FakeErp:
    name = "fakeerp"
    label = {"zh": "测试 ERP", "en": "Test ERP"}
    reads_files = False
    options = (Option("url", "the JSON file", "JSON 文件", required=True),
               Option("api_key", "key", "密钥", required=True, secret=True))

    def _data(self, request: ImportRequest) -> dict[str, Any]:
        path = Path(request.options["url"])
        if not path.exists():
            raise SourceUnreachable(self.name, "connect", f"{path} does not answer")
        data = json.loads(path.read_text())
        if request.options.get("api_key") != data["key"]:
            raise CredentialsRefused(self.name, "login", "the key was refused")
        return data

    def read(self, request: ImportRequest) -> Iterator[r.Page]:
        data = self._data(request)
        start = int((request.cursor or {}).get("page", -1)) + 1  # after the committed page
        for index, page in enumerate(data["pages"]):
            if index < start:
                continue
            if page.get("fail"):
                raise SourceUnreachable(self.name, f"page {index}", "timed out")
            yield r.Page([build(item) for item in page["records"]], f"page {index}",
                         cursor={"page": index},
                         complete_kinds=frozenset(page.get("complete", ())))

    def check(self, request: ImportRequest) -> str:
        return f"{len(self._data(request)['pages'])} pages"


importer = FakeErp()
