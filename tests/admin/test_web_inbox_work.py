"""The inbox as a work list (issue #18): search, filters in the URL, claim and assign, one form
for a selection, the tasks of one SKU×warehouse handled together, and on to the next task."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from engine.services import queries
from tests.admin.web_seed import csrf_token, login, post_form, seed_with_client, task_id

LOW_1, LOW_2, OUT_2 = "补货 SKU-1 @ WH-1", "补货 SKU-2 @ WH-1", "缺货 SKU-2"


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def titles(page: Any) -> list[str]:
    return re.findall(r'class="task-link">([^<]+)<', page.get_data(as_text=True))


def task(services: Any, title: str) -> dict[str, Any]:
    with services.uow() as uow:
        return queries.load_task(uow.conn, task_id(services, title))


def bulk(client: Any, pairs: list[tuple[str, str]]) -> Any:
    token = csrf_token(client.get("/tasks"))
    return client.post("/tasks/bulk", data=MultiDict([("csrf_token", token), *pairs]))


def test_search_by_sku_code_or_name_and_filters_stay_in_the_address(seeded) -> None:
    login(seeded, "alice")
    assert titles(seeded.get("/tasks?q=SKU-1&each=1")) == [LOW_1]
    assert titles(seeded.get("/tasks?q=薯片&each=1")) == [OUT_2, LOW_2]  # by name
    assert titles(seeded.get("/tasks?q=potato&each=1")) == [OUT_2, LOW_2]  # any case
    assert titles(seeded.get("/tasks?q=100%25")) == []  # a '%' is a character, not a wildcard
    assert titles(seeded.get("/tasks?severity=critical")) == [OUT_2]
    assert titles(seeded.get("/tasks?rule=low-stock&each=1")) == [LOW_2, LOW_1]
    assert titles(seeded.get("/tasks?warehouse=WH-9")) == []
    assert titles(seeded.get("/tasks?group=cheap&each=1")) == [OUT_2, LOW_2]  # SKU-2 costs 0.5
    assert titles(seeded.get("/tasks?overdue=1")) == [OUT_2]
    assert titles(seeded.get("/tasks?sort=sku&each=1")) == [LOW_1, OUT_2, LOW_2]
    html = seeded.get("/tasks?q=SKU-1&severity=high").get_data(as_text=True)
    # the task link carries the list it came from, for "go on to the next"
    assert re.search(r'href="/tasks/\d+\?inbox=q%3DSKU-1%26severity%3Dhigh"', html)


def test_claim_assign_and_release_are_recorded_and_checked(seeded, services) -> None:
    login(seeded, "alice")
    low = task_id(services, LOW_1)
    answer = post_form(seeded, f"/tasks/{low}", f"/tasks/{low}/assignee", {"action": "claim"})
    assert answer.status_code == 303
    assert task(services, LOW_1)["assignee"] == "alice"
    assert titles(seeded.get("/tasks?assignee=me")) == [LOW_1]
    assert titles(seeded.get("/tasks?assignee=-&each=1")) == [OUT_2, LOW_2]
    post_form(seeded, f"/tasks/{low}", f"/tasks/{low}/assignee",
              {"action": "assign", "assignee": "carol"})  # carol is no buyer
    page = seeded.get(f"/tasks/{low}").get_data(as_text=True)
    assert "carol 不是角色 采购员 的成员。" in page
    assert task(services, LOW_1)["assignee"] == "alice"
    post_form(seeded, f"/tasks/{low}", f"/tasks/{low}/assignee", {"action": "release"})
    assert task(services, LOW_1)["assignee"] is None
    html = seeded.get(f"/tasks/{low}").get_data(as_text=True)
    assert "已认领</strong> · alice" in html and "已释放</strong> · alice" in html


def test_a_claim_does_not_take_a_task_from_someone_else(seeded, services) -> None:
    from engine.services import assignment

    login(seeded, "alice")
    low = task_id(services, LOW_1)
    with services.uow() as uow:  # an admin gave it to dave (say he was a buyer then)
        assignment.assign(uow.conn, low, "dave", ["alice", "dave"], "root", (), True,
                          services.clock.now())
        uow.commit()
    answer = post_form(seeded, f"/tasks/{low}", f"/tasks/{low}/assignee", {"action": "claim"})
    assert answer.status_code == 303
    assert "此待办已由 dave 认领。" in seeded.get(f"/tasks/{low}").get_data(as_text=True)
    assert task(services, LOW_1)["assignee"] == "dave"


def test_bulk_claim_then_one_form_resolves_the_selection_and_lands_on_the_next(
        seeded, services) -> None:
    login(seeded, "alice")
    out, low2, low1 = (task_id(services, t) for t in (OUT_2, LOW_2, LOW_1))
    answer = bulk(seeded, [("ids", str(out)), ("ids", str(low1)), ("action", "claim"),
                           ("inbox", "sort=sku")])
    assert (answer.status_code, answer.headers["Location"]) == (303, "/tasks?sort=sku")
    assert [task(services, t)["assignee"] for t in (OUT_2, LOW_1, LOW_2)] == ["alice", "alice",
                                                                               None]
    # the transition has a form: asked once for the whole selection, with the linked task
    form = bulk(seeded, [("ids", str(out)), ("action", "transition:resolve"), ("linked", "1")])
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "完成：2 个待办" in html
    assert f'name="ids" value="{low2}"' in html  # SKU-2's other task comes along
    refused = bulk(seeded, [("ids", str(out)), ("ids", str(low2)), ("action",
                            "transition:resolve"), ("confirm", "1"), ("inbox", "each=1")])
    assert refused.status_code == 422 and "此项为必填项。" in refused.get_data(as_text=True)
    assert not task(services, OUT_2)["closed"]  # nothing half-applied
    done = bulk(seeded, [("ids", str(out)), ("ids", str(low2)), ("action", "transition:resolve"),
                         ("confirm", "1"), ("f-outcome", "replenished"), ("inbox", "each=1")])
    assert (done.status_code, done.headers["Location"]) == (303, f"/tasks/{low1}?inbox=each%3D1")
    assert task(services, OUT_2)["state"] == task(services, LOW_2)["state"] == "done"
    assert task(services, OUT_2)["data"] == {"outcome": "replenished", "confirmed": False}


def test_a_bulk_step_someone_may_not_take_changes_nothing(seeded, services) -> None:
    login(seeded, "alice")
    out, low1 = task_id(services, OUT_2), task_id(services, LOW_1)
    answer = bulk(seeded, [("ids", str(out)), ("ids", str(low1)), ("action", "transition:cancel"),
                           ("inbox", "")])  # cancel belongs to the purchasing manager
    assert answer.status_code == 303
    html = seeded.get("/tasks").get_data(as_text=True)
    assert "未做任何更改" in html and "只有角色 采购经理 的成员可以执行此操作。" in html
    assert task(services, OUT_2)["state"] == task(services, LOW_1)["state"] == "open"


def test_the_task_form_takes_the_linked_task_along(seeded, services) -> None:
    login(seeded, "alice")
    low2, out = task_id(services, LOW_2), task_id(services, OUT_2)
    page = seeded.get(f"/tasks/{low2}").get_data(as_text=True)
    assert f"同时处理此 SKU × 仓库的其他 1 个未完成待办（#{out}）" in page
    answer = post_form(seeded, f"/tasks/{low2}", f"/tasks/{low2}/transitions/resolve",
                       {"outcome": "transferred", "linked": "1"})
    assert answer.status_code == 303
    assert task(services, OUT_2)["state"] == task(services, LOW_2)["state"] == "done"


def test_a_task_links_its_alert_and_requisition_shows_now_and_reads_answers_by_label(
        seeded, services, runner, clock) -> None:
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    sale = {"id": "web-later", "type": "sale", "sku": "SKU-1", "warehouse": "WH-1", "qty": 3,
            "at": clock.now().isoformat()}
    answer = seeded.post("/api/v1/events", json=[sale],
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json["accepted"] == 1
    login(seeded, "alice")
    low = task_id(services, LOW_1)
    html = seeded.get(f"/tasks/{low}").get_data(as_text=True)
    alert = re.search(r'href="/alerts/(\d+)" id="alert-link"', html)
    assert alert and re.search(r'href="/requisitions/\d+" class="requisition-link"', html)
    # the alert saw 13 available; a sale of 3 since: 10 now
    assert re.search(r"可用库存</th><td class=\"num\">13</td><td class=\"num\"><strong>10<", html)
    alert_page = seeded.get(f"/alerts/{alert.group(1)}").get_data(as_text=True)
    assert "库存偏低" in alert_page and "补货 SKU-1 @ WH-1" in alert_page
    # the form offers the options by their labels in the viewer's language
    assert '<option value="replenished">已补货</option>' in html
    english = seeded.get(f"/tasks/{low}", headers={"Accept-Language": "en"})
    assert '<option value="replenished">Replenished</option>' in english.get_data(as_text=True)
    post_form(seeded, f"/tasks/{low}", f"/tasks/{low}/transitions/resolve",
              {"outcome": "transferred"})
    done = seeded.get(f"/tasks/{low}").get_data(as_text=True)
    assert "<dt>处理结果</dt><dd>已调拨</dd>" in done
    assert '<span class="muted">处理结果</span> 已调拨' in done  # the history line too
