"""Dramatiq against Celery on the same ingest workload, each with a real `veza serve worker`.

For each engine: a private RabbitMQ vhost, one worker process (one worker thread, or one prefork
child) after a warm-up track, then a batch of generated tracks queued at once. Measured: tracks
per hour until the last is ready, worker CPU seconds per track (the worker's whole process tree),
the median `engine.enqueue` latency with publisher confirms, and the median
`POST /api/v1/tracks` latency (that request only writes the outbox row; the relay enqueues
later, off the request path). Figures are Celery/Dramatiq ratios from the same run.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from benchmarks.harness import Target, bench_artist, bench_env
from benchmarks.inputs import music_wav
from benchmarks.servers import private_database, private_vhost
from benchmarks.session import Session, app_transport

ENGINES = ("dramatiq", "celery")
VEZA = str(Path(sys.executable).with_name("veza"))


@dataclass(frozen=True)
class Sizes:
    tracks: int  # queued at once, per engine and round
    track_s: float
    rounds: int
    enqueues: int
    posts: int


FULL = Sizes(tracks=6, track_s=20.0, rounds=3, enqueues=100, posts=20)
QUICK = Sizes(tracks=2, track_s=20.0, rounds=1, enqueues=20, posts=5)


def _tree_cpu(proc: psutil.Process) -> float:
    """CPU seconds of a process and its live descendants."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _wait(check: Any, what: str, timeout: float, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _all_ready(services: Any, track_ids: list[uuid.UUID]) -> bool:
    from storage.repositories import unit_of_work

    with unit_of_work(services.db) as uow:
        tracks = [uow.tracks.get(t) for t in track_ids]
    statuses = [t.status if t is not None else "missing" for t in tracks]
    if "failed" in statuses or "missing" in statuses:
        raise RuntimeError(f"a benchmark track did not make it: {statuses}")
    return all(s == "ready" for s in statuses)


def _relay_all(relay: Any) -> None:
    while relay.relay_once():
        pass


