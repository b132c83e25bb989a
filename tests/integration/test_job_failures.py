"""Jobs that cannot succeed end `failed` with a reason and in the dead-letter queue, never stuck."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from storage.db import Database
from storage.repositories import unit_of_work
from storage.s3 import S3Store
from tests.helpers import running_worker, track_owner
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration


@pytest.fixture
def services(database_url: str, s3_store: S3Store, broker_url: str) -> Iterator[Services]:
    settings = Settings(database_url=database_url, broker_url=broker_url,
                        s3_endpoint=s3_store.endpoint, s3_access_key="x", s3_secret_key="x",
                        job_max_attempts=2)
    svc = Services(settings=settings, db=Database(database_url), store=s3_store)
    yield svc
    svc.close()


def _dead_letters(broker_url: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        return int(channel.queue_declare("veza.ingest.XQ", passive=True)
                   .method.message_count)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:  # declared with the first message of this vhost
            return 0
        raise
    finally:
        connection.close()


def _wait_final(services: Services, track_id, timeout: float = 90) -> tuple:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with unit_of_work(services.db) as uow:
            track = uow.tracks.get(track_id)
            job = uow.jobs.latest_for_track(track_id)
        if track is not None and track.status in ("ready", "failed"):
            return track, job
        time.sleep(0.2)
    raise AssertionError(f"track {track_id} stuck in {track.status if track else None}")


def _final_and_dead_lettered(services: Services, track_id, before: int) -> tuple:  # type: ignore[no-untyped-def]
    with running_worker(services):
        track, job = _wait_final(services, track_id)
        deadline = time.monotonic() + 10
        while _dead_letters(services.settings.broker_url or "") == before:
            assert time.monotonic() < deadline, "the message never reached the dead-letter queue"
            time.sleep(0.2)
    return track, job


def test_bad_audio_found_late_fails_at_once_into_the_dead_letter_queue(
    services: Services, demo_wav: Path
) -> None:
    before = _dead_letters(services.settings.broker_url or "")
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.put(accepted.track.original_key or "", b"\x00garbage" * 500,
                       content_type="audio/wav")
    track, job = _final_and_dead_lettered(services, accepted.track.id, before)
    assert track.status == "failed" and track.error_code == "not_audio"
    assert job.attempts == 1  # permanent: no retries
    assert _dead_letters(services.settings.broker_url or "") == before + 1


def test_a_transient_failure_is_retried_then_fails_with_its_reason(
    services: Services, demo_wav: Path
) -> None:
    before = _dead_letters(services.settings.broker_url or "")
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.delete(accepted.track.original_key or "")  # every attempt finds it missing
    track, job = _final_and_dead_lettered(services, accepted.track.id, before)
    assert track.status == "failed" and job.state == "failed"
    assert job.attempts == 2
    assert track.error_message.startswith("processing failed after 2 attempts: ")
    assert "originals/" in track.error_message


def test_in_memory_engine_dead_letters_too(database_url: str, local_store, demo_wav: Path  # type: ignore[no-untyped-def]
                                           ) -> None:
    settings = Settings(database_url=database_url)
    services = Services(settings=settings, db=Database(database_url), store=local_store)
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    local_store.put(accepted.track.original_key or "", b"text, not audio" * 50,
                    content_type="audio/wav")
    try:
        with running_worker(services) as engine:
            track, _ = _wait_final(services, accepted.track.id)
            deadline = time.monotonic() + 10
            while engine.dead_letters() == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        services.close()
    assert track.status == "failed" and engine.dead_letters() == 1
