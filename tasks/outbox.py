"""The outbox relay: publish tasks recorded in PostgreSQL, then mark them published.

A message is marked only after the broker confirmed it, so a crash between the two publishes it
again: consumers are idempotent and a duplicate is harmless, a loss is not possible.
"""

from __future__ import annotations

import logging
import select
import threading

from storage.db import Database
from storage.repositories import OUTBOX_CHANNEL, unit_of_work
from tasks.engine import TaskEngine
from tasks.events import EventPublisher
from veza import logs, metrics
from veza.errors import ServiceError
from veza.events import EVENT_TASK

log = logging.getLogger(__name__)


class OutboxRelay:
    """Move outbox rows to the task engine, woken by NOTIFY and by a polling interval."""

    def __init__(
        self,
        db: Database,
        engine: TaskEngine,
        *,
        events: EventPublisher | None = None,
        poll_s: float = 1.0,
        batch: int = 100,
    ) -> None:
        self.db = db
        self.engine = engine
        self.events = events or EventPublisher(None)
        self.poll_s = poll_s
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def relay_once(self) -> int:
        """Publish what is pending now; return how many messages went out."""
        published = 0
        with unit_of_work(self.db) as uow:
            for message in uow.outbox.claim(self.batch):
                ids = message.payload.get("event", message.payload)
                context = logs.job_context(track_id=ids.get("track_id"), job_id=ids.get("job_id"))
                with context:
                    try:
                        if message.task == EVENT_TASK:
                            self.events.publish(message.payload["routing_key"],
                                                message.payload["event"])
                        else:
                            self.engine.enqueue(message.task, message.payload)
                    except ServiceError as exc:
                        # Keep the row pending; the next pass tries again.
                        uow.outbox.mark_failed(message.id, str(exc))
                        metrics.outbox_published(message.task, ok=False)
                        log.warning("outbox: publish failed, will retry: %s", exc)
                        break
                uow.outbox.mark_published(message.id)
                metrics.outbox_published(message.task)
                published += 1
        return published

    def run(self) -> None:
        """Relay until stop() is called, surviving database and broker outages."""
        listener = None
        while not self._stop.is_set():
            try:
                if listener is None or listener.closed:
                    listener = self.db.connect()
                    listener.autocommit = True
                    with listener.cursor() as cur:
                        cur.execute(f"LISTEN {OUTBOX_CHANNEL}")
                while self.relay_once() == self.batch and not self._stop.is_set():
                    pass
                ready, _, _ = select.select([listener], [], [], self.poll_s)
                if ready:
                    listener.poll()
                    listener.notifies.clear()
            except ServiceError as exc:
                log.warning("outbox relay: %s; retrying", exc)
                listener = None
                self._stop.wait(self.poll_s)
            except Exception as exc:
                # A psycopg2 error raised by poll() on a dropped connection lands here too.
                log.warning("outbox relay: unexpected %r; retrying", exc)
                listener = None
                self._stop.wait(self.poll_s)
        if listener is not None and not listener.closed:
            listener.close()

    def start(self) -> None:
        """Run the relay on a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="veza-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.events.close()
