"""ERP sources (admins): an Odoo source configured on the page against the fake Odoo, its secret
never shown again, its connection tested, synced now and every N minutes, its history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine.services import periodic
from engine.storage.tables import import_sources
from tests.admin.import_forms import form_data, wait
from tests.admin.web_seed import csrf_token, login
from tests.plugins.importers.fakes.odoo import FakeOdoo, seed


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo(version=17)
    fake.ids = seed(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def admin(client: Any, runner: Any) -> Any:
    answer = runner.invoke(args=["users", "create", "root", "--password", "root-password-1",
                                 "--admin"])
    assert answer.exit_code == 0, answer.output
    runner.invoke(args=["users", "create", "carol", "--password", "carol-password-1"])
    login(client, "root")
    client.get("/lang/en?next=/")
    return client


def configure(client: Any, odoo: FakeOdoo, **changes: str) -> Any:
    page = client.get("/admin/imports/sources/new?plugin=odoo")
    data = form_data(page.get_data(as_text=True), "source-form")
    data.update({"name": "odoo-main", "url": odoo.url, "db": "prod", "login": "bot",
                 "api_key": "secret-key", "page_size": "2", **changes})
    return client.post("/admin/imports/sources/new?plugin=odoo", data=data)


def press(client: Any, page_path: str, action: str, **data: str) -> Any:
    return client.post(action, data={"csrf_token": csrf_token(client.get(page_path)), **data})


def run_page(client: Any, app: Any, answer: Any) -> str:
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    wait(app)
    return str(client.get(answer.headers["Location"]).get_data(as_text=True))


def count(page: str, key: str) -> int:
    found = re.search(rf'data-count="{key}"><dt>[^<]*</dt><dd>([^<]*)</dd>', page)
    return int(found.group(1).replace(",", "")) if found else 0


def test_the_form_is_built_from_the_importers_options(admin: Any) -> None:
    html = admin.get("/admin/imports/sources").get_data(as_text=True)
    plugins = re.findall(r'<option value="(\w+)">', html)
    assert {"odoo", "erpnext", "kingdee", "u8", "jiandaoyun"} <= set(plugins)
    assert "csv" not in plugins  # files are uploaded on the data-import page
    html = admin.get("/admin/imports/sources/new?plugin=odoo").get_data(as_text=True)
    assert list(form_data(html, "source-form")) == [
        "csrf_token", "plugin", "name", "every", "url", "db", "login", "api_key", "protocol",
        "page_size", "timeout"]
    assert 'type="password" id="opt-api_key"' in html
    assert "Odoo address, e.g. https://erp.example.com" in html
    assert admin.get("/admin/imports/sources/new?plugin=csv").status_code == 404


def test_problems_are_shown_next_to_their_fields_and_nothing_is_saved(admin: Any,
                                                                    odoo: FakeOdoo,
                                                                    services: Any) -> None:
    answer = configure(admin, odoo, name="bad name!", url="", every="0")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(r'data-field="url">.*?This field is required\.', html, re.S)
    assert re.search(r'data-field="name">.*?Letters, digits and', html, re.S)
    assert re.search(r'data-field="every">.*?A whole number of minutes from 1 to 10080', html,
                     re.S)
    assert 'value="secret-key"' not in html  # a secret typed is not sent back either
    with services.uow() as uow:
        assert uow.conn.execute(select(import_sources)).first() is None


def test_an_odoo_source_configured_on_the_page_syncs_and_a_second_sync_adds_nothing(
        admin: Any, app: Any, odoo: FakeOdoo, services: Any) -> None:
    answer = configure(admin, odoo, every="15")
    assert answer.headers["Location"] == "/admin/imports/sources/odoo-main"
    page = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert "Source odoo-main saved." in page and "syncs every 15 minutes" in page
    assert 'id="secret-api_key-set"' not in page and "secret-key" not in page
    assert re.search(r'data-option="api_key">\s*<span class="secret-set">✓ set', page)
    with services.uow() as uow:
        config = uow.conn.execute(select(import_sources.c.config)).scalar_one()
    assert config["api_key"].startswith("fernet:") and "secret-key" not in str(config)

    page = press(admin, "/admin/imports/sources/odoo-main",
                 "/admin/imports/sources/odoo-main/test")
    page = admin.get(page.headers["Location"]).get_data(as_text=True)
    assert "Connected: Odoo 17.0, database prod: 3 storable products, 2 warehouses" in page

    first = run_page(admin, app, press(admin, "/admin/imports/sources/odoo-main",
                                       "/admin/imports/sources/odoo-main/run",
                                       mode="incremental"))
    assert 'data-state="done"' in first and "odoo-main" in first
    assert count(first, "created") == 6 and count(first, "accepted") >= 6
    assert "the product has no internal reference (default_code)" in first  # kept for review
    stock = admin.get("/admin/data/skus/item/FURN_7800").get_data(as_text=True)
    assert re.search(r'data-warehouse="WH".*?<td class="num">15</td>', stock, re.S)

    second = run_page(admin, app, press(admin, "/admin/imports/sources/odoo-main",
                                        "/admin/imports/sources/odoo-main/run",
                                        mode="incremental"))
    assert 'data-state="done"' in second
    assert (count(second, "created"), count(second, "updated"),
            count(second, "accepted")) == (0, 0, 0)

    history = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert len(re.findall(r'<tr data-run="\d+" class="run-done">', history)) == 2


def test_a_secret_left_blank_is_kept_and_an_env_reference_is_shown_as_such(
        admin: Any, odoo: FakeOdoo, services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(admin, odoo)
    edit = admin.get("/admin/imports/sources/odoo-main/edit").get_data(as_text=True)
    assert 'placeholder="set — leave empty to keep it"' in edit and "secret-key" not in edit
    data = form_data(edit, "source-form")
    assert data["api_key"] == ""
    answer = admin.post("/admin/imports/sources/odoo-main/edit", data={**data, "db": "prod"})
    assert answer.status_code == 303
    assert "Connected" in admin.get(press(
        admin, "/admin/imports/sources/odoo-main", "/admin/imports/sources/odoo-main/test")
        .headers["Location"]).get_data(as_text=True)

    data["api_key"] = "env:ODOO_TEST_KEY"
    admin.post("/admin/imports/sources/odoo-main/edit", data=data)
    page = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert re.search(r'data-option="api_key">\s*<span class="code">env:ODOO_TEST_KEY</span>', page)
    monkeypatch.delenv("ODOO_TEST_KEY", raising=False)
    page = admin.get(press(admin, "/admin/imports/sources/odoo-main",
                           "/admin/imports/sources/odoo-main/test").headers["Location"])
    assert "The connection failed: api_key: the environment variable ODOO_TEST_KEY is not set" \
        in page.get_data(as_text=True)
    monkeypatch.setenv("ODOO_TEST_KEY", "secret-key")
    page = admin.get(press(admin, "/admin/imports/sources/odoo-main",
                           "/admin/imports/sources/odoo-main/test").headers["Location"])
    assert "Connected: Odoo 17.0" in page.get_data(as_text=True)


def test_wrong_credentials_are_said_by_the_test_and_the_failed_sync_is_in_the_history(
        admin: Any, app: Any, odoo: FakeOdoo) -> None:
    configure(admin, odoo, api_key="wrong")
    page = admin.get(press(admin, "/admin/imports/sources/odoo-main",
                           "/admin/imports/sources/odoo-main/test").headers["Location"])
    html = page.get_data(as_text=True)
    assert "The connection failed:" in html and 'class="flash flash-error"' in html
    run = run_page(admin, app, press(admin, "/admin/imports/sources/odoo-main",
                                     "/admin/imports/sources/odoo-main/run", mode="snapshot"))
    assert 'data-state="failed"' in run and 'id="run-errors"' in run
    history = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert 'class="run-failed"' in history and 'id="last-error"' in history


def test_a_due_source_is_synced_by_the_in_process_periodic_loop(admin: Any, app: Any,
                                                                odoo: FakeOdoo,
                                                                services: Any) -> None:
    configure(admin, odoo, every="5")
    done = periodic.run_once(services, "test-holder")  # without Redis: the web process's loop
    assert done is not None
    wait(app)
    html = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert re.search(r'<tr data-run="\d+" class="run-done">', html)
    assert "schedule" in html  # started by the schedule, not by a person
    periodic.run_once(services, "test-holder")
    wait(app)  # not due again within 5 minutes
    html = admin.get("/admin/imports/sources/odoo-main").get_data(as_text=True)
    assert len(re.findall(r'<tr data-run="\d+"', html)) == 1


def test_a_source_is_removed_and_its_history_stays(admin: Any, app: Any, odoo: FakeOdoo) -> None:
    configure(admin, odoo)
    run_page(admin, app, press(admin, "/admin/imports/sources/odoo-main",
                               "/admin/imports/sources/odoo-main/run", mode="incremental"))
    answer = press(admin, "/admin/imports/sources/odoo-main",
                   "/admin/imports/sources/odoo-main/delete")
    assert answer.headers["Location"] == "/admin/imports/sources"
    assert admin.get("/admin/imports/sources/odoo-main").status_code == 404
    runs = admin.get("/admin/imports/runs").get_data(as_text=True)
    assert len(re.findall(r'<tr data-run="\d+"', runs)) == 1


def test_sources_are_for_admins_only(admin: Any, odoo: FakeOdoo) -> None:
    configure(admin, odoo)
    admin.post("/logout", data={"csrf_token": csrf_token(admin.get("/"))})
    login(admin, "carol")
    for path in ("/admin/imports/sources", "/admin/imports/sources/new?plugin=odoo",
                 "/admin/imports/sources/odoo-main", "/admin/imports/sources/odoo-main/edit"):
        assert admin.get(path).status_code == 403, path
    token = csrf_token(admin.get("/"))
    for action in ("test", "run", "delete"):
        answer = admin.post(f"/admin/imports/sources/odoo-main/{action}",
                            data={"csrf_token": token})
        assert answer.status_code == 403, action
