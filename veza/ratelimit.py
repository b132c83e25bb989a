"""Rate limits: moving windows kept in Redis when it is configured, in this process otherwise.

Built on the ``limits`` library (the one Flask-Limiter uses) rather than hand-written counters.
With several API processes the limits only hold across them when Redis is configured
(``VEZA_REDIS_URL``); embedded defaults run one process, where memory is enough.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from limits import parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from veza.errors import RateLimitedError
from veza.settings import Settings

log = logging.getLogger(__name__)


class RateLimiter:
    """Count attempts per (scope, key) against a limit like ``10/minute``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def for_settings(cls, settings: Settings, *, key_prefix: str | None = None) -> RateLimiter:
        if settings.redis_url:
            prefix = key_prefix or f"{settings.queue_prefix}:limits"
            return cls(RedisStorage(settings.redis_url, key_prefix=prefix, wrap_exceptions=True))
        return cls(MemoryStorage())

    def hit(self, scope: str, key: str, limit: str, *, what: str) -> None:
        """Count one attempt; raise RateLimitedError (naming ``what``) over the limit.

        A limiter whose storage is down lets the attempt through and logs: an outage of the
        counter must not lock every user out.
        """
        if limit != "0":
            self._enforce(self._limiter.hit, scope, key, limit, what)

    def allow(self, scope: str, key: str, limit: str) -> bool:
        """Count one attempt; return whether it is within the limit (True when the storage
        is down, as for ``hit``)."""
        if limit == "0":
            return True
        try:
            return bool(self._limiter.hit(parse(limit), scope, key))
        except Exception as exc:
            log.warning("rate limit %s not checked: %s", scope, exc)
            return True

    def check(self, scope: str, key: str, limit: str, *, what: str) -> None:
        """Raise RateLimitedError (naming ``what``) when ``key`` has used up its limit,
        without counting an attempt."""
        if limit != "0":
            self._enforce(self._limiter.test, scope, key, limit, what)

    def _enforce(self, attempt: Callable[..., bool], scope: str, key: str, limit: str,
                 what: str) -> None:
        item = parse(limit)
        try:
            if attempt(item, scope, key):
                return
            stats = self._limiter.get_window_stats(item, scope, key)
        except Exception as exc:  # the storage's own errors differ by backend
            log.warning("rate limit %s not checked: %s", scope, exc)
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimitedError(f"too many {what}; try again in {retry_after} s",
                               retry_after_s=retry_after)

    def clear(self, scope: str, key: str, limit: str) -> None:
        """Forget the attempts counted for ``key`` (after a successful login, say)."""
        try:
            self._limiter.clear(parse(limit), scope, key)
        except Exception as exc:
            log.warning("rate limit %s not cleared: %s", scope, exc)
