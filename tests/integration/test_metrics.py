"""What operators see: /metrics after real ingests and failures, and /readyz naming what is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from storage.repositories import unit_of_work
from storage.s3 import S3Store
from tasks.actors import build_engine, build_relay
from tests.helpers import artist_token, running_worker, track_owner
from tests.plugins.s3 import free_port
from veza import metrics
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _settings(database_url: str, broker_url: str | None, s3_endpoint: str) -> Settings:
    return Settings(database_url=database_url, broker_url=broker_url, s3_endpoint=s3_endpoint,
                    s3_access_key="x", s3_secret_key="x", job_max_attempts=2)


@pytest.fixture
def services(database_url: str, s3_store: S3Store, broker_url: str) -> Iterator[Services]:
    svc = Services(settings=_settings(database_url, broker_url, s3_store.endpoint),
                   db=Database(database_url), store=s3_store)
    yield svc
    svc.close()


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return create_app(services.settings, services).test_client()


def scrape(client: FlaskClient) -> Samples:
    """Fetch /metrics and index every sample by name and labels."""
    started = time.monotonic()
    response = client.get("/metrics")
    assert time.monotonic() - started < 15, "a scrape must not hang"
    assert response.status_code == 200, response.text
    assert response.content_type.startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value; 0 for a labelled series not counted yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _wait_final(services: Services, track_ids: list, timeout: float = 120) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with unit_of_work(services.db) as uow:
            statuses = [uow.tracks.get(t).status for t in track_ids]  # type: ignore[union-attr]
        if all(s in ("ready", "failed") for s in statuses):
            return
        time.sleep(0.2)
    raise AssertionError(f"tracks still {statuses}")


def test_an_ingest_shows_queue_depth_then_jobs_stage_times_and_requests(
    client: FlaskClient, services: Services, demo_wav: Path
) -> None:
    before = scrape(client)
    assert value(before, "veza_database_up") == 1 and value(before, "veza_broker_up") == 1
    response = client.post("/api/v1/tracks?filename=song.wav", data=demo_wav.read_bytes(),
                           content_type="audio/wav", headers=artist_token(client))
    assert response.status_code == 202, response.get_json()
    track_id = response.get_json()["id"]

    # Published to RabbitMQ with no worker running: the message waits in the queue.
    engine = build_engine(services)
    try:
        assert build_relay(services, engine).relay_once() == 1
    finally:
        engine.stop()
    waiting = scrape(client)
    assert value(waiting, "veza_jobs", state="queued") == 1
    assert value(waiting, "veza_jobs", state="succeeded") == 0
    assert value(waiting, "veza_queue_depth", queue="veza.ingest") == \
        value(before, "veza_queue_depth", queue="veza.ingest") + 1

    with running_worker(services):
        _wait_final(services, [track_id])
    after = scrape(client)
    assert value(after, "veza_jobs", state="succeeded") == 1
    assert value(after, "veza_jobs", state="queued") == 0
    assert value(after, "veza_queue_depth", queue="veza.ingest") == \
        value(before, "veza_queue_depth", queue="veza.ingest")
    assert value(after, "veza_jobs_finished_total", outcome="done") == \
        value(before, "veza_jobs_finished_total", outcome="done") + 1

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for stage in ("decode", "loudness", "encode_finish", "total"):
        assert delta("veza_stage_duration_seconds_count", stage=stage) == 1, stage
        assert delta("veza_stage_realtime_factor_count", stage=stage) == 1, stage
    # The real-time factor is the 30 s of audio over the stage's wall time.
    wall = delta("veza_stage_duration_seconds_sum", stage="total")
    rtf = delta("veza_stage_realtime_factor_sum", stage="total")
    assert wall > 0 and rtf * wall == pytest.approx(30.0, rel=1e-3)
    assert delta("veza_http_requests_total", endpoint="/api/v1/tracks", method="POST",
                 status="202") == 1
    assert delta("veza_http_request_duration_seconds_count", endpoint="/api/v1/tracks",
                 method="POST") == 1


def test_retries_and_dead_letters_are_counted(
    client: FlaskClient, services: Services, demo_wav: Path
) -> None:
    owner = track_owner(services)
    permanent = accept(services, demo_wav, owner_id=owner, filename="bad.wav")
    services.store.put(permanent.track.original_key or "", b"\x00garbage" * 500,
                       content_type="audio/wav")
    transient = accept(services, demo_wav, owner_id=owner, filename="gone.wav")
    services.store.delete(transient.track.original_key or "")  # every attempt finds it missing
    before = scrape(client)
    with running_worker(services):
        _wait_final(services, [permanent.track.id, transient.track.id])
        deadline = time.monotonic() + 10
        while True:  # the dead-lettering follows the job's final state
            after = scrape(client)
            if value(after, "veza_dead_letter_depth", queue="veza.ingest.XQ") == \
                    value(before, "veza_dead_letter_depth", queue="veza.ingest.XQ") + 2:
                break
            assert time.monotonic() < deadline, "the messages never reached the dead letters"
            time.sleep(0.2)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("veza_job_retries_total", reason="transient") == 1  # the missing original
    assert delta("veza_jobs_finished_total", outcome="retry") == 1
    assert delta("veza_jobs_finished_total", outcome="failed") == 2
    assert delta("veza_jobs_finished_total", outcome="done") == 0
    assert delta("veza_dead_lettered_total", task="veza.ingest") == 2
    assert value(after, "veza_jobs", state="failed") == 2


def test_queue_depth_of_the_in_process_broker(
    database_url: str, local_store: LocalStore, demo_wav: Path
) -> None:
    settings = Settings(database_url=database_url)
    services = Services(settings=settings, db=Database(database_url), store=local_store)
    engine = build_engine(services)
    metrics.read_queues_in_process(metrics.memory_reader(engine.broker))
    try:
        accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
        assert build_relay(services, engine).relay_once() == 1
        samples = scrape(create_app(settings, services).test_client())
    finally:
        metrics.read_queues_in_process(None)
        engine.stop()
        services.close()
    assert value(samples, "veza_broker_up") == 1
    assert value(samples, "veza_queue_depth", queue="veza.ingest") == 1
    assert value(samples, "veza_dead_letter_depth", queue="veza.ingest.XQ") == 0
    assert value(samples, "veza_jobs", state="queued") == 1


def _closed_port() -> int:
    return free_port()  # bound once and released: nothing listens there


def test_a_scrape_answers_when_the_broker_or_the_database_is_down(
    database_url: str, s3_store: S3Store
) -> None:
    dead_broker = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"
    dead_db = f"postgresql://postgres@127.0.0.1:{_closed_port()}/veza"
    for db_url, broker, up in ((database_url, dead_broker, {"veza_database_up": 1,
                                                             "veza_broker_up": 0}),
                               (dead_db, None, {"veza_database_up": 0})):
        settings = _settings(db_url, broker, s3_store.endpoint)
        services = Services(settings=settings, db=Database(db_url), store=s3_store)
        try:
            samples = scrape(create_app(settings, services).test_client())
        finally:
            services.close()
        for name, expected in up.items():
            assert value(samples, name) == expected, (name, db_url, broker)
        # What could be read still is.
        assert (("veza_jobs", (("state", "queued"),)) in samples) == (db_url == database_url)
        assert ("veza_queue_depth", (("queue", "veza.ingest"),)) not in samples


def test_readyz_is_ready_when_everything_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok",
                                                                 "broker": "ok", "store": "ok"}}
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("down", ["database", "broker", "store"])
def test_readyz_names_the_component_that_is_down(
    down: str, database_url: str, broker_url: str, s3_store: S3Store
) -> None:
    port = _closed_port()
    db_url = f"postgresql://postgres@127.0.0.1:{port}/veza" if down == "database" \
        else database_url
    broker = f"amqp://guest:guest@127.0.0.1:{port}/%2F" if down == "broker" else broker_url
    store = S3Store(endpoint=f"127.0.0.1:{port}", access_key="x", secret_key="x",
                    bucket=s3_store.bucket) if down == "store" else s3_store
    settings = _settings(db_url, broker, s3_store.endpoint)
    services = Services(settings=settings, db=Database(db_url), store=store)
    try:
        client = create_app(settings, services).test_client()
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        services.close()
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["code"] == "not_ready" and body["down"] == [down]
    assert body["detail"].startswith(f"not ready: {down}: ")
    assert {k: v == "ok" for k, v in body["checks"].items()} == {
        name: name != down for name in ("database", "broker", "store")}
