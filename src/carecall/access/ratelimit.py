"""A simple in-process sliding-window rate limiter for login and PHI endpoints.

It counts per process: a fleet of API workers behind a load balancer multiplies the
effective limit by the number of workers, so production needs a shared limiter (at the
proxy, or a Redis-backed one) in front; this one is the floor every process enforces.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from carecall.access.errors import RateLimited


class SlidingWindow:
    def __init__(
        self, limit: int, window_seconds: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._now = now
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one request for ``key``; raise ``RateLimited`` when over the limit."""
        now = self._now()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, int(hits[0] + self.window - now) + 1)
                raise RateLimited(
                    f"Too many requests; wait {retry} seconds and try again.", retry_after=retry
                )
            hits.append(now)
            if len(self._hits) > 100_000:
                self._hits = {k: v for k, v in self._hits.items() if v}
