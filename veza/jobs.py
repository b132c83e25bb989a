"""Operations on jobs that people ask for: retrying a failed one."""

from __future__ import annotations

import logging
import time
from uuid import UUID

from storage.repositories import unit_of_work
from veza import events, metrics, parts
from veza.errors import ConflictError, NotFoundError, ServiceError
from veza.records import Job
from veza.runtime import Services
from veza.uploads import queue_ingest

log = logging.getLogger(__name__)

# How long a stage that hit an outage waits for PostgreSQL and the object store to answer
# again before its attempt ends anyway.
OUTAGE_WAIT_S = 300.0


def retry(services: Services, job_id: UUID) -> Job:
    """Queue a failed job again, from its first stage, with a fresh attempt budget.

    Raises:
        NotFoundError: no such job.
        ConflictError: the job has not failed (it is queued, running or done).
    """
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(job_id, for_update=True)
        if job is None:
            raise NotFoundError(f"no job with id {job_id}")
        if job.state != "failed":
            raise ConflictError(f"job {job_id} is {job.state}; only failed jobs can be retried")
        job = uow.jobs.requeue(job_id)
        uow.tracks.set_status(job.track_id, "queued")
        queue_ingest(uow, job.id, job.track_id)
    metrics.retried("manual")
    return job


def reap_expired(services: Services) -> int:
    """Take over running jobs whose lease expired: queue them again, or fail them when they have
    used every attempt. Return how many jobs were taken over."""
    max_attempts = services.settings.job_max_attempts
    with unit_of_work(services.db) as uow:
        expired = uow.jobs.claim_expired()
        for job in expired:
            if job.attempts >= max_attempts:
                message = (f"the worker stopped responding during attempt {job.attempts} of "
                           f"{max_attempts}")
                uow.jobs.fail(job.id, code="worker_lost", message=message)
                uow.tracks.set_status(job.track_id, "failed", error_code="worker_lost",
                                      error_message=message)
                events.record(uow, "track.failed", track_id=job.track_id, job_id=job.id,
                              error={"code": "worker_lost", "message": message})
            else:
                uow.jobs.release(job.id)
                uow.tracks.set_status(job.track_id, "queued")
                queue_ingest(uow, job.id, job.track_id)
    metrics.retried("worker_lost", sum(job.attempts < max_attempts for job in expired))
    return len(expired) + parts.reap_expired(services)


def wait_for_services(services: Services, *, timeout_s: float = OUTAGE_WAIT_S) -> bool:
    """Wait until PostgreSQL and the object store both answer; False if they did not within
    ``timeout_s``.

    A stage that failed because a service was down ends its attempt here rather than at once:
    attempts that follow each other within seconds would all meet the same outage and fail
    the job for good, though nothing is wrong with the track.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.5
    while True:
        try:
            services.db.execute("SELECT 1")
            services.store.ensure_bucket()
            return True
        except ServiceError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            log.info("waiting for services to answer again: %s", exc)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 5.0)


def requeue_stale(services: Services, *, older_than_s: float | None = None) -> int:
    """Publish again the tasks of jobs and parts left queued after their message was lost.

    A broker can drop a published message (an engine gives up its retries during a long
    outage, a queue is purged): the row stays ``queued`` and no worker will ever claim it. A
    second message is harmless, because a delivery for a job or part already taken is ignored,
    so after a generous wait (ten leases, at least ten minutes) the reaper publishes again.
    Return how many tasks were published again.
    """
    wait = older_than_s if older_than_s is not None else max(600.0,
                                                            10 * services.settings.job_lease_s)
    with unit_of_work(services.db) as uow:
        stale_jobs = uow.jobs.claim_stale_queued(wait)
        for job in stale_jobs:
            queue_ingest(uow, job.id, job.track_id)
        stale_parts = uow.parts.claim_stale_queued(wait)
        for part in stale_parts:
            owner = uow.jobs.get(part.job_id)
            if owner is not None:
                uow.outbox.add(parts.PART_TASK, parts.part_payload(
                    part.job_id, owner.track_id, part.index, services.settings.chunk_seconds))
    count = len(stale_jobs) + len(stale_parts)
    if count:
        log.warning("%d queued task(s) had lost their message; published again", count)
        metrics.retried("message_lost", count)
    return count
