"""How often the cyclic garbage collector runs in the engine's processes (web, worker, replay).

Handling an event allocates many short-lived containers (facts, rows, tuples, a request's
objects) while the process holds a large long-lived state (catalogue snapshot, compiled rules,
caches, the imported libraries). At CPython's default thresholds (700, 10, 10) a young pass runs
every 700 net allocations and the older passes walk that state again and again, for garbage
that is almost never cyclic. Measured on this project's benchmarks (same machine, back to back):
``bench/replay.py`` (a) at 20k SKUs spent 7.0 s in selection + evaluation at the defaults and
5.4 s at these; ``bench/load.py``'s web processes 3.0 ms CPU per single-event request, 2.3-2.8
at these. Cycles are still collected, only less often: memory is not at stake.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 100)


def pace_collector() -> None:
    """Set this process's collector thresholds; bootstrap does it for every engine process."""
    gc.set_threshold(*THRESHOLDS)
