"""Forked children end with their parent, however it dies (issue #13: orphaned schedulers).

RQ's worker forks its scheduler. A worker killed with SIGKILL has no chance to stop it: the
orphan lives on, refreshes the scheduler lock every second and keeps its Redis connections,
and the worker started in its place finds the lock taken. After ``end_with_parent()``, every
child this process forks asks the kernel (Linux ``prctl(PR_SET_PDEATHSIG)``) for ``SIGTERM``
the moment its parent dies; RQ's scheduler stops on SIGTERM and releases its locks. Elsewhere
a thread in the child watches its parent id instead.

The kernel's signal comes when the *thread* that forked dies: fork from a thread that lives as
long as the process (the worker forks its scheduler from the main thread).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_EVERY = 0.5  # seconds between two looks at the parent where prctl is missing

_forking_parent = [0]  # the pid that forks, written just before each fork (then copied)
_hooked = False


def end_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """From now on, every child this process forks gets ``sig`` when this process dies."""
    global _hooked
    if _hooked:
        return
    os.register_at_fork(before=_note_parent, after_in_child=lambda: _die_with_parent(sig))
    _hooked = True


def _note_parent() -> None:
    _forking_parent[0] = os.getpid()


def _die_with_parent(sig: signal.Signals) -> None:
    parent = _forking_parent[0]
    if not _ask_the_kernel(sig):
        threading.Thread(target=_watch, args=(parent, sig), name="parent-watch",
                         daemon=True).start()
    if os.getppid() != parent:  # the parent died between the fork and the line above
        os.kill(os.getpid(), sig)


def _ask_the_kernel(sig: signal.Signals) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc prctl (another C library)
        return False


def _watch(parent: int, sig: signal.Signals) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os.kill(os.getpid(), sig)