def _env(kind: str, dsn: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    return {**bench_env(), "VEZA_DATABASE_URL": dsn, "VEZA_BROKER_URL": broker_url,
            "VEZA_TASK_ENGINE": kind, "VEZA_DATA_DIR": str(data_dir),
            "VEZA_SIGNING_KEY": "bench", "VEZA_PUBLIC_URL": "http://127.0.0.1:1"}


def _artist(dsn: str, broker_url: str, data_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The artist's id and the tokens of the one session it keeps over every round."""
    from storage.db import Database
    from veza.runtime import Services, build_store
    from veza.settings import Settings

    settings = Settings.from_env(_env(ENGINES[0], dsn, broker_url, data_dir))
    services = Services(settings=settings, db=Database(dsn), store=build_store(settings))
    try:
        return bench_artist(services)
    finally:
        services.close()


def _round(kind: str, dsn: str, broker_url: str, data_dir: Path, artist: tuple[Any, Session],
           *, tracks: int, duration_s: float, enqueues: int, posts: int) -> dict[str, float]:
    """Run one engine's worker through warm-up and the workload; return its figures."""
    from api import create_app
    from storage.db import Database
    from tasks.actors import build_engine, build_relay
    from tasks.engine import queue_depth
    from veza.runtime import Services, build_store
    from veza.settings import Settings
    from veza.uploads import INGEST_TASK, accept, ingest_payload

    env = _env(kind, dsn, broker_url, data_dir)
    settings = Settings.from_env(env)
    services = Services(settings=settings, db=Database(dsn), store=build_store(settings))
    engine = build_engine(services)
    relay = build_relay(services, engine)
    log = open(data_dir / f"worker-{kind}.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen([VEZA, "serve", "worker", "--no-relay", "--threads", "1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              process_group=0)
    try:
        import pika

        def consuming() -> bool:
            connection = pika.BlockingConnection(pika.URLParameters(broker_url))
            try:
                return bool(connection.channel().queue_declare(
                    engine.queue(INGEST_TASK), passive=True).method.consumer_count)
            except pika.exceptions.ChannelClosedByBroker:
                return False
            finally:
                connection.close()

        queue_depth(broker_url, engine.queue(INGEST_TASK))
        owner, session = artist
        warm = accept(services, music_wav(5.0), owner_id=owner, filename="warm.wav")
        _relay_all(relay)
        _wait(consuming, "the worker to consume", 300, worker)
        _wait(lambda: _all_ready(services, [warm.track.id]), "the warm-up track", 300, worker)

        wav = music_wav(duration_s)
        ids = [accept(services, wav, owner_id=owner, filename=f"t{i}.wav").track.id
               for i in range(tracks)]
        proc = psutil.Process(worker.pid)
        cpu0, start = _tree_cpu(proc), time.monotonic()
        _relay_all(relay)
        _wait(lambda: _all_ready(services, ids), "the tracks", 600 + 60 * tracks, worker)
        wall = time.monotonic() - start
        cpu = _tree_cpu(proc) - cpu0

        # Enqueue alone: jobs that do not exist, which the worker skips at once.
        latencies = []
        for _ in range(enqueues):
            t0 = time.perf_counter()
            engine.enqueue(INGEST_TASK, ingest_payload(uuid.uuid4(), uuid.uuid4(), 20.0))
            latencies.append(time.perf_counter() - t0)

        session.send = app_transport(create_app(settings, services).test_client())
        body = music_wav(1.0).read_bytes()
        post = []
        for _ in range(posts):
            t0 = time.perf_counter()
            # The first upload after the access token expired also refreshes the session; the
            # median keeps that one out of the figure.
            response = session.request("POST", "/api/v1/tracks?filename=b.wav", body=body,
                                       headers={"Content-Type": "audio/wav"})
            post.append(time.perf_counter() - t0)
            if response.status != 202:
                raise RuntimeError(f"POST /api/v1/tracks answered {response.status}")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
        relay.stop()
        engine.stop()
        services.close()
    return {"tracks_per_hour": tracks / wall * 3600, "cpu_s_per_track": cpu / tracks,
            "wall_s": wall, "enqueue_ms": statistics.median(latencies) * 1000,
            "post_ms": statistics.median(post) * 1000}


def run(*, quick: bool = False) -> dict[str, Any]:
    """Alternate the engines over the rounds; report medians and Celery/Dramatiq ratios."""
    sizes = QUICK if quick else FULL
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in ENGINES}
    with private_database() as dsn, private_vhost() as broker_url, \
            tempfile.TemporaryDirectory(prefix="vzb-engines-", dir="/tmp") as tmp:
        owner, tokens = _artist(dsn, broker_url, Path(tmp))
        # Each round points the session at its own app; the tokens carry over.
        session = Session(tokens)
        for _ in range(sizes.rounds):
            for kind in ENGINES:
                samples[kind].append(_round(kind, dsn, broker_url, Path(tmp), (owner, session),
                                            tracks=sizes.tracks, duration_s=sizes.track_s,
                                            enqueues=sizes.enqueues, posts=sizes.posts))
    results: dict[str, Any] = {}
    for kind in ENGINES:
        results[kind] = {metric: round(statistics.median(s[metric] for s in samples[kind]), 3)
                         for metric in samples[kind][0]}
    ratios = {metric: round(results["celery"][metric] / results["dramatiq"][metric], 3)
              for metric in ("tracks_per_hour", "cpu_s_per_track", "enqueue_ms", "post_ms")}
    results["celery_vs_dramatiq"] = ratios
    # How often the artist's session renewed its access token over the run.
    results["session_refreshes"] = session.refreshes
    return {
        "parameters": {**asdict(sizes), "worker": "1 thread / 1 child"},
        "results": results,
        "targets": [
            Target("celery_vs_dramatiq.tracks_per_hour", ratios["tracks_per_hour"], ">= 0.9"),
            Target("celery_vs_dramatiq.cpu_s_per_track", ratios["cpu_s_per_track"], "<= 1.1"),
            Target("celery_vs_dramatiq.enqueue_ms", ratios["enqueue_ms"], "<= 2.0"),
        ],
    }
