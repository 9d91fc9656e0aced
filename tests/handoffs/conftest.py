from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.access.helpers import build_app

from carecall.app import Carecall
from carecall.core.clock import FixedClock


@pytest.fixture
def carecall(db_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Carecall]:
    app = build_app(tmp_path, db_url, clock)
    yield app
    app.close()
