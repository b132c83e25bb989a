"""The reaper: a loop that takes over jobs whose worker stopped renewing their lease."""

from __future__ import annotations

import logging
import threading

from veza.errors import VezaError
from veza.jobs import reap_expired, requeue_stale
from veza.runtime import Services

log = logging.getLogger(__name__)


class Reaper:
    """Look for expired leases every half lease, on a daemon thread."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        interval = self.services.settings.job_lease_s / 2
        while not self._stop.wait(interval):
            try:
                taken = reap_expired(self.services)
                if taken:
                    log.warning("reaper: took over %d job(s) whose worker stopped", taken)
                requeue_stale(self.services)
            except VezaError as exc:
                log.warning("reaper: %s; will look again", exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="veza-reaper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
