"""The state the page tests start from, built the public way: users by the CLI, master data and a
ruleset PUT through the REST API, then stock events POSTed, which raise the tasks and
requisitions under test. Used by the Flask-client page tests and by the browser tests.

After ``events(now)``: SKU-1@WH-1 has 30 days of sales and ends at 13 available (low stock:
a task for the buyer and a requisition of 100 × 2.00 = 200 waiting for the purchasing
manager); SKU-2@WH-1 is out of stock (a critical task, and a requisition of 50 that needs no
approval); SKU-3@WH-1 is quiet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

PASSWORD = "{}-password-1"
USERS = [("root", True), ("alice", False), ("carol", False), ("dave", False)]

RULESET = """\
# The page tests' rule document: alice buys, carol approves above 100, dave sells.
ruleset: web-test
settings: {timezone: Asia/Shanghai, service_level: 0.95, review_period_days: 7}
sku_groups:
  - {id: cheap, name: 便宜货, where: {"<": [{"var": ["sku.unit_cost", 0]}, 1]}}
roles:
  - {id: buyer, name: 采购员, members: [alice]}
  - {id: purchasing-manager, name: 采购经理, members: [carol]}
  - {id: sales, name: 销售, members: [dave]}
workflows:
  - id: replenishment
    name: 补货处理
    states: [open, in_progress, done, cancelled]
    initial: open
    transitions:
      - {id: start, label: 开始处理, from: [open], to: in_progress, roles: [buyer]}
      - id: resolve
        label: 完成
        from: [open, in_progress]
        to: done
        roles: [buyer]
        form:
          - {name: outcome, label: 处理结果, type: select, required: true,
             options: [{value: replenished, label: {zh: 已补货, en: Replenished}},
                       {value: transferred, label: {zh: 已调拨, en: Transferred}}, false_alarm]}
          - {name: quantity, label: 数量, type: number, min: 0}
          - {name: eta, label: 预计到货日期, type: date}
          - {name: confirmed, label: 已与供应商确认, type: boolean}
          - {name: note, label: 备注, type: textarea, max_length: 200}
      - {id: cancel, label: 取消, from: [open, in_progress], to: cancelled,
         roles: [purchasing-manager]}
rules:
  - id: low-stock
    name: 库存偏低
    when: {"<": [{"var": "stock.available"}, 20]}
    severity: high
    owner: buyer
    actions:
      - create_task: {title: "补货 {{ sku.code }} @ {{ warehouse.code }}",
                      workflow: replenishment, due: 4h}
      - create_requisition: {quantity: {fixed: 100}, supplier: preferred,
                             approval: [{above: 100, role: purchasing-manager}]}
  - id: out-of-stock
    name: 缺货
    when: {"<=": [{"var": "stock.available"}, 0]}
    severity: critical
    owner: buyer
    actions:
      - create_task: {title: "缺货 {{ sku.code }}", workflow: replenishment, due: 1h}
"""

MASTER_DATA = {
    "/api/v1/suppliers": [{"code": "SUP-1", "name": "华东供应 East Supply", "lead_time_days": 4,
                           "lead_time_std_days": 1}],
    "/api/v1/warehouses": [{"code": "WH-1", "name": "上海仓", "region": "east"}],
    "/api/v1/skus": [
        {"code": "SKU-1", "name": "绿茶 Green tea", "unit_cost": 2,
         "suppliers": [{"supplier": "SUP-1", "preferred": True, "price": 2}]},
        {"code": "SKU-2", "name": "薯片 Potato chips", "unit_cost": 0.5,
         "suppliers": [{"supplier": "SUP-1", "preferred": True, "price": 0.5}]},
        {"code": "SKU-3", "name": "纸巾 Tissues", "unit_cost": 3},
    ],
}


def events(now: datetime) -> list[dict[str, Any]]:
    """The stock events, dated before ``now`` (the app's clock)."""

    def ev(key: str, kind: str, sku: str, qty: float, at: datetime) -> dict[str, Any]:
        return {"id": f"web-{key}", "type": kind, "sku": sku, "warehouse": "WH-1", "qty": qty,
                "at": at.isoformat()}

    out = [ev("c1", "count", "SKU-1", 300, now - timedelta(days=30)),
           ev("c3", "count", "SKU-3", 50, now - timedelta(days=30))]
    for day in range(29, 0, -1):
        out.append(ev(f"s1-{day}", "sale", "SKU-1", 8, now - timedelta(days=day)))
    out += [
        ev("s1-last", "sale", "SKU-1", 55, now - timedelta(hours=1)),  # 300 - 232 - 55 = 13
        ev("r2", "receipt", "SKU-2", 20, now - timedelta(hours=3)),
        ev("s2", "sale", "SKU-2", 20, now - timedelta(hours=2)),  # 0: low and out of stock
    ]
    return out


def create_users(invoke: Callable[[list[str]], str]) -> str:
    """The users through the CLI (``invoke(args) -> output``); the admin's API token."""
    for name, admin in USERS:
        invoke(["users", "create", name, "--password", PASSWORD.format(name)]
               + (["--admin"] if admin else []))
    return invoke(["tokens", "create", "root"]).strip().splitlines()[-1]


def seed(request: Callable[[str, str, Any, str], tuple[int, Any]], now: datetime) -> None:
    """Master data, the ruleset and the events through ``request(method, path, body, type)``."""
    for path, body in MASTER_DATA.items():
        status, answer = request("PUT", path, body, "application/json")
        assert status == 200, answer
    status, answer = request("PUT", "/api/v1/ruleset", RULESET, "application/yaml")
    assert status == 200, answer
    batch = events(now)
    status, answer = request("POST", "/api/v1/events", batch, "application/json")
    assert status == 200 and answer["accepted"] == len(batch), answer


def seed_with_client(client: Any, runner: Any, now: datetime) -> None:
    """``seed`` through Flask's test client and CLI runner."""

    def invoke(args: list[str]) -> str:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        return str(result.output)

    headers = {"Authorization": f"Bearer {create_users(invoke)}"}

    def request(method: str, path: str, body: Any, content_type: str) -> tuple[int, Any]:
        kwargs: dict[str, Any] = (
            {"json": body} if content_type == "application/json"
            else {"data": body, "content_type": content_type})
        answer = client.open(path, method=method, headers=headers, **kwargs)
        return answer.status_code, answer.json

    seed(request, now)


# -- the Flask test client as a browser -------------------------------------------------------
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: Any) -> str:
    """The CSRF token of a rendered page (a test client response)."""
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(client: Any, name: str, password: str | None = None) -> Any:
    """Sign in through the login form; the answer to the POST."""
    token = csrf_token(client.get("/login"))
    return client.post("/login", data={"username": name, "csrf_token": token,
                                       "password": password or PASSWORD.format(name)})


def post_form(client: Any, page_path: str, action: str, data: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
    """POST ``data`` to ``action`` with the CSRF token of the page at ``page_path``."""
    token = csrf_token(client.get(page_path))
    return client.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)


def task_id(services: Any, title: str) -> int:
    """The id of the task called ``title`` (titles are unique in the seeded state)."""
    from engine.services import queries

    with services.uow() as uow:
        _, items = queries.list_tasks(uow.conn, {}, 100)
    return next(int(t["id"]) for t in items if t["title"] == title)


def requisition_id(services: Any, sku: str) -> int:
    from engine.services import queries

    with services.uow() as uow:
        _, items = queries.list_requisitions(uow.conn, {"sku": sku}, 10)
    (item,) = items
    return int(item["id"])
