"""Issue #19 end to end through the REST API, with numbers derived by hand.

Supplier P: lead time 5 d, σLT 0, MOQ 1, pack 1. Settings: demand window 28 d, review 7 d.

Transfers before buying (S1, group ``regular``, service level 0.95): WH-SH sells 10 a day for
28 days (d = 10, σd = 0: reorder point 10·5 = 50, max stock 50 + 10·7 = 120); WH-BJ sells 2 a
day (reorder point 10, max stock 24) and holds 60 — above its max stock, a surplus; WH-GZ holds
1000 with no demand but is in the south, not an allowed region. A sale at WH-SH leaves 45 < 50:
the need is 120 − 45 = 75; WH-BJ may give 49 (leaving 11 > 10): a transfer of 49 is proposed
first, and the requisition orders up to max stock counting it: 120 − (45 + 49) = 26.

Group rule (fast movers F1–F7, service level 0.5: z = 0, reorder point = d·5): each sold 10 a
day for 28 days. F1–F5 hold 30, F6 and F7 55. On the day of the test, a member with no sale yet
has d = 270/28 (reorder point 48.2), one that sold 10 has d = 10 (reorder point 50): F6's sale
leaves 45 < 50, the sixth below → one alert "more than 5 below"; F7's sale, the seventh → a hit
on that alert, no second one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.storage.tables import alerts, requisitions, stock_levels, tasks, transfers
from tests.conftest import _token

RULESET = """
ruleset: supply
settings: {demand_window_days: 28, review_period_days: 7, service_level: 0.95, timezone: UTC}
sku_groups:
  - {id: regular, where: {"==": [{"var": "sku.abc_class"}, "B"]}}
  - id: fast
    where: {"==": [{"var": "sku.abc_class"}, "A"]}
    params: {service_level: 0.5}
roles:
  - {id: buyer, name: 采购员, members: [alice]}
  - {id: store-bj, name: 北京仓管, members: [bob]}
workflows:
  - id: review
    states: [open, done]
    transitions: [{id: done, from: [open], to: done, roles: [buyer]}]
rules:
  - id: low
    group: regular
    on: [sale]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions:
      - suggest_transfer: {regions: [north], ship: store-bj}
      - create_requisition: {quantity: order_up_to}
  - id: many-fast-low
    name: 畅销品多个低于再订货点
    group: fast
    per: group_warehouse
    on: [sale]
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
    owner: buyer
    actions:
      - create_task: {title: "{{ group.below_reorder_point }} fast movers low", workflow: review}
