"""ERP unreachable or slow (issue #15, bad input), for the importers over HTTP: a clear error
naming the source and the request, before anything is read."""

from __future__ import annotations

from typing import Any

import pytest

from engine.imports.plugin import SourceUnreachable
from plugins.importers.erpnext import importer as erpnext
from plugins.importers.jiandaoyun import importer as jiandaoyun
from plugins.importers.kingdee import importer as kingdee
from tests.plugins.importers.helpers import Silent, closed_port, run

CASES: dict[str, tuple[Any, Any]] = {
    "erpnext": (erpnext, lambda url: {"url": url, "api_key": "k", "api_secret": "s",
                                      "timezone": "Asia/Shanghai"}),
    "kingdee": (kingdee, lambda url: {"url": f"{url}/k3cloud/", "acct_id": "1",
                                      "username": "u", "password": "p"}),
    "jiandaoyun": (jiandaoyun, lambda url: {"url": url, "api_key": "k", "app_id": "a",
                                            "entry_id": "e", "form_kind": "stock",
                                            "mapping": "sku=_widget_1,warehouse=_widget_2,"
                                                       "on_hand=_widget_3"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_source_nobody_listens_at_and_one_that_never_answers(name: str) -> None:
    importer, options = CASES[name]
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(SourceUnreachable) as err:
        run(importer, options=options(url))
    assert err.value.source == name and "cannot connect to" in err.value.reason
    assert url in err.value.reason and err.value.where
    silent = Silent()
    try:
        with pytest.raises(SourceUnreachable) as err:
            run(importer, options={**options(silent.url), "timeout": 0.3})
        assert err.value.source == name and "within 0.3 s" in err.value.reason
    finally:
        silent.close()
