"""Operations on jobs that people ask for: retrying a failed one."""

from __future__ import annotations

from uuid import UUID

from storage.repositories import unit_of_work
from veza import events, parts
from veza.errors import InputError, NotFoundError
from veza.records import Job
from veza.runtime import Services
from veza.uploads import queue_ingest


def retry(services: Services, job_id: UUID) -> Job:
    """Queue a failed job again, from its first stage, with a fresh attempt budget.

    Raises:
        NotFoundError: no such job.
        InputError: the job has not failed (it is queued, running or done).
    """
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(job_id, for_update=True)
        if job is None:
            raise NotFoundError(f"no job with id {job_id}")
        if job.state != "failed":
            raise InputError(f"job {job_id} is {job.state}; only failed jobs can be retried")
        job = uow.jobs.requeue(job_id)
        uow.tracks.set_status(job.track_id, "queued")
        queue_ingest(uow, job.id, job.track_id)
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
    return len(expired) + parts.reap_expired(services)
