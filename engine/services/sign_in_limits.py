"""How many sign-in attempts an address, an account or a known device may make (issue #13).

An attempt is counted *before* its password is checked, atomically with the check of the
limit (a fixed window, as ``limits``' FixedWindowRateLimiter keeps it: one increment returns
the new count), so 60 guesses sent at
once get 10 answers and 50 refusals, not 60 answers. A successful attempt is given back.

The counters are shared by every process: in Redis when ``REDIS_URL`` is set (the ``limits``
library's own Redis storage, an INCR and EXPIRE in one script), else in the database
(``engine.storage.counters``). While Redis does not answer, the database counts instead:
sign-in keeps working, and keeps being limited.

Which counters an attempt spends (OWASP, "Slow down online guessing attacks with device
cookies"): from a browser that signed in to this account before (a *known device*), only that
device's own counter; from anywhere else, the source address's and the account's. So a
stranger who hammers an account locks out new browsers, never the owner's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage
from sqlalchemy import Engine

from engine.storage.counters import DatabaseCounters

DEFAULT_RATE = "10 per minute"
Key = tuple[str, str]  # (kind, value): ("address", "10.0.0.1"), ("user", "alice"), ("device", nonce)

log = logging.getLogger(__name__)


class SignInLimits:
    """Fixed windows per key; ``attempt`` spends one, ``succeeded`` gives it back.

    The increments are the storage's own (``Storage.incr``), the same call
    ``FixedWindowRateLimiter.hit`` makes; called directly because giving an attempt back is an
    increment by -1, which the limiter has no method for."""

    def __init__(self, rate: str, storage: Storage, fallback: Storage | None = None) -> None:
        self.rate: RateLimitItem = parse(rate)
        self.storage = storage
        self.fallback = fallback

    def attempt(self, keys: Sequence[Key]) -> bool:
        """Count one attempt on every key; False when any of them is over its limit (then the
        password must not be checked: the answer is 429)."""
        allowed = True
        for key in keys:  # every key counts, even after one is over: each is an attempt
            allowed = self._add(key, 1) <= self.rate.amount and allowed
        return allowed

    def succeeded(self, keys: Sequence[Key]) -> None:
        """Give back the attempt the right password spent: good sign-ins do not count."""
        for key in keys:
            self._add(key, -1)

    def _add(self, key: Key, amount: int) -> int:
        """The key's count in this window after adding ``amount`` (one atomic increment)."""
        name, expiry = self.rate.key_for(*key), self.rate.get_expiry()
        try:
            return self.storage.incr(name, expiry, amount=amount)
        except StorageError as exc:
            if self.fallback is None:
                raise
            log.warning("sign-in counters: %s; counting in the database meanwhile", exc)
            return self.fallback.incr(name, expiry, amount=amount)


def build(rate: str | None, redis_url: str | None, engine: Engine) -> SignInLimits:
    """Counters in Redis when there is one (the database standing in while it is down), else
    in the database."""
    database = DatabaseCounters(engine)
    if redis_url:
        from limits.storage import RedisStorage

        return SignInLimits(rate or DEFAULT_RATE, RedisStorage(redis_url, wrap_exceptions=True),
                            fallback=database)
    return SignInLimits(rate or DEFAULT_RATE, database)
