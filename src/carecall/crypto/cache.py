"""A small time-to-live cache for unwrapped keys.

Unwrapping a tenant key may be a KMS round trip; holding it briefly keeps that off every
request. Entries live ``seconds`` by the injected clock and are only ever in memory. The size
is capped so a sweep over many patients cannot grow memory without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from carecall.core.clock import Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, clock: Clock, seconds: float, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=max(0.0, seconds))
        self._max = max_entries
        self._entries: dict[K, tuple[datetime, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock.now():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: K, value: V) -> None:
        if not self._ttl:
            return
        now = self._clock.now()
        with self._lock:
            if len(self._entries) >= self._max:
                self._sweep(now)
            self._entries.pop(key, None)
            self._entries[key] = (now + self._ttl, value)

    def evict(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def evict_where(self, doomed: Callable[[K, V], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, v) in self._entries.items() if doomed(k, v)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _sweep(self, now: datetime) -> None:
        # Every entry lives the same TTL and a put moves its key to the end, so entries
        # expire in insertion order: drop expired ones from the front and stop at the first
        # live one (a sweep over the whole dict on every put of a full cache made bulk reads
        # of tens of thousands of keys quadratic). Should the clock step back, an expired
        # entry left behind is still never returned by ``get`` and goes as the oldest.
        while self._entries:
            key = next(iter(self._entries))
            if self._entries[key][0] > now and len(self._entries) < self._max:
                break
            del self._entries[key]
