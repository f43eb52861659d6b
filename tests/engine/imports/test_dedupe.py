"""The same event id twice in one file: hashes in an array, duplicates found by sorting."""

from __future__ import annotations

from engine.imports.dedupe import IdHashes, Naming


def test_duplicates_are_the_hashes_seen_more_than_once() -> None:
    ids = IdHashes()
    assert ids.duplicates() == set()
    for h in (5, -3, 2**63 - 1, 5, -(2**63), 7, -3, 5):
        ids.add(h)
    assert len(ids) == 8
    assert ids.duplicates() == {5, -3}
    one = IdHashes()
    one.add(1)
    assert one.duplicates() == set()


def test_naming_tells_a_repeated_id_from_another_id_with_the_same_hash() -> None:
    naming = Naming({42})
    assert 42 in naming and 43 not in naming
    assert naming.first(42, "sale:A:W:2026-11-01", "row 2") is None
    # another id that happens to share the hash: not a duplicate
    assert naming.first(42, "sale:B:W:2026-11-01", "row 3") is None
    assert naming.first(42, "sale:A:W:2026-11-01", "row 9") == "row 2"
    assert naming.first(42, "sale:B:W:2026-11-01", "row 10") == "row 3"
    assert naming.first(43, "sale:C:W:2026-11-01", "row 11") is None
