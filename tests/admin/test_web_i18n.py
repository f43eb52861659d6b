"""The Chinese catalogue: complete for the pages, and compiled from its current source."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "admin" / "translations"
PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
# Sign-in, dashboard, inbox, requisitions, versions, rejected events and the shared layout; the rule editor's
# files are checked by their own tests.
PAGES = ("admin/templates/base.html", "admin/templates/auth/", "admin/templates/dashboard/",
         "admin/templates/tasks/", "admin/templates/requisitions/",
         "admin/templates/versions/", "admin/templates/errors/", "admin/templates/rejected/",
         "admin/templates/_pager.html",
         "admin/web/__init__.py", "admin/web/rejected.py",
         "admin/web/approvals.py", "admin/web/auth_views.py", "admin/web/dashboard.py",
         "admin/web/explain.py", "admin/web/i18n.py", "admin/web/inbox.py",
         "admin/web/pages.py", "admin/web/session.py", "admin/web/versions.py",
         # data import, ERP sources and master data (issue #15)
         "admin/templates/imports/", "admin/templates/catalog/", "admin/web/import_pages.py",
         "admin/web/import_sources.py", "admin/web/import_labels.py",
         "admin/web/catalog_pages.py", "admin/web/catalog_edit.py", "admin/web/xlsx.py")


def catalogue():  # type: ignore[no-untyped-def]
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def test_every_string_of_the_pages_has_a_chinese_translation() -> None:
    ours = [m for m in catalogue()
            if m.id and any(path.startswith(PAGES) for path, _ in m.locations)]
    translated = [m.string[0] if isinstance(m.string, tuple) else m.string for m in ours]
    assert [m.id for m, text in zip(ours, translated, strict=True) if not text] == []
    assert [m.id for m in ours if m.fuzzy] == []


def test_the_compiled_catalogue_is_up_to_date() -> None:
    compiled = gettext.translation("messages", str(TRANSLATIONS), languages=["zh"])
    for message in catalogue():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if message.string[0]:
                assert compiled.ngettext(*message.id, 2) == message.string[0]
        elif message.string:
            assert compiled.gettext(message.id) == message.string, message.id


def test_every_string_in_the_source_is_in_the_catalogue(tmp_path: Path) -> None:
    """Extracted afresh from admin/ (babel.cfg): a string the pages show but the catalogue lacks
    reads in English on a Chinese page (a merge once dropped 235 of them)."""
    import subprocess
    import sys

    root = TRANSLATIONS.parents[1]
    pot = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
                    "-o", str(pot), "."], check=True, cwd=root, capture_output=True)
    with pot.open("rb") as f:
        fresh = {m.id for m in read_po(f) if m.id}
    known = {m.id: m for m in catalogue() if m.id}
    assert sorted(map(str, fresh - set(known))) == []
    untranslated = [m.id for m in (known[i] for i in fresh)
                    if not (m.string[0] if isinstance(m.string, tuple) else m.string) or m.fuzzy]
    assert untranslated == []
