"""Helpers of the browser tests: the live server handle, signing in, screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.admin import web_seed

REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class LiveServer:
    url: str
    app: Any
    token: str  # the admin's API token, created with the CLI

    def api(self, method: str, path: str, body: Any = None,
            content_type: str = "application/json") -> tuple[int, Any]:
        """Call the REST API over HTTP with the admin's Bearer token."""
        data = None
        if body is not None:
            data = (json.dumps(body) if content_type == "application/json" else body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def sign_in(page: Any, username: str, password: str | None = None) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or web_seed.PASSWORD.format(username))
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """Keep a screenshot as a test artifact (test-artifacts/screenshots/NAME.png)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Answers the tests provoke on purpose (a refused form, a forged post) log a console error too.
_EXPECTED = re.compile(r"^Failed to load resource: the server responded with a status of "
                       r"(400|403|422) ")


def unexpected_errors(page: Any) -> list[str]:
    """The console errors of ``page`` (CSP violations, script errors, missing files)."""
    return [e for e in page.console_errors if not _EXPECTED.match(e)]
