"""Operators' calls: inspect and retry jobs. Every route needs the admin role."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from api.context import require_role, services
from api.openapi import BEARER, problems
from api.schemas import AdminJob, JobPath
from storage.repositories import unit_of_work
from veza import jobs
from veza.errors import NotFoundError
from veza.records import Job

TAG = Tag(name="admin", description="operators only (admin role)")
bp = APIBlueprint("admin", __name__, url_prefix="/api/v1/admin", abp_tags=[TAG],
                  abp_security=BEARER)


def job_json(job: Job) -> dict[str, Any]:
    return {"id": str(job.id), "track_id": str(job.track_id), "kind": job.kind,
            "state": job.state, "attempts": job.attempts, "progress": job.progress,
            "error": ({"code": job.error_code, "message": job.error_message}
                      if job.error_code else None)}


@bp.get("/jobs/<uuid:job_id>", responses={200: AdminJob, **problems(401, 403, 404)})
def get_job(path: JobPath) -> dict[str, Any]:
    """A job: state, attempts, progress and its last error."""
    require_role("admin")
    with unit_of_work(services().db) as uow:
        job = uow.jobs.get(path.job_id)
    if job is None:
        raise NotFoundError(f"no job with id {path.job_id}")
    return job_json(job)


@bp.post("/jobs/<uuid:job_id>/retry", responses={202: AdminJob, **problems(401, 403, 404, 409)})
def retry_job(path: JobPath) -> tuple[dict[str, Any], int]:
    """Queue a failed job again with a fresh attempt budget (as `veza jobs retry` does)."""
    require_role("admin")
    return job_json(jobs.retry(services(), path.job_id)), 202
