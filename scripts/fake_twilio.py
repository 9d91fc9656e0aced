"""Twilio's stand-in for trying campaigns on one machine (no phone network needed).

Runs the test suite's local server that speaks Twilio's REST protocol, answers every call
it is asked to place (a person picks up after a second), and writes the settings that point
carecall at it to ``fake-twilio.env``:

    .venv/bin/python scripts/fake_twilio.py &        # from the repository root
    set -a; . ./fake-twilio.env; set +a

Stop it with Ctrl-C (or ``kill %1``). It keeps everything in memory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.channels.fake_twilio import FakeTwilio


def main() -> None:
    fake = FakeTwilio().start()
    env = Path("fake-twilio.env")
    env.write_text(
        "".join(f"CARECALL_{k.upper()}={v}\n" for k, v in fake.settings_overrides().items()),
        encoding="utf-8")
    print(f"Fake Twilio on {fake.base_url}; settings written to {env}.", flush=True)
    try:
        while True:
            time.sleep(1.0)
            with fake.lock:
                ringing = [c.sid for c in fake.calls.values() if c.status == "queued"]
            for sid in ringing:
                fake.set_call(sid, status="completed", answered_by="human")
                print(f"answered {sid}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
