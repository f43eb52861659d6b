"""In Chromium, as a new user would (issue #15, done when): a GBK export with Chinese headers
from a 进销存 system goes in through the data-import page with no manual mapping; an Odoo
source configured on the ERP sources page and pointed at a fake Odoo syncs items, stock and
moves, and a second sync imports nothing new. Pages at 1280 px and at 390 px (a phone).

A server of its own on an empty SQLite database: the shared one is seeded with a warehouse
named 上海仓, which the sample files give to another code (a name two warehouses share is
refused, as it should be).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.config import Settings
from engine.storage.database import upgrade
from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors
from tests.admin.web_seed import PASSWORD
from tests.plugins.importers.fakes.odoo import FakeOdoo, seed

SAMPLES = Path(__file__).resolve().parents[3] / "configs" / "import-samples"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from werkzeug.serving import make_server

    from admin import create_app

    tmp = tmp_path_factory.mktemp("imports-live")
    url = f"sqlite:///{tmp / 'new-user.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, instance_path=tmp / "instance",
                              secret_key="browser-imports-secret", periodic_work=False))
    result = app.test_cli_runner().invoke(args=["users", "create", "root", "--password",
                                                PASSWORD.format("root"), "--admin"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["engine"].jobs.wait_imports(timeout=30)
    app.extensions["engine"].close()


@pytest.fixture
def open_page(browser: Any, empty_server: str) -> Iterator[Callable[..., Any]]:
    contexts = []

    def opened(viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(locale="zh-CN", base_url=empty_server,
                                      viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        sign_in(page, "root")
        return page

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo(version=17)
    fake.ids = seed(fake)
    fake.start()
    yield fake
    fake.stop()


def import_file(page: Any, name: str, screenshots: str | None = None) -> Any:
    """Upload ``name`` as it is, accept the preview, import; the run page once it has ended."""
    page.goto("/admin/imports")
    page.set_input_files("#file", str(SAMPLES / name))
    page.locator("#upload-button").click()
    expect(page.locator("#detected-kind")).to_be_visible()
    if screenshots:
        shot(page, f"{screenshots}-preview")
    page.locator("#import-button").click()
    # the page polls the run's progress, then reloads itself with the counts
    expect(page.locator("#run-progress")).to_have_attribute("data-state", "done")
    expect(page.locator("#run-counts")).to_be_visible()
    if screenshots:
        shot(page, f"{screenshots}-run")
    return page


def count(page: Any, key: str) -> int:
    return int(page.locator(f'[data-count="{key}"] dd').inner_text().replace(",", ""))


def test_a_gbk_export_with_chinese_headers_goes_in_through_the_page_with_no_mapping(
        open_page: Callable[..., Any]) -> None:
    page = open_page()
    page.goto("/")
    page.get_by_role("link", name="数据导入").first.click()
    expect(page.locator("h1")).to_have_text("数据导入")
    for name in ("warehouses.csv", "suppliers.csv", "items.xlsx"):  # what the stock file names
        import_file(page, name)
        assert count(page, "bad") == 0, name

    page.goto("/admin/imports")
    page.set_input_files("#file", str(SAMPLES / "stock-gbk.csv"))
    page.locator("#upload-button").click()
    expect(page.locator("#detected-kind")).to_have_text("库存余额（快照）")
    chosen = page.locator('tr[data-column="存货编码"] select')
    expect(chosen).to_have_value("sku")
    expect(page.locator('tr[data-column="现存数量"] select')).to_have_value("on_hand")
    expect(page.locator("#problem-count")).to_have_text("这些行没有问题")
    expect(page.locator("#preview-rows tbody tr")).to_have_count(4)  # 合计 and headers skipped
    shot(page, "import-gbk-preview-1280")
    page.locator("#import-button").click()
    expect(page.locator("#run-progress")).to_have_attribute("data-state", "done")
    assert (count(page, "rows"), count(page, "bad"), count(page, "accepted")) == (4, 0, 4)
    shot(page, "import-gbk-run-1280")

    page.goto("/admin/data/skus/item/001001")
    expect(page.locator('tr[data-warehouse="WH-SH"] td').nth(1)).to_have_text("1,200")
    assert unexpected_errors(page) == []

    phone = open_page(PHONE)
    phone.goto("/admin/imports")
    phone.set_input_files("#file", str(SAMPLES / "stock-gbk.csv"))
    phone.locator("#upload-button").click()
    expect(phone.locator("#detected-kind")).to_be_visible()
    shot(phone, "import-gbk-preview-390")
    width = phone.evaluate("document.querySelector('#mapping-form').getBoundingClientRect().right")
    assert width <= PHONE["width"]  # the form fits the phone; wide tables scroll in their card
    assert unexpected_errors(phone) == []


def test_an_odoo_source_configured_on_the_page_syncs_and_a_second_sync_adds_nothing(
        open_page: Callable[..., Any], odoo: FakeOdoo) -> None:
    page = open_page()
    page.goto("/admin/imports")
    page.get_by_role("link", name="ERP 数据源").click()
    page.locator("#plugin").select_option("odoo")
    page.get_by_role("button", name="配置").click()
    page.fill("#name", "odoo-main")
    page.fill("#opt-url", odoo.url)
    page.fill("#opt-db", "prod")
    page.fill("#opt-login", "bot")
    page.fill("#opt-api_key", "secret-key")
    page.fill("#opt-page_size", "2")
    page.fill("#every", "15")
    shot(page, "source-form-1280")
    page.locator("#save-source").click()
    expect(page.locator(".flash-success")).to_contain_text("已保存")
    expect(page.locator('[data-option="api_key"]')).to_contain_text("已设置")
    assert "secret-key" not in page.content()

    page.locator("#test-connection").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "连接成功：Odoo 17.0，数据库 prod：3 个库存产品，2 个仓库")

    page.locator("#sync-now").click()
    expect(page.locator("#run-progress")).to_have_attribute("data-state", "done")
    assert count(page, "created") == 6 and count(page, "accepted") >= 6
    expect(page.locator("#bad-rows")).to_contain_text("该产品没有内部参考号")  # kept for review
    shot(page, "source-first-sync-1280")
    page.goto("/admin/data/skus/item/FURN_7800")
    expect(page.locator('tr[data-warehouse="WH"] td').nth(1)).to_have_text("15")

    page.goto("/admin/imports/sources/odoo-main")
    page.locator("#sync-now").click()
    expect(page.locator("#run-progress")).to_have_attribute("data-state", "done")
    assert (count(page, "created"), count(page, "updated"), count(page, "accepted")) == (0, 0, 0)
    page.goto("/admin/imports/sources/odoo-main")
    expect(page.locator("tr.run-done")).to_have_count(2)
    shot(page, "source-page-1280")
    assert unexpected_errors(page) == []

    phone = open_page(PHONE)
    phone.goto("/admin/imports/sources/odoo-main")
    shot(phone, "source-page-390")
    phone.goto("/admin/data/skus")
    shot(phone, "skus-390")
    assert unexpected_errors(phone) == []
