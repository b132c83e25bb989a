"""The platform's tasks, bound to the services of this process."""

from __future__ import annotations

from tasks.engine import TaskEngine, TaskSpec, fail_current_message
from tasks.events import EventPublisher
from tasks.outbox import OutboxRelay
from veza.ingest import FAILED, run_ingest
from veza.parts import PART_TASK, run_part
from veza.runtime import Services
from veza.uploads import INGEST_TASK, queue_ingest


def build_engine(services: Services) -> TaskEngine:
    """Return the task engine for these services, with every task declared."""
    settings = services.settings

    def ingest(job_id: str, track_id: str) -> None:
        if run_ingest(services, job_id=job_id, track_id=track_id) == FAILED:
            # Failed for good (bad audio found late, or out of attempts): the message goes to
            # the dead-letter queue, where operators can see it; `veza jobs retry` requeues.
            fail_current_message()

    def encode_chunk(job_id: str, track_id: str, index: int) -> None:
        if run_part(services, job_id=job_id, track_id=track_id, index=index) == FAILED:
            fail_current_message()

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
    return TaskEngine.from_url(settings.broker_url, specs)


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
