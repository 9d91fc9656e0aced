"""Publishes signed audit tree heads on a timer while the API runs."""

from __future__ import annotations

import logging
import threading

from carecall.app import Carecall

log = logging.getLogger(__name__)


class HeadPublisher:
    def __init__(self, app: Carecall) -> None:
        self.app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="audit-heads", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        from carecall.audit.service import publish_head_if_grown
        from carecall.audit.signing import NoteSigner, load_or_create_signing_key

        key, _ = load_or_create_signing_key(self.app.settings.audit_key_path)
        signer = NoteSigner(key, self.app.settings.audit_origin)
        while not self._stop.wait(self.app.settings.audit_head_interval):
            try:
                publish_head_if_grown(self.app.db, signer, self.app.clock)
            except Exception:
                log.exception("publishing the audit tree head failed")
