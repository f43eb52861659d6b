"""A real HTTP server on 127.0.0.1 that records what it receives and counts every connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sink:
    """What the server saw, and what it answers next (the last answer repeats)."""

    url: str = ""
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)

    def answer(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.append((status, headers or {}, data))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        super().__init__(("127.0.0.1", 0), _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.sink.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        sink = self.server.sink
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sink.requests.append(Received(self.path, dict(self.headers.items()), body))
        status, headers, data = (
            sink.answers.pop(0)
            if len(sink.answers) > 1
            else sink.answers[0]
            if sink.answers
            else (200, {}, b"{}")
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _serve() -> Iterator[Sink]:
    sink = Sink()
    server = _Server(sink)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    yield from _serve()


@pytest.fixture
def canary() -> Iterator[Sink]:
    """A second listener that must never be reached."""
    yield from _serve()
