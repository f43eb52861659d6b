"""The composition root: builds everything the engine needs from ``Settings``, explicitly.

Nothing connects at import time; the web app, the CLI, the worker and the tests each call
``bootstrap`` once and pass the result along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.services.engine_cache import EngineCache
from engine.services.rulesets import RulesetCache
from engine.storage.database import make_engine
from engine.storage.unit_of_work import UnitOfWork


@dataclass
class Services:
    settings: Settings
    db: Engine
    clock: Clock
    rulesets: RulesetCache = field(default_factory=RulesetCache)
    cache: EngineCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = EngineCache(self.rulesets)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db)

    def close(self) -> None:
        self.db.dispose()


def bootstrap(settings: Settings, clock: Clock | None = None) -> Services:
    return Services(settings=settings, db=make_engine(settings.database_url), clock=clock or SystemClock())
