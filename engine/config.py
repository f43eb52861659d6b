"""Settings: read once from the environment, with the embedded defaults (SQLite, jobs in-process).

No other module reads ``os.environ``: the composition root passes a ``Settings`` everywhere.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    instance_path: Path = DEFAULT_INSTANCE
    max_content_length: int = 16 * 1024 * 1024
    max_upload_bytes: int = 256 * 1024 * 1024  # a file to import (POST /imports/{plugin})
    max_batch_events: int = 10_000
    testing: bool = False
    secure_cookies: bool = True
    channels_file: Path | None = None  # YAML with each notification channel's settings
    rq_serializer: str = "json"  # anything else is refused at start (pickle runs code)
    # Without Redis, web processes run escalations, ABC and retries themselves (one at a time,
    # by a database lease); STOCKWARN_PERIODIC=0 turns it off (a cron job running the sweeps).
    periodic_work: bool = True
    # PostgreSQL with workers: the SKUs are split into this many apply partitions, each applied
    # by one worker at a time (README: sizing workers and partitions)
    apply_partitions: int = 16
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True on the embedded default: jobs run in-process, no Redis."""
        return not self.redis_url

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        instance = Path(env.get("STOCKWARN_INSTANCE", str(DEFAULT_INSTANCE)))
        settings = cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'stockwarn.db'}",
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or "",
            instance_path=instance,
            secure_cookies=env.get("STOCKWARN_INSECURE_COOKIES", "") not in ("1", "true"),
            channels_file=Path(env["STOCKWARN_CHANNELS_FILE"]) if env.get("STOCKWARN_CHANNELS_FILE")
            else instance / "channels.yaml",
            rq_serializer=env.get("STOCKWARN_RQ_SERIALIZER", "json"),
            periodic_work=env.get("STOCKWARN_PERIODIC", "1") not in ("0", "false"),
            apply_partitions=max(1, int(env.get("STOCKWARN_APPLY_PARTITIONS") or 16)),
        )
        return replace(settings, **overrides) if overrides else settings

    @staticmethod
    def getenv(name: str) -> str | None:
        """One environment variable, read when it is needed: a configured import source may
        name its secret as ``env:VAR`` instead of storing it (engine.imports.secrets)."""
        return os.environ.get(name)

    def with_secret(self) -> Settings:
        """A settings copy with a secret key: the configured one, or one kept in the instance folder.

        The embedded default must work with no configuration, so a random key is generated once
        and stored next to the SQLite database (mode 0600) rather than hard-coded.
        """
        if self.secret_key:
            return self
        self.instance_path.mkdir(parents=True, exist_ok=True)
        key_file = self.instance_path / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return replace(self, secret_key=key_file.read_text().strip())
