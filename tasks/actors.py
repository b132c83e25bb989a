"""The platform's tasks, bound to the services of this process."""

from __future__ import annotations

import logging
import os

from storage.db import Database
from tasks.engine import TaskEngine, TaskSpec, fail_current_message, open_engine
from tasks.events import EventPublisher
from tasks.outbox import OutboxRelay
from veza import metrics
from veza.ingest import FAILED, run_ingest
from veza.parts import PART_TASK, run_part
from veza.runtime import Services, build_store
from veza.uploads import INGEST_TASK, queue_ingest

log = logging.getLogger(__name__)


class Bound:
    """The services the handlers of this process use; a forked worker child opens its own."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._inherited: list[Services] = []

    def reopen(self) -> None:
        """Open this process's own database pool and store client (call in a forked child).

        The inherited ones share sockets with the parent: they are kept referenced and never
        closed, because closing (or collecting) them would end the parent's connections.
        """
        old = self.services
        self._inherited.append(old)
        self.services = Services(settings=old.settings, db=Database(old.db.dsn),
                                 store=build_store(old.settings))
        log.info("worker process %d opened its own connections", os.getpid())


def build_engine(services: Services, bound: Bound | None = None) -> TaskEngine:
    """Return the task engine VEZA_TASK_ENGINE names, with every task declared.

    The handlers use ``bound.services``; pass ``bound`` to reopen them in forked children.
    """
    settings = services.settings
    bound = bound or Bound(services)

    def ingest(job_id: str, track_id: str) -> None:
        if run_ingest(bound.services, job_id=job_id, track_id=track_id) == FAILED:
            # Failed for good (bad audio found late, or out of attempts): the message goes to
            # the dead-letter queue, where operators can see it; `veza jobs retry` requeues.
            if fail_current_message():
                metrics.dead_lettered(INGEST_TASK)

    def encode_chunk(job_id: str, track_id: str, index: int) -> None:
        if run_part(bound.services, job_id=job_id, track_id=track_id, index=index) == FAILED:
            if fail_current_message():
                metrics.dead_lettered(PART_TASK)

    specs = {
        INGEST_TASK: TaskSpec(
            name=INGEST_TASK,
            handler=ingest,
            # Our attempt count in PostgreSQL decides when a job has failed; the engine keeps
            # one redelivery in hand so that decision is always ours.
            max_retries=settings.job_max_attempts,
        ),
        PART_TASK: TaskSpec(
            name=PART_TASK,
            handler=encode_chunk,
            max_retries=settings.job_max_attempts,  # as for ingest: our count decides
        ),
    }
    return open_engine(settings.task_engine, settings.broker_url, specs)


def build_relay(services: Services, engine: TaskEngine) -> OutboxRelay:
    """Return the outbox relay for these services: tasks to the engine, events to the exchange."""
    return OutboxRelay(services.db, engine, events=EventPublisher(services.settings.broker_url),
                       poll_s=services.settings.outbox_poll_s)


def recover_unfinished(services: Services) -> int:
    """Queue again the jobs an in-memory broker lost when the process last stopped."""
    from storage.repositories import unit_of_work

    with unit_of_work(services.db) as uow:
        jobs = uow.jobs.unfinished()
        for job in jobs:
            if job.state == "running":
                # One process holds everything on embedded defaults: its last run is over.
                uow.jobs.release(job.id)
            queue_ingest(uow, job.id, job.track_id)
    return len(jobs)
