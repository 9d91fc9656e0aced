"""A campaign worker in its own process, for the crash tests (run as a script).

Settings come from ``CARECALL_*`` variables like any carecall process; the clock runs at real
speed, shifted by ``CARECALL_TEST_CLOCK_OFFSET`` seconds so that the practice's calling hours
hold whatever time the test runs (Twilio's stand-in keeps real time, and the shift is never
forward, so its call list and the attempts' records stay comparable).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from carecall.app import open_app
from carecall.campaigns import jobs
from carecall.core.config import load_settings


class ShiftedClock:
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def main() -> None:
    offset = timedelta(seconds=float(os.environ["CARECALL_TEST_CLOCK_OFFSET"]))
    app = open_app(load_settings(), clock=ShiftedClock(offset))
    try:
        jobs.work(app, until_idle=True)
    finally:
        app.close()


if __name__ == "__main__":
    main()
