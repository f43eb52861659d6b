"""The composition root: builds everything the engine needs from ``Settings``, explicitly.

Nothing connects at import time; the web app, the CLI, the worker and the tests each call
``bootstrap`` once and pass the result along.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from engine.clock import Clock, SystemClock
from engine.collector import pace_collector
from engine.config import Settings
from engine.jobs import InlineJobs, Jobs, RqJobs
from engine.services.engine_cache import EngineCache
from engine.services.rulesets import RulesetCache
from engine.services.runner import run_outbox
from engine.storage.database import make_engine
from engine.storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class UnsafeConfiguration(Exception):
    """The configuration would lose or endanger data; the process refuses to start."""


@dataclass
class Services:
    settings: Settings
    db: Engine
    clock: Clock
    rulesets: RulesetCache = field(default_factory=RulesetCache)
    cache: EngineCache = field(init=False)
    jobs: Jobs = field(init=False)
    _channels: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _channel_config: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _imports: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cache = EngineCache(self.rulesets)

    def uow(self, statement_commits: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, statement_commits)

    def channels(self) -> dict[str, Any]:
        if self._channels is None:
            from engine.channels import load_channels

            self._channels = load_channels()
        return self._channels

    def channel_config(self) -> dict[str, Any]:
        if self._channel_config is None:
            from engine.channels import load_channel_config

            path = self.settings.channels_file
            self._channel_config = load_channel_config(path) if path and path.exists() else {}
        return self._channel_config

    @property
    def imports(self) -> Any:
        """The import service (engine.imports.service), with the importer plugins installed."""
        if self._imports is None:
            from engine.imports.plugin import load_importers
            from engine.imports.service import ImportService

            self._imports = ImportService(self, load_importers())
        return self._imports

    def deliverable_channels(self) -> frozenset[str]:
        """Channels that can send: a plugin is installed and the channel is configured."""
        config = self.channel_config()
        names = set(self.channels())
        ok = {n for n in names if n in config or (n == "wechat" and "wecom" in config)}
        return frozenset(ok)

    def close(self) -> None:
        self.db.dispose()


def check_configuration(settings: Settings) -> None:
    """Refuse settings that would endanger jobs (RELIABILITY D6), with one clear line."""
    if settings.rq_serializer != "json":
        raise UnsafeConfiguration(
            f"refusing to start: RQ serializer {settings.rq_serializer!r} is unsafe (pickle lets "
            "anyone who can write to Redis run code); use json")


def bootstrap(settings: Settings, clock: Clock | None = None, jobs: Jobs | None = None) -> Services:
    check_configuration(settings)
    pace_collector()
    svc = Services(settings=settings, db=make_engine(settings.database_url), clock=clock or SystemClock())
    if jobs is None:
        jobs = RqJobs(settings.redis_url) if settings.redis_url else InlineJobs(
            _inline_runner(svc), _inline_import_runner(svc), _inline_rules_runner(svc),
            background=not settings.testing)
    svc.jobs = jobs
    return svc


def _inline_runner(svc: Services) -> Any:
    def run(outbox_id: int) -> None:
        try:
            run_outbox(svc, outbox_id)
        except Exception:  # recorded on the row; an admin can retry it
            log.warning("job for outbox row %s failed", outbox_id, exc_info=True)

    return run


def _inline_import_runner(svc: Services) -> Any:
    def run(run_id: int) -> None:
        try:
            svc.imports.run(run_id)
        except Exception:  # the run records its own failure; this is the thread's last word
            log.exception("import run %s failed", run_id)

    return run


def _inline_rules_runner(svc: Services) -> Any:
    def run(run_id: int) -> None:
        from engine.services import rule_runs

        try:
            rule_runs.run(svc, run_id)
        except Exception:  # recorded on the run as failed; the page shows it
            log.exception("rule run %s failed", run_id)

    return run
