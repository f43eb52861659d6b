"""In Chromium: the admin's pages are never wider than the window — the admin's longer menu on
a desktop (the demo's page was 1286 px wide at 1280 px; here, with shorter names, it shows at
1180 px) and the audit trail's table on a phone (633 px on a 390 px screen): the menu and the
table scroll in their own box."""

from __future__ import annotations

import pytest

from tests.admin.browser.browser_support import sign_in


@pytest.mark.parametrize("width,path", [(1180, "/admin"), (1280, "/admin/audit"),
                                        (1280, "/tasks"), (390, "/admin/audit")])
def test_the_admin_s_pages_fit_the_window(browser, live_server, width, path) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 844},
                                  base_url=live_server.url)
    page = context.new_page()
    sign_in(page, "root")
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    context.close()