"""
START = date(2026, 10, 23)
TODAY = date(2026, 11, 20)


def ev(eid: str, type_: str, sku: str, wh: str, day: date, qty: float, hour: int = 1,
       **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": type_, "sku": sku, "warehouse": wh, "qty": qty,
            "at": f"{day.isoformat()}T{hour:02d}:00:00+00:00", **extra}


def setup(client, h) -> None:  # type: ignore[no-untyped-def]
    assert client.put("/api/v1/warehouses", headers=h, json=[
        {"code": "WH-SH", "name": "上海仓", "region": "east"},
        {"code": "WH-BJ", "name": "北京仓", "region": "north"},
        {"code": "WH-GZ", "name": "广州仓", "region": "south"}]).status_code == 200
    assert client.put("/api/v1/suppliers", headers=h, json=[
        {"code": "P", "name": "P", "lead_time_days": 5, "lead_time_std_days": 0, "moq": 1,
         "pack_size": 1}]).status_code == 200
    link = [{"supplier": "P", "preferred": True, "price": 2}]
    items = [{"code": "S1", "name": "regular", "abc_class": "B", "unit_cost": 2,
              "suppliers": link}]
    items += [{"code": f"F{i}", "name": f"fast {i}", "abc_class": "A", "unit_cost": 2,
               "suppliers": link} for i in range(1, 8)]
    assert client.put("/api/v1/skus", headers=h, json=items).status_code == 200
    r = client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml", headers=h)
    assert r.status_code == 200, r.json


def history() -> list[dict[str, Any]]:
    days = [START + timedelta(days=i) for i in range(28)]  # 10-23 … 11-19
    out = [ev("c-s1-sh", "count", "S1", "WH-SH", START, 55 + 280, hour=0),
           ev("c-s1-bj", "count", "S1", "WH-BJ", START, 60 + 56, hour=0),
           ev("c-s1-gz", "count", "S1", "WH-GZ", START, 1000, hour=0)]
    out += [ev(f"s1-sh-{d}", "sale", "S1", "WH-SH", d, 10) for d in days]
    # WH-BJ's 28 days end today (before the test's sale): d = 2 today
    out += [ev(f"s1-bj-{d}", "sale", "S1", "WH-BJ", d + timedelta(days=1), 2) for d in days]
    for i in range(1, 8):
        out.append(ev(f"c-f{i}", "count", f"F{i}", "WH-SH", START, (30 if i <= 5 else 55) + 280,
                      hour=0))
        out += [ev(f"f{i}-{d}", "sale", f"F{i}", "WH-SH", d, 10) for d in days]
    return out


def count(services, table, *where) -> int:  # type: ignore[no-untyped-def]
    with services.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def level(services, sku: str, wh: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from engine.storage.tables import skus, warehouses
    with services.db.connect() as conn:
        row = conn.execute(select(stock_levels.c.on_hand, stock_levels.c.reserved)
                           .join(skus, skus.c.id == stock_levels.c.sku_id)
                           .join(warehouses, warehouses.c.id == stock_levels.c.warehouse_id)
                           .where(skus.c.code == sku, warehouses.c.code == wh)).one()
    return row.on_hand, row.reserved


def test_a_surplus_is_transferred_before_buying_and_a_group_rule_fires_once(
        client, admin_headers, services, runner):
    h = admin_headers
    setup(client, h)
    r = client.post("/api/v1/events", json=history(), headers=h)
    assert r.status_code == 200 and r.json["rejected"] == 0, r.json
    assert count(services, alerts) == 0  # nothing breached while the history filled

    # -- transfers before buying --------------------------------------------------------------
    # one batch opens a SKU's alert (S1) and a group's (F6 is the sixth fast mover below)
    r = client.post("/api/v1/events", headers=h, json=[
        ev("trigger", "sale", "S1", "WH-SH", TODAY, 10, hour=7),
        ev("f6-today", "sale", "F6", "WH-SH", TODAY, 10, hour=7)])
    assert r.json["accepted"] == 2, r.json
    listed = client.get("/api/v1/transfers", headers=h).json
    assert listed["total"] == 1
    [t] = listed["items"]
    assert (t["from_warehouse"], t["to_warehouse"], t["quantity"], t["state"]) == (
        "WH-BJ", "WH-SH", 49, "requested")
    assert t["explanation"]["need"] == 75 and t["explanation"]["source_left"] == 11
    with services.db.connect() as conn:
        req = conn.execute(select(requisitions)).one()
    assert req.quantity == 26  # 120 − (45 + 49), not 75
    assert req.reason.endswith("; less 49 coming by open transfers")

    from tests.admin.web_seed import login
    login(client, "root")  # "root" is the admin_headers' user; its password is the seed's
    page = client.get(f"/alerts/{t['alert']}").get_data(as_text=True)
    assert f"/transfers/{t['id']}" in page
    page = client.get(f"/requisitions/{req.id}").get_data(as_text=True)
    assert "在途调拨将带来 49，不再重复订购。" in page
    alice = {"Authorization": f"Bearer {_token(runner, 'alice', False)}"}
    bob = {"Authorization": f"Bearer {_token(runner, 'bob', False)}"}
    path = f"/api/v1/transfers/{t['id']}"
    assert client.get(path, headers=bob).json["transitions"] == ["ship", "cancel"]
    # the buyer at WH-SH may not ship WH-BJ's stock
    r = client.post(f"{path}/transitions", json={"transition": "ship"}, headers=alice)
    assert r.status_code == 403, r.json
    r = client.post(f"{path}/transitions", json={"transition": "ship"}, headers=bob)
    assert r.status_code == 200 and r.json["state"] == "shipped", r.json
    assert level(services, "S1", "WH-BJ") == (60, 49)  # reserved at the source
    r = client.post(f"{path}/transitions", json={"transition": "receive"}, headers=bob)
    assert r.status_code == 403  # receiving is the destination's
    r = client.post(f"{path}/transitions", json={"transition": "receive"}, headers=alice)
    assert r.status_code == 200 and r.json["state"] == "received", r.json
    assert [e["transition"] for e in r.json["history"]] == ["request", "ship", "receive"]
    assert level(services, "S1", "WH-BJ") == (11, 0)
    assert level(services, "S1", "WH-SH") == (45 + 49, 0)

    # -- bad input: nothing half-applied ------------------------------------------------------
    same = {"sku": "S1", "from_warehouse": "WH-SH", "to_warehouse": "WH-SH", "quantity": 5}
    r = client.post("/api/v1/transfers", json=same, headers=h)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "to_warehouse", r.json
    too_much = dict(same, from_warehouse="WH-BJ", quantity=12)
    r = client.post("/api/v1/transfers", json=too_much, headers=h)
    assert r.status_code == 422, r.json
    assert "below zero" in r.json["errors"][0]["message"]
    assert count(services, transfers) == 1

    # -- a group rule alerts once per group×warehouse -----------------------------------------
    group_alerts = alerts.c.rule == "many-fast-low"
    assert count(services, alerts, group_alerts) == 1
    client.post("/api/v1/events", headers=h, json=[
        ev("f7-today", "sale", "F7", "WH-SH", TODAY, 10, hour=7)])
    assert count(services, alerts, group_alerts) == 1
    with services.db.connect() as conn:
        alert = conn.execute(select(alerts).where(group_alerts)).one()
    assert (alert.scope_key, alert.hits, alert.state) == ("fast", 2, "open")
    assert alert.facts["group"]["below_reorder_point"] == 6
    assert alert.facts["group"]["skus"] == 7
    with services.db.connect() as conn:
        [task] = conn.execute(select(tasks).where(tasks.c.alert_id == alert.id)).all()
    assert task.title == "6 fast movers low"


def test_validation_warns_of_a_group_rule_whose_group_holds_no_sku(client, admin_headers):
    setup(client, admin_headers)
    text = RULESET.replace('"A"]}', '"Z"]}')  # no SKU is of class Z
    r = client.post("/api/v1/ruleset/validate", data=text, content_type="application/yaml",
                    headers=admin_headers)
    assert r.status_code == 200 and r.json["valid"], r.json
    [warning] = [w for w in r.json["warnings"] if w["code"] == "empty_group"]
    assert warning["path"] == "rules[1].per" and "holds no SKU" in warning["message"]
    r = client.post("/api/v1/ruleset/validate", data=RULESET, content_type="application/yaml",
                    headers=admin_headers)
    assert r.status_code == 200 and not [w for w in r.json["warnings"]
                                         if w["code"] == "empty_group"]


def test_a_group_rule_with_a_requisition_is_refused_with_its_place(client, admin_headers):
    setup(client, admin_headers)
    text = RULESET.replace("      - create_task: {title: \"{{ group.below_reorder_point }} fast",
                           "      - create_requisition: {}\n      - create_task: {title: \"{{ "
                           "group.below_reorder_point }} fast")
    r = client.put("/api/v1/ruleset", data=text, content_type="application/yaml",
                   headers=admin_headers)
    assert r.status_code == 422
    assert [e["path"] for e in r.json["errors"]] == ["rules[1].actions[0].create_requisition"]


def test_the_daily_run_evaluates_a_group_rule_once_per_group_and_warehouse(
        client, admin_headers, services):
    from engine.services import daily

    setup(client, admin_headers)
    low = '{"var": "group.below_reorder_point"}, 5]}'
    text = RULESET.replace('on: [sale]\n    when: {">": [' + low,
                           'on: [daily]\n    when: {">=": [' + low)
    assert "on: [daily]" in text
    r = client.put("/api/v1/ruleset", data=text, content_type="application/yaml",
                   headers=admin_headers)
    assert r.status_code == 200, r.json
    assert client.post("/api/v1/events", json=history(), headers=admin_headers).json[
        "rejected"] == 0
    group_alerts = alerts.c.rule == "many-fast-low"
    assert count(services, alerts, group_alerts) == 0  # on: [daily] only
    for _ in range(2):  # F1–F5 below (30 < 48.2): five, once for WH-SH; again: a hit
        with services.uow() as uow:
            uow.transaction()
            daily.run(uow.conn, services.cache.current(uow.conn), services.clock.now())
            uow.commit()
    with services.db.connect() as conn:
        [alert] = conn.execute(select(alerts).where(group_alerts)).all()
    assert (alert.scope_key, alert.hits, alert.facts["group"]["below_reorder_point"]) == (
        "fast", 2, 5)


def test_the_database_keeps_one_open_alert_per_group_rule_and_warehouse(services):
    from datetime import UTC, datetime

    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from engine.storage.tables import skus, warehouses

    at = datetime(2026, 11, 20, tzinfo=UTC)
    row = dict(rule="g", rule_version=1, warehouse_id=1, severity="high", state="open",
               opened_at=at, last_hit_at=at, facts={}, scope_key="fast")
    with services.db.begin() as conn:
        conn.execute(insert(warehouses), {"code": "W", "name": "w", "updated_at": at})
        conn.execute(insert(skus), [{"code": f"S{i}", "name": "s", "tags": [], "attributes": {},
                                     "updated_at": at} for i in (1, 2)])
        conn.execute(insert(alerts), dict(row, sku_id=1))
        conn.execute(insert(alerts), dict(row, sku_id=2, scope_key="other"))  # another group
    with pytest.raises(IntegrityError), services.db.begin() as conn:
        conn.execute(insert(alerts), dict(row, sku_id=2))  # the same group, another SKU


def test_a_group_alert_opened_and_resolved_in_one_batch_keeps_its_group(
        client, admin_headers, services):
    setup(client, admin_headers)
    assert client.post("/api/v1/events", json=history(), headers=admin_headers).json[
        "rejected"] == 0
    r = client.post("/api/v1/events", headers=admin_headers, json=[
        ev("f6-today", "sale", "F6", "WH-SH", TODAY, 10, hour=7),  # the sixth below: opens
        ev("f1-receipt", "receipt", "F1", "WH-SH", TODAY, 100, hour=7, ref="PO-F1")])  # five
    assert r.json["accepted"] == 2, r.json
    with services.db.connect() as conn:
        [alert] = conn.execute(select(alerts).where(alerts.c.rule == "many-fast-low")).all()
        [task] = conn.execute(select(tasks).where(tasks.c.alert_id == alert.id)).all()
    assert (alert.state, alert.scope_key, alert.resolution) == ("resolved", "fast", "auto")
    assert task.title == "6 fast movers low"
