"""Counts the runtime and fault tests report, printed at the end of the run (one module, one list)."""

REPORT: list[str] = []
