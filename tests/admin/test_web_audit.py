"""The audit trail page (/admin/audit, #17): who changed what and when, for admins only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.web_seed import login, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def test_admins_read_who_changed_what_newest_first_and_filter_it(seeded) -> None:
    login(seeded, "root")
    html = seeded.get("/admin/audit").get_data(as_text=True)
    rows = html[html.index('<table class="list" id="audit">'):]
    assert 'data-action="ruleset.put"' in rows and 'data-action="skus.put"' in rows
    assert "保存了规则集版本" in rows and "root" in rows
    assert rows.index('data-action="ruleset.put"') < rows.index('data-action="skus.put"')
    only_rules = seeded.get("/admin/audit?area=ruleset").get_data(as_text=True)
    assert 'data-action="ruleset.put"' in only_rules and 'data-action="skus.put"' not in only_rules
    nobody = seeded.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert "还没有任何记录" in nobody


def test_others_may_not_read_it(seeded) -> None:
    login(seeded, "alice")
    assert seeded.get("/admin/audit").status_code == 403
