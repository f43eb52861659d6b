"""A third-party importer, installed from a throwaway package with pip, is found through its
entry point and used by ``flask --app wsgi import`` with no change here."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from imports_support import levels

PLUGIN = '''
"""A shop system's stock export: one "sku@warehouse=qty" per line."""
from datetime import datetime, timezone

from engine.imports.plugin import ImportRequest, Option
from engine.imports.records import Page, StockSnapshot


class LinesImporter:
    name = "lines"
    label = {"zh": "行文本", "en": "Lines"}
    reads_files = False
    options = (Option("path", "the export", "导出文件", required=True),)

    def read(self, request: ImportRequest):
        records = []
        for line in open(request.options["path"], encoding="utf-8"):
            pair, qty = line.strip().split("=")
            sku, warehouse = pair.split("@")
            records.append(StockSnapshot(sku, warehouse, float(qty),
                                         datetime(2026, 11, 20, tzinfo=timezone.utc)))
        yield Page(records, "the file", complete_kinds=frozenset({"stock"}))

    def check(self, request: ImportRequest) -> str:
        return "ok"


importer = LinesImporter()
'''
DIST = "stockwarn_lines_importer-0.1"
METADATA = "Metadata-Version: 2.1\nName: stockwarn-lines-importer\nVersion: 0.1\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
ENTRY_POINTS = "[stockwarn.importers]\nlines = stockwarn_lines:importer\n"


def build_wheel(folder: Path) -> Path:
    """The package as a wheel (a zip with its metadata), as a build backend would write it."""
    files = {"stockwarn_lines.py": PLUGIN, f"{DIST}.dist-info/METADATA": METADATA,
             f"{DIST}.dist-info/WHEEL": WHEEL, f"{DIST}.dist-info/entry_points.txt": ENTRY_POINTS}
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    files[f"{DIST}.dist-info/RECORD"] = "\n".join([*record, f"{DIST}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for name, text in files.items():
            whl.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = build_wheel(tmp_path_factory.mktemp("dist"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    assert (target / f"{DIST}.dist-info" / "entry_points.txt").exists()
    return target


def test_an_installed_third_party_importer_is_used_from_the_command_line(
        installed: Path, monkeypatch: pytest.MonkeyPatch, runner: Any, seeded: Any,
        tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(installed))
    listing = runner.invoke(args=["import", "--help"])
    assert "lines" in listing.output
    export = tmp_path / "export.txt"
    export.write_text("001001@WH-SH=4\nA@北京仓=9\n", encoding="utf-8")
    result = runner.invoke(args=["import", "lines", "--path", str(export)])
    assert result.exit_code == 0, result.output
    assert "events 2 accepted" in result.output
    assert levels(seeded) == {("001001", "WH-SH"): (4, 0, 0), ("A", "WH-BJ"): (9, 0, 0)}
