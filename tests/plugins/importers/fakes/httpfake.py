"""The HTTP server the ERP fakes share: a real ``ThreadingHTTPServer`` on 127.0.0.1 whose
routes are a fake's methods, recording every request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # decoded, without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] | None = None


class HttpFake:
    """Subclasses implement ``handle(request) -> Answer``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def handle(self, request: Request) -> Answer:  # pragma: no cover - overridden
        raise NotImplementedError

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                from urllib.parse import unquote

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = Request(self.command, unquote(parts.path),
                              {k: v[-1] for k, v in parse_qs(parts.query).items()},
                              {k.lower(): v for k, v in self.headers.items()}, body)
                fake.requests.append(req)
                answer = fake.handle(req)
                raw = (answer.body if isinstance(answer.body, bytes)
                       else json.dumps(answer.body, ensure_ascii=False).encode())
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in (answer.headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def compare(left: Any, op: str, right: Any) -> bool:
    """SQL-ish comparison of the filters the fakes accept."""
    op = op.lower()
    if op in ("=", "=="):
        return left == right
    if op in ("!=", "<>"):
        return left != right
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op == "like":
        return str(right).strip("%").lower() in str(left or "").lower()
    if left is None:
        return False
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
