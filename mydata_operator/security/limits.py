"""Counters in Django's cache (Redis in production, local memory in embedded mode).

Two shapes: a fixed-window rate (`rate_take`: at most `count` hits per `seconds`, the answer
says how long to wait) and a failure lockout (`failure_record` / `locked_for`: after `count`
failures within `seconds`, the key is locked for `lockout` seconds). Keys are hashed, so a
user name or client id typed by anyone is safe as a cache key.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "300/60" is 300 per 60 seconds."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


def _key(scope: str, key: str, *parts: object) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return ":".join(["tahto-limit", scope, digest, *map(str, parts)])


def _incr(cache_key: str, timeout: int) -> int:
    cache.add(cache_key, 0, timeout)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout)
        return 1


def rate_take(scope: str, key: str, rate: Rate) -> int:
    """Count one hit; return 0 if within the rate, else the seconds until the window ends."""
    now = time.time()
    window = int(now // rate.seconds)
    hits = _incr(_key(scope, key, window), rate.seconds + 1)
    if hits <= rate.count:
        return 0
    return max(1, math.ceil((window + 1) * rate.seconds - now))


def rate_count(scope: str, key: str, seconds: int) -> int:
    """Count one more and return the count within `seconds` of the first."""
    return _incr(_key(scope, key, "count"), seconds)


def locked_for(scope: str, key: str) -> int:
    """Seconds the key stays locked (0: not locked)."""
    until = cache.get(_key(scope, key, "locked"))
    if until is None:
        return 0
    return max(0, math.ceil(float(until) - time.time()))


def failure_record(scope: str, key: str, rate: Rate, lockout: int) -> int:
    """Count one failure; lock the key for `lockout` seconds once `rate` is exceeded.

    Return the seconds the key is now locked (0: not locked)."""
    failures = _incr(_key(scope, key, "failures"), rate.seconds)
    if failures >= rate.count:
        # add, not set: failures while locked do not stretch the lockout
        cache.add(_key(scope, key, "locked"), time.time() + lockout, lockout)
    return locked_for(scope, key)


def failures_clear(scope: str, key: str) -> None:
    """A success forgets earlier failures (not a lockout already in force)."""
    cache.delete(_key(scope, key, "failures"))
