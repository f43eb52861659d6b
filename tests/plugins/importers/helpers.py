"""Helpers shared by the importer tests: run an importer the way the import service does,
a listener that never answers (a slow source), a port nobody listens on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

from engine.imports.plugin import Importer, ImportFailed, ImportRequest
from engine.imports.records import BadRow, Page, Record


def run(importer: Importer, **request: Any) -> list[Page]:
    request.setdefault("kind", None)
    return list(importer.read(ImportRequest(**request)))


def records(pages: list[Page], kind: type | None = None) -> list[Record]:
    out = [r for p in pages for r in p.records]
    return [r for r in out if kind is None or isinstance(r, kind)]


def bad_rows(pages: list[Page]) -> list[BadRow]:
    return [r for r in records(pages) if isinstance(r, BadRow)]


def until_failure(importer: Importer, **request: Any) -> tuple[list[Page], ImportFailed]:
    """Commit pages until the run fails, as the service does: the pages read and the error."""
    request.setdefault("kind", None)
    done: list[Page] = []
    pages: Iterator[Page] = importer.read(ImportRequest(**request))
    try:
        for page in pages:
            done.append(page)
    except ImportFailed as exc:
        return done, exc
    raise AssertionError("the run did not fail")


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Silent:
    """Accepts connections and never answers: a source that is too slow."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
