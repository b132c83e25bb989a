"""Metrics and logs of the real processes: a worker's own endpoint, and the API's /metrics
summed over its gunicorn workers."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from storage.db import Database
from storage.repositories import unit_of_work
from tests.e2e.conftest import start, stop, wait_http
from tests.helpers import track_owner
from tests.plugins.s3 import S3Server, free_port
from veza.runtime import Services, build_store
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.e2e


def _value(url: str, name: str, **labels: str) -> float:
    text = requests.get(url, timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def _env(database_url: str, broker_url: str, s3: S3Server, tmp_path: Path) -> dict[str, str]:
    return {
        "VEZA_DATABASE_URL": database_url,
        "VEZA_BROKER_URL": broker_url,
        "VEZA_S3_ENDPOINT": s3.endpoint,
        "VEZA_S3_ACCESS_KEY": s3.access_key,
        "VEZA_S3_SECRET_KEY": s3.secret_key,
        "VEZA_S3_BUCKET": f"veza-metrics-{uuid.uuid4().hex[:8]}",
        "VEZA_DATA_DIR": str(tmp_path / "data"),
    }


def test_a_worker_serves_its_metrics_and_logs_json_lines_with_ids(
    database_url: str, broker_url: str, nanio_server: S3Server, demo_wav: Path, tmp_path: Path
) -> None:
    metrics_port = free_port()
    env = {**_env(database_url, broker_url, nanio_server, tmp_path),
           "VEZA_METRICS_PORT": str(metrics_port), "VEZA_LOG_FORMAT": "json"}
    settings = Settings.from_env(env)
    store = build_store(settings)
    store.ensure_bucket()
    services = Services(settings=settings, db=Database(database_url), store=store)
    worker = start(["serve", "worker", "--threads", "1"], env, tmp_path / "worker.log")
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        wait_http(url, worker)
        accepted = accept(services, demo_wav, owner_id=track_owner(services),
                          filename="x.wav")
        deadline = time.monotonic() + 180
        while _value(url, "veza_jobs_finished_total", outcome="done") < 1:
            assert time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.5)
        assert _value(url, "veza_stage_duration_seconds_count", stage="total") == 1
        assert _value(url, "veza_outbox_published_total", kind="veza.ingest") == 1
        with unit_of_work(services.db) as uow:
            job = uow.jobs.latest_for_track(accepted.track.id)
    finally:
        code = stop(worker)
        services.close()
    assert code == 0, worker.output()[-3000:]
    records = [json.loads(line) for line in worker.output().splitlines() if line.strip()]
    ready = [r for r in records if "ready" in r["message"] and "track_id" in r]
    assert ready and ready[0]["track_id"] == str(accepted.track.id)
    assert job is not None and ready[0]["job_id"] == str(job.id)
    assert any(r["message"] == "worker stopping" and "track_id" not in r for r in records)


def test_the_api_sums_the_metrics_of_its_gunicorn_workers(
    database_url: str, broker_url: str, nanio_server: S3Server, tmp_path: Path
) -> None:
    port = free_port()
    env = {**_env(database_url, broker_url, nanio_server, tmp_path), "VEZA_API_PORT": str(port),
           "VEZA_LOG_FORMAT": "json"}
    api = start(["serve", "api", "--workers", "2", "--threads", "1"], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", api)
        missing = [str(uuid.uuid4()) for _ in range(6)]
        for track_id in missing:
            assert requests.get(f"{base}/api/v1/tracks/{track_id}", timeout=10).status_code \
                == 404
        # Whichever worker answers the scrape counts the requests of both.
        for _ in range(4):
            assert _value(f"{base}/metrics", "veza_http_requests_total",
                          endpoint="/api/v1/tracks/<uuid:track_id>", method="GET",
                          status="404") == 6
        assert _value(f"{base}/metrics", "veza_jobs", state="queued") == 0
        assert _value(f"{base}/metrics", "veza_broker_up") == 1
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
    finally:
        code = stop(api)
    assert code == 0, api.output()[-3000:]
    # Gunicorn's own lines stay text; the app's are JSON, each request naming its track.
    records = [json.loads(line) for line in api.output().splitlines() if line.startswith("{")]
    logged = [r.get("track_id") for r in records if r["message"].startswith("GET /api/v1/tracks/")]
    assert sorted(logged) == sorted(missing)
