"""The engine's in-memory snapshot: reloaded on a catalogue change, and a big one kept out of
the cyclic garbage collector's passes without keeping a replaced one alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from sqlalchemy import update

from engine.services import engine_cache
from engine.storage.tables import ruleset_state


def test_a_big_snapshot_is_frozen_and_a_replaced_one_is_let_go(services: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(engine_cache, "FREEZE_FROM_SKUS", 0)  # "big": any size, here
    try:
        with services.db.connect() as conn:
            first = services.cache.current(conn)
        assert gc.get_freeze_count() > 0
        first_ref = weakref.ref(first)
        del first
        with services.db.begin() as conn:  # the catalogue changed: a new snapshot
            conn.execute(update(ruleset_state).values(
                catalog_revision=ruleset_state.c.catalog_revision + 1))
        with services.db.connect() as conn:
            second = services.cache.current(conn)
        assert second.key[1] == 1 and gc.get_freeze_count() > 0
        assert first_ref() is None  # unfrozen and collected, not kept for good
    finally:
        gc.unfreeze()
