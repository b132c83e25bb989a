"""Track events leave through the outbox onto the veza.events topic exchange."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from storage.db import Database
from storage.repositories import unit_of_work
from storage.s3 import S3Store
from tasks.actors import build_engine, build_relay
from tasks.events import EXCHANGE
from tests.helpers import track_owner
from veza.ingest import run_ingest
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration


@pytest.fixture
def services(database_url: str, s3_store: S3Store, broker_url: str) -> Iterator[Services]:
    settings = Settings(database_url=database_url, broker_url=broker_url,
                        s3_endpoint=s3_store.endpoint, s3_access_key="x", s3_secret_key="x")
    svc = Services(settings=settings, db=Database(database_url), store=s3_store)
    yield svc
    svc.close()


@pytest.fixture
def listener(broker_url: str) -> Iterator[tuple[pika.adapters.blocking_connection.BlockingChannel,
                                                str]]:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key="track.*")
    yield channel, queue
    connection.close()


def _collect(channel, queue: str, track_id: str, until: str, timeout: float = 120) -> list[dict]:  # type: ignore[no-untyped-def]
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.1)
            continue
        assert props.content_type == "application/json" and props.delivery_mode == 2
        event = json.loads(body)
        assert event["type"] == method.routing_key
        if event["track_id"] == track_id:
            events.append(event)
            if event["type"] == until:
                return events
    raise AssertionError(f"no {until} for {track_id} within {timeout} s; got {events}")


def test_progress_and_ready_events_follow_an_upload(
    services: Services, listener, demo_wav: Path  # type: ignore[no-untyped-def]
) -> None:
    channel, queue = listener
    engine = build_engine(services)
    relay = build_relay(services, engine)
    relay.start()
    engine.start_worker(threads=1)
    try:
        accepted = accept(services, demo_wav, owner_id=track_owner(services),
                          filename="demo.wav")
        track_id = str(accepted.track.id)
        events = _collect(channel, queue, track_id, until="track.ready")
    finally:
        relay.stop()
        engine.stop()
    assert all(e["schema"] == 1 and e["job_id"] == str(accepted.job.id) for e in events)
    ready = events[-1]
    assert ready["duration_s"] == pytest.approx(30.0, abs=0.05)
    assert ready["renditions"] == ["aac_64k", "aac_128k", "aac_256k"]
    progress = [e["progress"] for e in events if e["type"] == "track.progress"]
    assert progress == sorted(progress) and all(0 < p < 100 for p in progress)


def test_a_track_that_fails_late_announces_why(
    services: Services, listener, demo_wav: Path  # type: ignore[no-untyped-def]
) -> None:
    channel, queue = listener
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    # The original is replaced by something that is not audio after the upload was accepted.
    services.store.put(accepted.track.original_key or "", b"not audio any more" * 100,
                       content_type="audio/wav")
    run_ingest(services, job_id=str(accepted.job.id), track_id=str(accepted.track.id))
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(accepted.track.id)
        job = uow.jobs.get(accepted.job.id)
    assert track is not None and track.status == "failed" and track.error_code == "not_audio"
    assert job is not None and job.state == "failed" and job.attempts == 1
    engine = build_engine(services)
    relay = build_relay(services, engine)
    try:
        relay.relay_once()
    finally:
        relay.stop()
        engine.stop()
    [failed] = _collect(channel, queue, str(accepted.track.id), until="track.failed")
    assert failed["error"]["code"] == "not_audio"
    assert "not an audio file" in failed["error"]["message"]


def test_events_reach_in_process_subscribers_on_embedded_defaults(
    database_url: str, local_store, demo_wav: Path  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(database_url=database_url)
    services = Services(settings=settings, db=Database(database_url), store=local_store)
    engine = build_engine(services)
    relay = build_relay(services, engine)
    seen: list[tuple[str, dict]] = []
    relay.events.subscribe(lambda key, event: seen.append((key, event)))
    relay.start()
    engine.start_worker(threads=1)
    try:
        accepted = accept(services, demo_wav, owner_id=track_owner(services),
                          filename="demo.wav")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(k == "track.ready" for k, _ in seen):
            time.sleep(0.1)
    finally:
        relay.stop()
        engine.stop()
        services.close()
    ready = [e for k, e in seen if k == "track.ready"]
    assert ready and ready[0]["track_id"] == str(accepted.track.id)
    assert uuid.UUID(ready[0]["job_id"]) == accepted.job.id


def test_veza_jobs_retry_requeues_a_failed_job(
    services: Services, demo_wav: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from veza.cli import main

    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    original = services.store.get(accepted.track.original_key or "")
    services.store.put(accepted.track.original_key or "", b"broken" * 100,
                       content_type="audio/wav")
    run_ingest(services, job_id=str(accepted.job.id), track_id=str(accepted.track.id))
    monkeypatch.setenv("VEZA_DATABASE_URL", services.settings.database_url or "")

    # Refused while the job is not failed, and for ids that do not exist.
    assert main(["jobs", "retry", str(uuid.uuid4())]) == 2
    assert "no job with id" in capsys.readouterr().err
    assert main(["jobs", "retry", "nope"]) == 2
    assert "not a job id: 'nope'" in capsys.readouterr().err

    # The artist fixes the original (here: puts it back); the retry then succeeds.
    services.store.put(accepted.track.original_key or "", original, content_type="audio/wav")
    assert main(["jobs", "retry", str(accepted.job.id)]) == 0
    assert f"job {accepted.job.id} queued again" in capsys.readouterr().out
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(accepted.job.id)
        assert job is not None and (job.state, job.attempts, job.error_code) == ("queued", 0, None)
        assert uow.tracks.get(accepted.track.id).status == "queued"  # type: ignore[union-attr]
        assert uow.outbox.pending() >= 1
    assert main(["jobs", "retry", str(accepted.job.id)]) == 2
    assert "is queued; only failed jobs can be retried" in capsys.readouterr().err
    run_ingest(services, job_id=str(accepted.job.id), track_id=str(accepted.track.id))
    with unit_of_work(services.db) as uow:
        assert uow.tracks.get(accepted.track.id).status == "ready"  # type: ignore[union-attr]
