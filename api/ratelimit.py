"""A token bucket per API token, in this process.

Each token may make `API_RATE_LIMIT` calls a minute, in bursts of as many. The buckets live
in the memory of one dashboard process: behind several processes or replicas, each
enforces its own limit. A second limiter of the same kind counts refused calls.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

REFUSALS_PER_MINUTE = 30
"""Refused calls (401) a revoked or expired token's name, or a client address presenting
unknown or no tokens, may make a minute, in bursts of as many; more get 429."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """None if `key` may call now (one token taken); else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self.rate))
