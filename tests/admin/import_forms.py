"""Helpers of the data-import page tests: upload a file, read back the preview's form as a
browser would submit it (hidden inputs, the selected option of each select, checked boxes)."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

from tests.admin.web_seed import csrf_token

SAMPLES = Path(__file__).resolve().parents[2] / "configs" / "import-samples"
_INPUT = re.compile(r"<input\b([^>]*)>", re.S)
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def upload(client: Any, path: Path, name: str | None = None, **form: str) -> Any:
    """Upload ``path`` on the data-import page; the preview's answer."""
    token = csrf_token(client.get("/admin/imports"))
    with open(path, "rb") as f:
        return client.post("/admin/imports/preview", data={
            "csrf_token": token, "file": (f, name or path.name), **form},
            content_type="multipart/form-data")


def form_data(page: str, form_id: str) -> dict[str, Any]:
    """What submitting form ``form_id`` of ``page`` sends (no button pressed)."""
    start = page.index(f'id="{form_id}"')
    body = page[start:page.index("</form>", start)]
    data: dict[str, Any] = {}

    def put(name: str, value: str) -> None:
        if name in data:
            data[name] = [*(data[name] if isinstance(data[name], list) else [data[name]]), value]
        else:
            data[name] = value

    for attrs in _INPUT.findall(body):
        a = {k: html_lib.unescape(v) for k, v in _ATTR.findall(attrs)}
        if "name" not in a or "disabled" in attrs:
            continue
        if a.get("type") in ("checkbox", "radio") and "checked" not in attrs:
            continue
        if a.get("type") == "file":
            continue
        put(a["name"], a.get("value", ""))
    for attrs, options in _SELECT.findall(body):
        a = {k: html_lib.unescape(v) for k, v in _ATTR.findall(attrs)}
        chosen = re.search(r'<option value="([^"]*)"[^>]*\bselected', options) or re.search(
            r'<option value="([^"]*)"', options)
        put(a["name"], html_lib.unescape(chosen.group(1)) if chosen else "")
    return data


def selected_fields(page: str) -> dict[str, str]:
    """The preview's column → field table as it stands (header text → chosen field)."""
    out = {}
    for header, select in re.findall(r'<tr data-column="([^"]*)".*?(<select.*?</select>)', page,
                                     re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*\bselected', select)
        out[html_lib.unescape(header)] = chosen.group(1) if chosen else ""
    return out


def start(client: Any, preview: Any, **changes: Any) -> Any:
    """Press Import on a preview (with ``changes`` to its form); the answer (a redirect)."""
    data = form_data(preview.get_data(as_text=True), "mapping-form")
    data.update(action="import")
    data.update(changes)
    return client.post("/admin/imports/start", data=data)


def wait(app: Any) -> None:
    """The in-process import runs end."""
    app.extensions["engine"].jobs.wait_imports(timeout=60)
