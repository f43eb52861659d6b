"""The HTTP client of the network importers: timeouts, a rate limit, and one error per kind of
failure naming the source and the page (unreachable or slow, credentials refused, an answer
that is an error or not JSON).

ERP addresses are configured by an admin and usually sit on the company's own network, so,
unlike the webhook channels (plugins/channels/http.py), private addresses are allowed here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from engine.imports.plugin import CredentialsRefused, ImportFailed, SourceUnreachable

USER_AGENT = "stockwarn-importer/1"
MAX_RETRIES_429 = 5


def explain(body: Any) -> str:
    """The message an ERP put in an error body (Frappe ``exception``/``_server_messages``,
    Odoo ``message``, Jiandaoyun ``msg``, Kingdee ``Message``), or the start of the text."""
    if isinstance(body, Mapping):
        if isinstance(body.get("_server_messages"), str):  # Frappe's words for people
            try:
                msgs = json.loads(body["_server_messages"])
                first = json.loads(msgs[0]) if msgs else {}
                return str(first.get("message", msgs[0]))[:300]
            except (ValueError, TypeError, IndexError, AttributeError):
                return body["_server_messages"][:300]
        for key in ("message", "msg", "Message", "exception", "error", "_error_message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
            if isinstance(value, Mapping):
                return explain(value)
    return str(body)[:300]


class HttpClient:
    """A ``requests`` session bound to one source: base URL, default headers, a timeout
    (connect, read), at most ``rate`` requests a second, and retries after HTTP 429."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        rate: float | None = None,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ImportFailed(source, "option --url",
                               f"{base_url!r} is no http:// or https:// address")
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment for an ERP on the LAN
        self.session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
        self.min_interval = 1.0 / rate if rate else 0.0
        self.backoff = backoff
        self.sleep = sleep
        self.retries_429 = 0  # how often the source said "too many requests"
        self._last = 0.0
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, path: str, where: str, **kwargs: Any) -> requests.Response:
        """One request; 2xx comes back, every failure is raised as an ``ImportFailed``."""
        for attempt in range(MAX_RETRIES_429 + 1):
            self._pace()
            try:
                response = self.session.request(
                    method, self.url(path), timeout=(min(10.0, self.timeout), self.timeout),
                    allow_redirects=False, **kwargs)
            except requests.Timeout:
                raise SourceUnreachable(
                    self.source, where, f"no answer from {self.base_url} within "
                    f"{self.timeout:g} s") from None
            except requests.ConnectionError as exc:
                raise SourceUnreachable(
                    self.source, where, f"cannot connect to {self.base_url}: "
                    f"{_root(exc)}") from None
            if response.status_code != 429:
                break
            self.retries_429 += 1
            if attempt == MAX_RETRIES_429:
                raise SourceUnreachable(self.source, where, "the source keeps answering 429 "
                                        "Too Many Requests (rate limit); try again later")
            self.sleep(_retry_after(response, self.backoff * 2 ** attempt))
        status = response.status_code
        if status in (401, 403):
            raise CredentialsRefused(self.source, where, f"HTTP {status}: "
                                     f"{explain(_body(response))}")
        if status == 404:
            raise ImportFailed(self.source, where, f"HTTP 404 for {response.request.path_url}: "
                               "is the URL right and this version of the ERP supported?")
        if not 200 <= status < 300:
            raise ImportFailed(self.source, where, f"HTTP {status}: {explain(_body(response))}")
        return response

    def json(self, method: str, path: str, where: str, **kwargs: Any) -> Any:
        response = self.send(method, path, where, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ImportFailed(self.source, where, "the answer is not JSON: "
                               f"{response.text[:120]!r}") from None

    def close(self) -> None:
        self.session.close()

    def _pace(self) -> None:
        if not self.min_interval:
            return
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, min(60.0, float(response.headers.get("Retry-After", ""))))
    except ValueError:
        return default


def _root(exc: BaseException) -> str:
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return f"{type(exc).__name__}: {exc}"[:200]
