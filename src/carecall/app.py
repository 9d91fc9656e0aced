"""The application factory: builds the one object every edge (CLI, API, jobs) works through.

Nothing here runs at import time; ``open_app`` reads settings, opens the database and the
key provider, and hands back a ``Carecall`` the services take as their first argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from carecall.core.clock import Clock, SystemClock
from carecall.core.config import Settings, load_settings
from carecall.crypto.keyring import Keyring
from carecall.crypto.providers import KeyProvider, build_key_provider
from carecall.store.db import Database


@dataclass
class Carecall:
    settings: Settings
    db: Database
    clock: Clock
    key_provider: KeyProvider
    keyring: Keyring

    @property
    def index_bits(self) -> int:
        """Blind-index truncation: about four patients share each index value at the
        configured population, so an index value alone does not single anyone out."""
        return max(8, math.ceil(math.log2(max(2, self.settings.blind_index_population))) - 2)

    def close(self) -> None:
        self.db.dispose()


def open_app(settings: Settings | None = None, clock: Clock | None = None) -> Carecall:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    provider = build_key_provider(settings)
    return Carecall(
        settings=settings,
        db=Database(settings.resolved_database_url),
        clock=clock,
        key_provider=provider,
        keyring=Keyring(provider, clock, settings.key_cache_seconds),
    )
