"""A fake Jiandaoyun open API v5 on 127.0.0.1: ``POST /api/v5/app/entry/widget/list`` and
``POST /api/v5/app/entry/data/list`` (``Authorization: Bearer <key>``; results always in
``_id`` order; ``data_id`` = start after that id; ``limit`` 1–100; ``fields``; ``filter`` with
``rel``/``cond`` and the ``eq``/``range``/``in`` methods), errors as ``{"code", "msg"}``, and
HTTP 429 when asked to (the 30 requests/s rate limit)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.plugins.importers.fakes.httpfake import Answer, HttpFake, Request

APP, ENTRY = "59264073a2a60c0c08e20bfb", "59264073a2a60c0c08e20bfd"
WIDGETS = [
    {"name": "_widget_1432728651402", "label": "商品编码", "type": "text"},
    {"name": "_widget_1432728651403", "label": "仓库", "type": "combo"},
    {"name": "_widget_1432728651404", "label": "数量", "type": "number"},
    {"name": "_widget_1432728651405", "label": "类型", "type": "combo"},
    {"name": "_widget_1432728651406", "label": "日期", "type": "datetime"},
]


class FakeJiandaoyun(HttpFake):
    def __init__(self, key: str = "jdy-key") -> None:
        super().__init__()
        self.key = key
        self.widgets = [dict(w) for w in WIDGETS]
        self.data: list[dict[str, Any]] = []
        self.clock = datetime(2024, 5, 20, 3, 0, 0)
        self.too_many: set[int] = set()  # answer 429 to these data/list calls (1-based)
        self.fail: dict[int, str] = {}  # data/list call -> 500 message
        self.lists = 0

    def stamp(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + "293Z"

    def add(self, **widgets: Any) -> dict[str, Any]:
        now = self.stamp()
        row = {"_id": f"59e9a2fe283ffa7c{len(self.data) + 1:08x}", "appId": APP, "entryId": ENTRY,
               "creator": {"name": "张三"}, "createTime": now, "updateTime": now, **widgets}
        self.data.append(row)
        return row

    def update(self, row: dict[str, Any], **widgets: Any) -> None:
        row.update(widgets, updateTime=self.stamp())

    def handle(self, req: Request) -> Answer:
        if req.method != "POST":
            return Answer(405, {"code": 405, "msg": "Method Not Allowed"})
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Answer(401, {"code": 8301, "msg": "Invalid API Key"})
        body = req.json() or {}
        if (body.get("app_id"), body.get("entry_id")) != (APP, ENTRY):
            return Answer(400, {"code": 3005, "msg": "The form does not exist."})
        if req.path == "/api/v5/app/entry/widget/list":
            return Answer(200, {"widgets": self.widgets, "sysWidgets": [], "dataModifyTime":
                                self.clock.isoformat()})
        if req.path != "/api/v5/app/entry/data/list":
            return Answer(404, {"code": 404, "msg": "Not Found"})
        self.lists += 1
        if self.lists in self.too_many:
            return Answer(429, {"code": 8303, "msg": "The API request exceeds the rate limit."})
        if self.lists in self.fail:
            return Answer(500, {"code": 5000, "msg": self.fail.pop(self.lists)})
        limit = body.get("limit", 10)
        if not 1 <= limit <= 100:
            return Answer(400, {"code": 4000, "msg": "limit must be between 1 and 100"})
        rows = sorted(self.data, key=lambda r: r["_id"])
        if body.get("data_id"):
            rows = [r for r in rows if r["_id"] > body["data_id"]]
        flt = body.get("filter") or {}
        tests = [_cond(c) for c in flt.get("cond", [])]
        if tests:
            join = any if flt.get("rel") == "or" else all
            rows = [r for r in rows if join(t(r) for t in tests)]
        fields = body.get("fields")
        keep = set(fields) | {"_id", "appId", "entryId"} if fields else None
        return Answer(200, {"data": [{k: v for k, v in r.items() if keep is None or k in keep}
                                     for r in rows[:limit]]})


def _cond(cond: dict[str, Any]) -> Any:
    field, method, value = cond["field"], cond["method"], cond.get("value")

    def test(row: dict[str, Any]) -> bool:
        v = row.get(field)
        if method == "eq":
            return v == (value[0] if isinstance(value, list) else value)
        if method == "in":
            return v in value
        if method == "range":
            low, high = (value + [None, None])[:2]
            return v is not None and (low is None or v >= low) and (high is None or v <= high)
        raise AssertionError(f"the fake has no method {method}")

    return test


def seed(fake: FakeJiandaoyun, moves: int = 230) -> None:
    """``moves`` rows of an outbound/inbound form, three pages at 100 a page."""
    for i in range(moves):
        fake.add(_widget_1432728651402=f"SKU-{i % 7:04d}", _widget_1432728651403="上海仓",
                 _widget_1432728651404=i % 5 + 1,
                 _widget_1432728651405="入库" if i % 10 == 0 else "出库",
                 _widget_1432728651406=f"2024-05-{1 + i % 28:02d}T02:00:00.000Z")
