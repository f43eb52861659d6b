"""The same event id twice in one file, found in bounded memory.

Checking a file of a million daily sales rows must say which rows repeat an earlier one (the
same SKU, shop and day). A set of the ids (or of their hashes as Python ints) costs about
100 MB for a million rows; here the check pass keeps only a 64-bit hash per event in an
``array('q')`` (8 bytes a row), and the duplicates are found at the end by sorting them.
Only when there are any is the file read a second time, to name each repeated row and the
row it repeats (``Naming``): the common case, a file without duplicates, reads once.
"""

from __future__ import annotations

from array import array

import numpy as np


class IdHashes:
    """The hashes of the event ids a check pass has seen, in the order seen."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self.add = self._hashes.append  # the hot loop calls it once per event

    def __len__(self) -> int:
        return len(self._hashes)

    def duplicates(self) -> set[int]:
        """The hashes seen more than once (an empty set for a file without repeats)."""
        if len(self._hashes) < 2:
            return set()
        ordered = np.sort(np.frombuffer(self._hashes, dtype=np.int64))
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        return {int(h) for h in np.unique(repeated)}


class Naming:
    """The second read: for each hash seen more than once, the first row of each id with
    that hash (two ids may share a hash; only the same id twice is a duplicate)."""

    def __init__(self, repeated: set[int]) -> None:
        self._firsts: dict[int, dict[str, str]] = {h: {} for h in repeated}

    def __contains__(self, digest: int) -> bool:
        return digest in self._firsts

    def first(self, digest: int, eid: str, origin: str) -> str | None:
        """Where ``eid`` was first seen, or None when this is its first row (remembered)."""
        firsts = self._firsts.get(digest)
        if firsts is None:
            return None
        found = firsts.get(eid)
        if found is None:
            firsts[eid] = origin
        return found
