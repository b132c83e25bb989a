"""Leases: a job whose worker died is taken over; a live worker keeps its job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.repositories import unit_of_work
from tests.helpers import running_worker, track_owner
from veza.ingest import Lease
from veza.jobs import reap_expired, requeue_stale
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration


@pytest.fixture
def services(database_url: str, local_store) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, job_max_attempts=2, job_lease_s=3)
    svc = Services(settings=settings, db=Database(database_url), store=local_store)
    yield svc
    svc.close()


def _orphan(services: Services, demo_wav: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """An accepted upload whose job a worker took and then died holding (its lease ran out)."""
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE outbox SET published_at = now()")  # the worker had it
        assert uow.jobs.start(accepted.job.id, worker="dead", lease_s=0.01) is not None
        uow.tracks.set_status(accepted.track.id, "processing")
    time.sleep(0.05)
    return accepted.job.id, accepted.track.id


def test_a_job_whose_worker_died_is_queued_again_and_completes(
    services: Services, demo_wav: Path
) -> None:
    job_id, track_id = _orphan(services, demo_wav)
    assert reap_expired(services) == 1
    assert reap_expired(services) == 0  # taken over once
    with unit_of_work(services.db) as uow:
        assert uow.jobs.get(job_id).state == "queued"  # type: ignore[union-attr]
        assert uow.outbox.pending() == 1
    with running_worker(services):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with unit_of_work(services.db) as uow:
                track = uow.tracks.get(track_id)
            if track is not None and track.status in ("ready", "failed"):
                break
            time.sleep(0.2)
    assert track is not None and track.status == "ready"
    with unit_of_work(services.db) as uow:
        assert uow.jobs.get(job_id).attempts == 2  # type: ignore[union-attr]


def test_a_job_out_of_attempts_fails_with_the_reason(
    services: Services, demo_wav: Path
) -> None:
    job_id, track_id = _orphan(services, demo_wav)
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE jobs SET attempts = 2 WHERE id = %s", (job_id,))
    assert reap_expired(services) == 1
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
        job = uow.jobs.get(job_id)
    assert job is not None and job.state == "failed" and job.error_code == "worker_lost"
    assert track is not None and track.status == "failed"
    assert track.error_message == "the worker stopped responding during attempt 2 of 2"


def test_a_live_worker_renews_its_lease(services: Services, demo_wav: Path) -> None:
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    with Lease(services, accepted.job.id) as lease, unit_of_work(services.db) as uow:
        assert uow.jobs.start(accepted.job.id, worker=lease.worker, lease_s=3) is not None
    with Lease(services, accepted.job.id):
        time.sleep(4.5)  # longer than the lease: only renewals keep it
        assert reap_expired(services) == 0
    time.sleep(3.5)  # no one renews it now
    assert reap_expired(services) == 1


def test_a_queued_job_whose_message_was_lost_is_published_again(
    services: Services, demo_wav: Path
) -> None:
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    # Still waiting in the outbox: not the reaper's business, whatever its age.
    assert requeue_stale(services, older_than_s=0) == 0
    with unit_of_work(services.db) as uow:
        # Published, then lost by the broker (a purge, an engine that gave up).
        uow.cur.execute("UPDATE outbox SET published_at = now()")
        uow.cur.execute("UPDATE jobs SET updated_at = now() - interval '1 hour'")
    assert requeue_stale(services, older_than_s=1800) == 1
    assert requeue_stale(services, older_than_s=1800) == 0  # touched: not again at once
    with unit_of_work(services.db) as uow:
        assert uow.outbox.pending() == 1
    with running_worker(services):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with unit_of_work(services.db) as uow:
                track = uow.tracks.get(accepted.track.id)
            if track is not None and track.status in ("ready", "failed"):
                break
            time.sleep(0.2)
    assert track is not None and track.status == "ready"
    # A fresh queued job is left alone.
    fresh = accept(services, demo_wav, owner_id=track_owner(services), filename="y.wav")
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE outbox SET published_at = now()")
    assert requeue_stale(services, older_than_s=1800) == 0
    assert fresh.job.state == "queued"
