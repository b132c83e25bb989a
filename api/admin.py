"""Operators' calls: inspect and retry jobs. Every route needs the admin role."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from api.context import require_role, services
from storage.repositories import unit_of_work
from veza import jobs
from veza.errors import NotFoundError
from veza.records import Job

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


def job_json(job: Job) -> dict[str, Any]:
    return {"id": str(job.id), "track_id": str(job.track_id), "kind": job.kind,
            "state": job.state, "attempts": job.attempts, "progress": job.progress,
            "error": ({"code": job.error_code, "message": job.error_message}
                      if job.error_code else None)}


@bp.before_request
def _admins_only() -> None:
    require_role("admin")


@bp.get("/jobs/<uuid:job_id>")
def get_job(job_id: UUID) -> dict[str, Any]:
    with unit_of_work(services().db) as uow:
        job = uow.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"no job with id {job_id}")
    return job_json(job)


@bp.post("/jobs/<uuid:job_id>/retry")
def retry_job(job_id: UUID) -> tuple[dict[str, Any], int]:
    """Queue a failed job again with a fresh attempt budget (as `veza jobs retry` does)."""
    return job_json(jobs.retry(services(), job_id)), 202
