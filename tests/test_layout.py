"""The top-level packages are this repository's, not something else on the path."""

from __future__ import annotations

import importlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_packages_import_from_the_repository():
    for name in ("engine", "engine.rules", "engine.workflows", "forms", "admin", "plugins", "wsgi"):
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().is_relative_to(REPO), name
