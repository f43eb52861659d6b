"""The built-in network importers are found through the entry-point group, like any plugin,
and each names its source when it cannot reach it."""

from __future__ import annotations

import pytest

from engine.imports.plugin import Importer, Option, SourceUnreachable, load_importers
from tests.plugins.importers.helpers import Silent, closed_port, run

NETWORK = ("odoo", "erpnext", "kingdee", "u8", "jiandaoyun")
REQUIRED = {  # the least each needs to try to connect
    "odoo": {"db": "prod", "login": "bot", "api_key": "k", "protocol": "xmlrpc"},
    "erpnext": {"api_key": "k", "api_secret": "s", "timezone": "UTC"},
    "kingdee": {"acct_id": "a", "username": "u", "password": "p"},
    "jiandaoyun": {"api_key": "k", "app_id": "a", "entry_id": "e", "form_kind": "moves",
                   "mapping": "sku=a,warehouse=b,qty=c"},
}


def test_the_built_ins_are_registered_as_importers() -> None:
    found = load_importers()
    for name in NETWORK:
        importer = found[name]
        assert isinstance(importer, Importer) and importer.name == name
        assert importer.reads_files is False
        assert set(importer.label) == {"zh", "en"}
        assert importer.options and all(isinstance(o, Option) and o.help_zh
                                        for o in importer.options)
    secrets = {name: {o.name for o in found[name].options if o.secret} for name in NETWORK}
    assert secrets == {"odoo": {"api_key"}, "erpnext": {"api_secret"}, "kingdee": {"password"},
                       "u8": {"url"}, "jiandaoyun": {"api_key"}}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_an_unreachable_or_silent_source_is_named(name: str) -> None:
    importer = load_importers()[name]
    with pytest.raises(SourceUnreachable) as err:
        run(importer, options={"url": f"http://127.0.0.1:{closed_port()}", **REQUIRED[name]})
    assert err.value.source == name and "cannot connect to http://127.0.0.1:" in err.value.reason
    silent = Silent()
    try:
        with pytest.raises(SourceUnreachable) as err:
            run(importer, options={"url": silent.url, "timeout": 0.3, **REQUIRED[name]})
        assert "within 0.3 s" in err.value.reason
    finally:
        silent.close()
