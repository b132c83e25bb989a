"""The distributed stack as real processes, and the checks every fault test ends with."""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import m3u8
import pika
import psycopg2
import psycopg2.extras
import pytest
import requests

from storage.s3 import S3Store
from tests.e2e.conftest import Proc, start, stop, wait_for, wait_http
from tests.helpers import artist_token, decode_strictly, fetch_stream, ffprobe_duration
from veza.queues import engine_queues
from veza.uploads import INGEST_TASK

SEGMENT_S = 6.0
LADDER = ("aac_64k", "aac_128k")


def kill_9(proc: Proc) -> None:
    """End a process as a crash would: no signal handler, no cleanup."""
    os.kill(proc.process.pid, signal.SIGKILL)
    proc.process.wait(timeout=10)


@dataclass
class Stack:
    """API, relay and worker processes of one test, sharing one set of VEZA_* variables."""

    env: dict[str, str]
    workdir: Path
    port: int
    procs: list[Proc] = field(default_factory=list)
    _artist: dict[str, str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str, *args: str) -> Proc:
        """Start ``veza ARGS`` with this stack's environment, logging to NAME.log."""
        proc = start(list(args), self.env, self.workdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def api(self) -> Proc:
        proc = self.start("api", "serve", "api", "--workers", "2")
        wait_http(f"{self.base}/healthz", proc)
        return proc

    def relay(self, name: str = "relay") -> Proc:
        proc = self.start(name, "serve", "relay")
        wait_for(lambda: "outbox relay and reaper running" in proc.output(),
                 f"{name} started", 60, (proc,))
        return proc

    def worker(self, name: str = "worker") -> Proc:
        """Start a worker without a relay of its own, and wait until it consumes."""
        proc = self.start(name, "serve", "worker", "--threads", "1", "--no-relay")
        wait_for(lambda: "worker running" in proc.output(), f"{name} started", 120, (proc,))
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc, timeout=20)

    @property
    def ingest_queue(self) -> str:
        """The broker queue ingest jobs wait in, for this stack's engine."""
        return engine_queues(self.env["VEZA_TASK_ENGINE"], [INGEST_TASK]).work[0]

    @property
    def dead_letter_queue(self) -> str:
        return engine_queues(self.env["VEZA_TASK_ENGINE"], [INGEST_TASK]).dead[0]

    def artist(self) -> dict[str, str]:
        """Return the headers of this stack's artist, registering them on first use."""
        if self._artist is None:
            self._artist = artist_token(self.base)
        return self._artist

    def upload(self, wav: Path, name: str) -> dict[str, Any]:
        """Upload a file as a user would; every upload must be accepted."""
        response = requests.post(f"{self.base}/api/v1/tracks?filename={name}",
                                 data=wav.read_bytes(), headers=self.artist(), timeout=60)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def track(self, track_id: str) -> dict[str, Any]:
        # As the owner: only they see the job and the failure reason.
        response = requests.get(f"{self.base}/api/v1/tracks/{track_id}",
                                headers=self.artist(), timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_processing(self, track_id: str, *, progress: int = 5, timeout: float = 120
                        ) -> dict[str, Any]:
        """Wait until a worker is part-way through the track's job."""
        def running() -> dict[str, Any] | None:
            body = self.track(track_id)
            job = body["job"] or {}
            if body["status"] in ("ready", "failed"):
                raise AssertionError(f"the job ended before the fault was injected: {body}")
            busy = job.get("state") == "running" and job.get("progress", 0) >= progress
            return body if busy else None

        return dict(wait_for(running, f"track {track_id} processing", timeout,
                             tuple(self.procs)))

    def wait_settled(self, track_ids: list[str], timeout: float = 180) -> list[dict[str, Any]]:
        """Wait until every track is ready or failed; none may stay queued or processing."""
        def settled() -> list[dict[str, Any]] | None:
            bodies = [self.track(t) for t in track_ids]
            return bodies if all(b["status"] in ("ready", "failed") for b in bodies) else None

        return list(wait_for(settled, "every track ready or failed", timeout, tuple(self.procs)))

    def store(self) -> S3Store:
        return S3Store(endpoint=self.env["VEZA_S3_ENDPOINT"],
                       access_key=self.env["VEZA_S3_ACCESS_KEY"],
                       secret_key=self.env["VEZA_S3_SECRET_KEY"],
                       bucket=self.env["VEZA_S3_BUCKET"])

    def assert_no_tracebacks(self, *allowed: Proc) -> None:
        for proc in self.procs:
            if proc not in allowed:
                assert "Traceback" not in proc.output(), proc.output()[-4000:]


def rows(database_url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()]
    finally:
        conn.close()


def queue_depth(broker_url: str, queue: str) -> int:
    """Return how many messages wait in a RabbitMQ queue (0 when it does not exist)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).method.message_count)
        except pika.exceptions.ChannelClosedByBroker:
            return 0
    finally:
        if connection.is_open:
            connection.close()


def assert_nothing_stuck(database_url: str) -> None:
    """No track queued or processing, no job unfinished, no outbox message unpublished."""
    stuck = rows(database_url, "SELECT id, status FROM tracks "
                               "WHERE status NOT IN ('ready', 'failed')")
    assert stuck == [], stuck
    jobs = rows(database_url, "SELECT id, state FROM jobs WHERE state NOT IN "
                              "('succeeded', 'failed')")
    assert jobs == [], jobs
    pending = rows(database_url, "SELECT task, attempts, last_error FROM outbox "
                                 "WHERE published_at IS NULL")
    assert pending == [], pending


def assert_stream_intact(stack: Stack, body: dict[str, Any], *, duration_s: float,
                         tmp: Path) -> None:
    """The track is ready, its objects are each stored once with the segment count its
    length implies, and its stream decodes strictly to the right duration."""
    assert body["status"] == "ready", body
    track_id = body["id"]
    store = stack.store()
    keys = [info.key for info in store.list(f"hls/{track_id}/")]
    assert len(keys) == len(set(keys)), keys
    expected_segments = math.ceil(duration_s / SEGMENT_S)
    expected = {f"hls/{track_id}/master.m3u8"}
    for rendition in LADDER:
        prefix = f"hls/{track_id}/{rendition}/"
        media = m3u8.loads(store.get(prefix + "index.m3u8").decode())
        assert media.is_endlist, rendition
        listed = [segment.uri for segment in media.segments]
        assert listed == [f"seg_{i:05d}.m4s" for i in range(1, expected_segments + 1)], listed
        expected |= {prefix + "index.m3u8", prefix + "init.mp4"}
        expected |= {prefix + name for name in listed}
    assert set(keys) == expected, sorted(set(keys) ^ expected)
    originals = [info.key for info in store.list(f"originals/{track_id}/")]
    assert len(originals) == 1, originals
    renditions = {r["name"]: r["segments"] for r in body["stream"]["renditions"]}
    assert renditions == dict.fromkeys(LADDER, expected_segments)
    joined = fetch_stream(body["stream"]["master_url"], tmp / f"{track_id}.mp4")
    wav = tmp / f"{track_id}.wav"
    decode_strictly(joined, wav)
    assert ffprobe_duration(wav) == pytest.approx(duration_s, abs=0.1)


class Restartable(Protocol):
    def stop(self) -> None: ...

    def start(self) -> None: ...


def outage_mid_job(stack: Stack, server: Restartable, wav: Path, *, outage_s: float,
                   duration_s: float, tmp: Path) -> dict[str, Any]:
    """Start the API, relay and a worker, stop ``server`` while a job runs for ``outage_s``,
    start it again, and return the track once settled, its stream checked intact."""
    stack.api()
    stack.relay()
    stack.worker()
    accepted = stack.upload(wav, "take.wav")
    stack.wait_processing(accepted["id"])
    server.stop()
    time.sleep(outage_s)
    server.start()
    [body] = stack.wait_settled([accepted["id"]])
    assert_stream_intact(stack, body, duration_s=duration_s, tmp=tmp)
    return body
