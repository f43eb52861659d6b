"""Jiandaoyun (简道云) open API v5: one user-designed form holding items, stock levels or
moves, read with ``app/entry/data/list`` by the ``data_id`` cursor (ERP.md §2d).

The form's widgets are mapped to our fields (``sku=_widget_1432728651402`` or by label,
``sku=商品编码``) through the request's mapping or the ``mapping`` option; the labels are
resolved with ``app/entry/widget/list``, so a widget renamed in the form is reported with the
labels it has now. Timestamps are UTC ISO-8601. Calls are paced under the API's 30 requests a
second and retried after HTTP 429.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.imports.plugin import ImportFailed, ImportRequest, Option
from engine.imports.records import Record, SkuRecord, StockMove, StockSnapshot
from plugins.importers.http import HttpClient
from plugins.importers.runs import (
    BadValue,
    Chunk,
    Start,
    Stream,
    bad_row,
    number,
    parse_local,
    run_streams,
    shift,
    text,
)

SOURCE = "jiandaoyun"
ISO = "%Y-%m-%dT%H:%M:%S.000Z"
SYSTEM = ("_id", "creator", "updater", "createTime", "updateTime")
FIELDS = {  # form kind -> (required, optional) canonical fields
    "items": (("sku",), ("name", "category", "unit")),
    "stock": (("sku", "warehouse", "on_hand"), ("reserved", "on_order")),
    "moves": (("sku", "warehouse", "qty"), ("type", "date", "to_warehouse", "ref")),
}
TYPES = {"sale": "sale", "销售": "sale", "出库": "sale", "销售出库": "sale",
         "receipt": "receipt", "入库": "receipt", "采购入库": "receipt", "收货": "receipt",
         "issue": "issue", "领用": "issue", "领料": "issue", "return": "return", "退货": "return",
         "adjustment": "adjustment", "调整": "adjustment", "盘盈": "adjustment",
         "transfer": "transfer", "调拨": "transfer"}

OPTIONS = (
    Option("url", "API address (a private deployment's own host)", "API 地址（私有部署填自己的）",
           default="https://api.jiandaoyun.com"),
    Option("api_key", "API key", "API Key", required=True, secret=True),
    Option("app_id", "app id", "应用 ID", required=True),
    Option("entry_id", "form id", "表单 ID", required=True),
    Option("form_kind", "what the form holds: items, stock or moves",
           "表单内容：items、stock 或 moves", required=True),
    Option("mapping", "our field=widget id or label, comma separated "
           "(sku=商品编码,warehouse=仓库,qty=数量)", "字段映射：我方字段=控件 ID 或标题，逗号分隔"),
    Option("rate", "requests per second (the API allows 30)", "每秒请求数（接口上限 30）",
           default=25),
    Option("timeout", "seconds to wait for an answer", "等待应答的秒数", default=30),
)


class JiandaoyunImporter:
    name = "jiandaoyun"
    label = {"zh": "简道云", "en": "Jiandaoyun"}
    reads_files = False
    options = OPTIONS

    def _form(self, request: ImportRequest) -> _Form:
        o = request.options
        for opt in OPTIONS:
            if opt.required and not o.get(opt.name):
                raise ImportFailed(SOURCE, f"option --{opt.name.replace('_', '-')}", "is required")
        kind = str(o["form_kind"])
        if kind not in FIELDS:
            raise ImportFailed(SOURCE, "option --form-kind", f"{kind!r} is none of "
                               f"{', '.join(FIELDS)}")
        http = HttpClient(SOURCE, str(o.get("url") or "https://api.jiandaoyun.com"),
                          timeout=float(o.get("timeout") or 30), rate=float(o.get("rate") or 25),
                          headers={"Authorization": f"Bearer {o['api_key']}",
                                   "Content-Type": "application/json"})
        mapping = dict(_parse_mapping(o.get("mapping")))
        mapping.update(request.mapping or {})
        return _Form(http, str(o["app_id"]), str(o["entry_id"]), kind, mapping)

    def check(self, request: ImportRequest) -> str:
        form = self._form(request)
        try:
            widgets = form.resolve()
            rows = form.list(None, None, 1, "data/list")
        finally:
            form.http.close()
        mapped = ", ".join(f"{k}={v}" for k, v in widgets.items())
        return f"Jiandaoyun form {form.entry_id}: {mapped}; {'has' if rows else 'no'} data"

    def read(self, request: ImportRequest) -> Iterator[Any]:
        form = self._form(request)
        try:
            yield from run_streams(SOURCE, request, [Stream(f"entry {form.entry_id}", form.kind,
                                                            form.read)])
        finally:
            form.http.close()


importer = JiandaoyunImporter()


def _parse_mapping(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        yield from ((str(k), str(v)) for k, v in value.items())
        return
    for part in str(value or "").split(","):
        if part.strip():
            key, sep, widget = part.partition("=")
            if not sep:
                raise ImportFailed(SOURCE, "option --mapping", f"{part!r} is no field=widget")
            yield key.strip(), widget.strip()


class _Form:
    def __init__(self, http: HttpClient, app_id: str, entry_id: str, kind: str,
                 mapping: dict[str, str]) -> None:
        self.http, self.app_id, self.entry_id, self.kind = http, app_id, entry_id, kind
        self.mapping = mapping
        self.widgets: dict[str, str] = {}  # our field -> widget name

    def resolve(self) -> dict[str, str]:
        """Our fields → the form's widget names, by id or label, or a clear error."""
        required, optional = FIELDS[self.kind]
        missing = [f for f in required if f not in self.mapping]
        if missing:
            raise ImportFailed(SOURCE, "mapping", f"a {self.kind} form needs "
                               f"{', '.join(missing)} mapped to widgets (--map sku=商品编码,…)")
        unknown = [f for f in self.mapping if f not in required + optional]
        if unknown:
            raise ImportFailed(SOURCE, "mapping", f"{', '.join(unknown)}: not a field of a "
                               f"{self.kind} form ({', '.join(required + optional)})")
        body = self.http.json("POST", "/api/v5/app/entry/widget/list", "widget/list",
                              json={"app_id": self.app_id, "entry_id": self.entry_id})
        widgets = body.get("widgets") if isinstance(body, dict) else None
        if not isinstance(widgets, list):
            raise ImportFailed(SOURCE, "widget/list", "the answer has no 'widgets' list")
        names = {w.get("name") for w in widgets} | set(SYSTEM)
        by_label = {str(w.get("label")): w.get("name") for w in widgets}
        for field, ref in self.mapping.items():
            if ref in names:
                self.widgets[field] = ref
            elif ref in by_label:
                self.widgets[field] = by_label[ref]
            else:
                near = difflib.get_close_matches(ref, list(by_label), n=1, cutoff=0.3)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ImportFailed(SOURCE, "widget/list", f"form {self.entry_id} has no widget "
                                   f"{ref!r} for {field} (renamed or removed?); its widgets are "
                                   f"{', '.join(by_label)}{hint}")
        return self.widgets

    def list(self, data_id: str | None, since: str | None, limit: int,
             where: str) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"app_id": self.app_id, "entry_id": self.entry_id,
                                   "limit": limit,
                                   "fields": sorted(set(self.widgets.values()) |
                                                    {"createTime", "updateTime"})}
        if data_id:
            payload["data_id"] = data_id
        if since:
            payload["filter"] = {"rel": "and", "cond": [{
                "field": "updateTime", "type": "datetime", "method": "range",
                "value": [since, None]}]}
        body = self.http.json("POST", "/api/v5/app/entry/data/list", where, json=payload)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ImportFailed(SOURCE, where, "the answer has no 'data' list")
        return data

    def read(self, start: Start) -> Iterator[Chunk]:
        self.resolve()
        pos = dict(start.position or {})
        newest = pos.get("max")
        if start.resumed:
            since, data_id = pos.get("since"), pos.get("data_id")
        else:
            since = shift(newest, start.overlap.total_seconds(), ISO) if (
                newest and start.mode == "incremental") else None
            data_id = None
        page = 0
        while True:
            page += 1
            where = f"data/list page {page}" + (f" (after data_id {data_id})" if data_id else "")
            rows = self.list(data_id, since, 100, where)
            out: list[Record] = []
            for row in rows:
                if row.get("updateTime") and (newest is None or row["updateTime"] > newest):
                    newest = row["updateTime"]
                try:
                    out.append(self.record(row))
                except BadValue as exc:
                    shown = {f: row.get(w) for f, w in self.widgets.items()}
                    out.append(bad_row(f"{where}, _id {row.get('_id')}", BadValue(
                        f"{exc.column} ({self.widgets.get(exc.column, exc.column)})",
                        exc.reason), {"_id": row.get("_id"), **shown}))
            if rows:
                data_id = rows[-1]["_id"]
            yield Chunk(out, where, {"since": since, "data_id": data_id, "max": newest})
            if len(rows) < 100:
                return

    def value(self, row: dict[str, Any], field: str) -> Any:
        widget = self.widgets.get(field)
        return row.get(widget) if widget else None

    def record(self, row: dict[str, Any]) -> Record:
        get = lambda f: self.value(row, f)  # noqa: E731
        if self.kind == "items":
            return SkuRecord(code=text(get("sku"), "sku"), name=get("name") or None,
                             category=get("category") or None, unit=get("unit") or None)
        if self.kind == "stock":
            updated = parse_local(row.get("updateTime"), UTC, "updateTime")
            return StockSnapshot(
                sku=text(get("sku"), "sku"), warehouse=text(get("warehouse"), "warehouse"),
                on_hand=number(get("on_hand"), "on_hand") or 0.0,
                reserved=number(get("reserved"), "reserved", required=False),
                on_order=number(get("on_order"), "on_order", required=False), as_of=updated,
                id=f"jdy:{self.entry_id}:{row['_id']}:{row.get('updateTime')}")
        kind_raw = get("type") if "type" in self.widgets else "sale"
        kind = TYPES.get(str(kind_raw or "").strip().lower()) or TYPES.get(str(kind_raw).strip())
        if not kind:
            raise BadValue("type", f"{kind_raw!r} is no movement type ({', '.join(TYPES)})")
        qty = number(get("qty"), "qty") or 0.0
        at = get("date") or row.get("createTime")
        return StockMove(
            id=f"jdy:{self.entry_id}:{row['_id']}", type=kind, sku=text(get("sku"), "sku"),
            warehouse=text(get("warehouse"), "warehouse"), qty=qty,
            at=parse_local(at, UTC, "date") if at else datetime.now(UTC),
            ref=get("ref") or None,
            to_warehouse=text(get("to_warehouse"), "to_warehouse") if kind == "transfer" else None)
