"""Operations on jobs that people ask for: retrying a failed one."""

from __future__ import annotations

from uuid import UUID

from storage.repositories import unit_of_work
from veza.errors import InputError, NotFoundError
from veza.records import Job
from veza.runtime import Services
from veza.uploads import INGEST_TASK


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
        uow.outbox.add(INGEST_TASK, {"job_id": str(job.id), "track_id": str(job.track_id)})
    return job
