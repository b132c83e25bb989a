"""Jobs that cannot succeed end `failed` with a reason and in the dead-letter queue, never stuck."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import pytest

from storage.db import Database
from storage.repositories import unit_of_work
from storage.s3 import S3Store
from tests.helpers import operator, running_worker, track_owner
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import Accepted, accept

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


# -- bombs past the upload's probe, and jobs that must stop at once --------------------------


@pytest.fixture
def bomb_services(services: Services) -> Iterator[Services]:
    """One AAC rung and a one-minute limit: a bomb trips it in well under a second."""
    settings = services.settings.replace(max_duration_s=60.0, ladder=(64_000,))
    yield Services(settings=settings, db=services.db, store=services.store)


def _hls_objects(services: Services, track_id) -> list[str]:  # type: ignore[no-untyped-def]
    return [o.key for p in (f"hls/{track_id}/", f"analysis/{track_id}/")
            for o in services.store.list(p)]


def test_audio_without_a_length_stops_at_the_limit_and_fails_saying_so(
    bomb_services: Services, demo_wav: Path, tmp_path: Path
) -> None:
    """An original swapped after the probe for a FLAC that says nothing of its length."""
    from tests.helpers import silent_flac

    services = bomb_services
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.put_file(accepted.track.original_key or "",
                            silent_flac(tmp_path / "bomb.flac", 180, claim_s=0),
                            content_type="audio/wav")
    before = _dead_letters(services.settings.broker_url or "")
    track, job = _final_and_dead_lettered(services, accepted.track.id, before)
    assert track.status == "failed" and track.error_code == "too_long"
    assert track.error_message == ("the audio is longer than the limit of 01:00 (60 s): "
                                   "decoding stopped there")
    assert job.attempts == 1 and job.error_code == "too_long"
    assert _hls_objects(services, track.id) == []  # its segments so far are removed
    assert services.store.exists(accepted.track.original_key or "")  # kept for a retry


@pytest.mark.parametrize(("claim", "reason"), [
    (10, "the header says 10.0 s but the data goes on past 10.5 s"),
    (170, "the header says 170.0 s but the data goes on past"),
])
def test_a_header_that_lies_cannot_get_past_the_decoder(
    bomb_services: Services, demo_wav: Path, tmp_path: Path, claim: int, reason: str
) -> None:
    """The original swapped after the probe for a FLAC whose header hides its length."""
    from tests.helpers import silent_flac

    services = bomb_services
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.put_file(accepted.track.original_key or "",
                            silent_flac(tmp_path / "lying.flac", 600, claim_s=claim),
                            content_type="audio/wav")
    before = _dead_letters(services.settings.broker_url or "")
    track, job = _final_and_dead_lettered(services, accepted.track.id, before)
    assert track.status == "failed" and job.attempts == 1
    if claim < 60:
        assert track.error_code == "not_audio" and reason in track.error_message
    else:  # the limit comes first
        assert track.error_code == "too_long", track.error_message


def test_a_cut_flac_found_late_fails_naming_where_its_data_ends(
    services: Services, demo_wav: Path, tmp_path: Path
) -> None:
    import subprocess

    whole = tmp_path / "whole.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(demo_wav), str(whole)],
                   check=True, timeout=60)
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.put(accepted.track.original_key or "",
                       whole.read_bytes()[: whole.stat().st_size // 2], content_type="audio/wav")
    track, job = _final_and_dead_lettered(services, accepted.track.id,
                                          _dead_letters(services.settings.broker_url or ""))
    assert track.status == "failed" and track.error_code == "not_audio"
    assert track.error_message.startswith("truncated or corrupt audio: the header says 30.0 s "
                                          "but the data ends after 1"), track.error_message


def _running(services: Services, track_id, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with unit_of_work(services.db) as uow:
            track = uow.tracks.get(track_id)
        if track is not None and track.playable_at is not None:
            return
        time.sleep(0.05)
    raise AssertionError(f"track {track_id} never started streaming")


def _logged(caplog: pytest.LogCaptureFixture, words: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if any(words in r.getMessage() for r in caplog.records):
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"no {words!r} in the log after {timeout} s")


@pytest.fixture
def hour_of_silence(tmp_path: Path) -> Path:
    """Two hours of silence that do not say how long they are: a pass that goes on to the end
    takes half a minute."""
    from tests.helpers import silent_flac

    return silent_flac(tmp_path / "hours.flac", 7200, claim_s=0)


@contextmanager
def _running_long(
    services: Services, demo_wav: Path, long: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[Services, Accepted]]:
    """With a worker (one rung, its log in ``caplog``) running, start a job on ``long`` behind
    a 30 s track's row: its progress (30 s expected) is reported in the first second, then never
    again, so only the lease can notice anything. Gives the services and the accepted upload."""
    caplog.set_level(logging.INFO, logger="veza.ingest")
    services = Services(services.settings.replace(ladder=(64_000,)), services.db, services.store)
    with running_worker(services):
        accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
        services.store.put_file(accepted.track.original_key or "", long, content_type="audio/wav")
        _running(services, accepted.track.id)
        time.sleep(1.5)  # past the last progress report
        yield services, accepted


def test_deleting_a_track_stops_its_job_within_a_block(
    services: Services, demo_wav: Path, hour_of_silence: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from veza.catalogue import delete_track

    with _running_long(services, demo_wav, hour_of_silence, caplog) as (services, accepted):
        delete_track(services, accepted.track.id, operator())
        # The lease is renewed every second; the pass stops at its next block.
        assert _logged(caplog, "cancelled: track", timeout=5) < 5
    assert [o.key for p in ("originals/", "hls/", "analysis/")
            for o in services.store.list(p)] == []


def test_a_job_whose_lease_is_lost_stops_within_a_block_and_leaves_it_alone(
    services: Services, demo_wav: Path, hour_of_silence: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _running_long(services, demo_wav, hour_of_silence, caplog) as (services, accepted):
        with unit_of_work(services.db) as uow:  # as when the reaper gave it to another worker
            uow.cur.execute("UPDATE jobs SET worker = 'elsewhere/1/1' WHERE track_id = %s",
                            (accepted.track.id,))
        assert _logged(caplog, "stopped, another worker has the job", timeout=5) < 5
        time.sleep(0.5)
        with unit_of_work(services.db) as uow:
            track = uow.tracks.get(accepted.track.id)
            job = uow.jobs.latest_for_track(accepted.track.id)
    # This worker neither failed nor finished what is now another's.
    assert track is not None and track.status == "processing" and track.error_code is None
    assert job is not None and job.state == "running" and job.error_code is None
    assert services.store.exists(accepted.track.original_key or "")
