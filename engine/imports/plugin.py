"""The importer plugin contract and discovery (entry-point group ``stockwarn.importers``).

Importers are plugins like the channels (STYLE convention 11): each is an object registered
under the entry-point group whose name is what ``flask --app wsgi import NAME`` and
``POST /api/v1/imports/{NAME}`` take. The built-ins live in ``plugins/importers`` and are
registered the same way. An importer reads its source and yields ``Page``s of canonical records;
it never writes to our database: the import service (``engine.imports.service``) does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol, runtime_checkable

from engine.imports.records import Page

log = logging.getLogger(__name__)

GROUP = "stockwarn.importers"
KINDS = ("items", "warehouses", "suppliers", "stock", "moves", "sales", "purchase-orders")
MODES = ("snapshot", "incremental")


class ImportFailed(Exception):
    """A source could not be read: unreachable, too slow, refused the credentials, answered
    something unexpected. ``source`` and ``where`` (page, row, request) name the place."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")
        self.source = source
        self.where = where
        self.reason = reason


class SourceUnreachable(ImportFailed):
    """Connection refused, DNS, timeout: trying again later may help."""


class CredentialsRefused(ImportFailed):
    """The source said no to the login, key or token: fix the configuration."""


@dataclass(frozen=True)
class Option:
    """One parameter of an importer: a CLI option ``--name``, a field of the source form."""

    name: str
    help: str  # English
    help_zh: str
    required: bool = False
    secret: bool = False  # stored encrypted or as an env reference, never shown again
    default: Any = None


@dataclass(frozen=True)
class ImportRequest:
    """What one run asks of an importer."""

    kind: str | None  # one of KINDS for files; None = every kind the source offers
    mode: str = "incremental"  # one of MODES
    cursor: Mapping[str, Any] | None = None  # the last committed page's cursor, or None
    overlap_seconds: int = 300  # re-read this much before the cursor; the service dedupes by id
    file: str | None = None  # a path, for file importers
    mapping: Mapping[str, str] = field(default_factory=dict)  # canonical field -> source column
    options: Mapping[str, Any] = field(default_factory=dict)  # the importer's own Options


@runtime_checkable
class Importer(Protocol):
    """Reads one kind of source. ``label`` is ``{"zh": …, "en": …}``; ``reads_files`` says
    whether it takes an uploaded file (csv, excel) or a network source (the ERPs)."""

    name: str
    label: Mapping[str, str]
    reads_files: bool
    options: tuple[Option, ...]

    def read(self, request: ImportRequest) -> Iterator[Page]: ...

    def check(self, request: ImportRequest) -> str:
        """Test the connection (log in, read one page): a line saying what was found, or
        ``ImportFailed``."""
        ...


@dataclass
class ImporterRegistry:
    available: dict[str, Importer] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


def discover(found: Iterable[EntryPoint]) -> ImporterRegistry:
    """Load every entry point; one that fails is logged and listed, never raised."""
    registry = ImporterRegistry()
    for ep in found:
        try:
            obj = ep.load()
            importer = obj() if isinstance(obj, type) else obj
            ok = isinstance(getattr(importer, "name", None), str) and callable(
                getattr(importer, "read", None))
            problem = None if ok else "not an importer: it needs a 'name' and 'read(request)'"
        except Exception as exc:  # a broken plugin must not stop the engine
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            log.error("importer plugin %r (%s) is unavailable: %s", ep.name, ep.value, problem)
            registry.unavailable[ep.name] = problem
        elif ep.name not in registry.available:
            registry.available[ep.name] = importer
    return registry


def load_importers() -> dict[str, Importer]:
    return dict(discover(entry_points(group=GROUP)).available)
