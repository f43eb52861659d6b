"""The collector's pace is set for every process that bootstraps the engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from engine.collector import THRESHOLDS

ROOT = Path(__file__).resolve().parents[2]


def test_the_production_entry_point_paces_the_collector(tmp_path: Path) -> None:
    # a fresh interpreter starts at CPython's defaults; importing wsgi (gunicorn, `flask --app
    # wsgi worker`, `events replay`) bootstraps the engine, which sets the engine's thresholds
    code = "import gc; before = gc.get_threshold(); import wsgi; print([before, gc.get_threshold()])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "STOCKWARN_INSTANCE": str(tmp_path), "SECRET_KEY": "t"})
    before, after = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert before == (700, 10, 10)
    assert after == THRESHOLDS
    assert THRESHOLDS[0] > 700  # young passes less often than the default, the point of it
