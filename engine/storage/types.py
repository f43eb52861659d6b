"""Column types shared by the tables: UTC datetimes that survive SQLite, and portable JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite as on PostgreSQL.

    SQLite has no time zones: without this a stored ``+08:00`` time would come back naive and
    compare wrongly with ``now()``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")


@overload
def sqlite_utc_text(value: datetime) -> str: ...
@overload
def sqlite_utc_text(value: None) -> None: ...
def sqlite_utc_text(value: datetime | None) -> str | None:
    """What ``UtcDateTime`` stores on SQLite (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), in one step:
    the bulk writes' bind processor (tests check it against SQLAlchemy's own)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # UTC's isoformat ends in "+00:00": cutting it off is the naive form, one call fewer
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]
