"""Both task engines against the real RabbitMQ and PostgreSQL: delivery, confirms, retries with
backoff, dead-lettering, and redelivery after a worker process is killed mid-task.

Handlers record every run in a table of the test's database, with the process that ran it, so
the assertions see what a worker really did, in whichever process it ran.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import psycopg2
import pytest

from tasks.engine import TaskEngine, TaskSpec, fail_current_message, open_engine, queue_depth
from tests.helpers import track_owner
from veza.errors import BrokerError
from veza.ingest import RetryLater

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASE_BACKOFF_MS = 200


# ---------------------------------------------------------------- the tasks under test


def _record(dsn: str, key: str, what: str) -> int:
    """Record one event of ``key``; return how many events of that kind ``key`` has now."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO engine_runs (key, what, pid, at) VALUES (%s, %s, %s, %s)",
                        (key, what, os.getpid(), time.time()))
            cur.execute("SELECT count(*) FROM engine_runs WHERE key = %s AND what = %s",
                        (key, what))
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _specs(dsn: str) -> dict[str, TaskSpec]:
    def ok(key: str) -> None:
        _record(dsn, key, "done")

    def flaky(key: str, failures: int) -> None:
        if _record(dsn, key, "try") <= failures:
            raise RetryLater("not yet")
        _record(dsn, key, "done")

    def doomed(key: str) -> None:
        _record(dsn, key, "try")
        fail_current_message()

    def broken(key: str) -> None:
        _record(dsn, key, "try")
        raise RetryLater("never works")

    def slow(key: str, seconds: float) -> None:
        _record(dsn, key, "start")
        time.sleep(seconds)
        _record(dsn, key, "done")

    handlers: dict[str, tuple[Callable[..., None], int]] = {
        "ok": (ok, 3), "flaky": (flaky, 3), "doomed": (doomed, 3), "broken": (broken, 1),
        "slow": (slow, 3),
    }
    return {f"veza.test.{name}": TaskSpec(name=f"veza.test.{name}", handler=handler,
                                          max_retries=retries, min_backoff_ms=BASE_BACKOFF_MS,
                                          max_backoff_ms=10_000)
            for name, (handler, retries) in handlers.items()}


def serve(kind: str, broker_url: str, dsn: str) -> None:
    """Run one worker process with the test tasks until SIGTERM (the kill test starts two)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = open_engine(kind, broker_url, _specs(dsn))
    engine.run_worker(concurrency=1, stop=stop)
    engine.stop()


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def dsn(database_url: str) -> str:
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE engine_runs (key text, what text, pid int, at float8)")
    conn.close()
    return database_url


@pytest.fixture(params=["dramatiq", "celery"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(kind: str, broker_url: str, dsn: str) -> Iterator[TaskEngine]:
    engine = open_engine(kind, broker_url, _specs(dsn))
    yield engine
    engine.stop()


def _runs(dsn: str, key: str, what: str) -> list[tuple[int, float]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pid, at FROM engine_runs WHERE key = %s AND what = %s "
                        "ORDER BY at", (key, what))
            return [(int(pid), float(at)) for pid, at in cur.fetchall()]
    finally:
        conn.close()


def _wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _consumers(broker_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        return int(channel.queue_declare(queue, passive=True).method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        connection.close()


# ---------------------------------------------------------------- the tests


def test_enqueue_returns_once_the_broker_holds_the_message_and_a_worker_runs_it(
    engine: TaskEngine, broker_url: str, dsn: str
) -> None:
    key = uuid.uuid4().hex
    queue = engine.queue("veza.test.ok")
    before = queue_depth(broker_url, queue)
    engine.enqueue("veza.test.ok", {"key": key, "time_limit_s": 30.0})
    # Confirmed: RabbitMQ counts it the moment enqueue returns, before any worker exists.
    assert queue_depth(broker_url, queue) == before + 1
    engine.start_worker(threads=1)
    _wait_for(lambda: _runs(dsn, key, "done"), "the task to run")
    _wait_for(lambda: queue_depth(broker_url, queue) == 0, "the queue to drain", timeout=10)
    assert len(_runs(dsn, key, "done")) == 1


def test_enqueue_to_an_unreachable_broker_raises_broker_error(kind: str, dsn: str) -> None:
    engine = open_engine(kind, "amqp://guest:guest@127.0.0.1:1/%2F", _specs(dsn))
    started = time.monotonic()
    with pytest.raises(BrokerError, match="broker"):
        engine.enqueue("veza.test.ok", {"key": "x"})
    assert time.monotonic() - started < 15  # the outbox relay keeps the row and moves on


def test_a_transient_failure_is_retried_with_growing_backoff(engine: TaskEngine, dsn: str
                                                              ) -> None:
    key = uuid.uuid4().hex
    engine.start_worker(threads=1)
    engine.enqueue("veza.test.flaky", {"key": key, "failures": 3})
    _wait_for(lambda: _runs(dsn, key, "done"), "the fourth attempt to succeed")
    tries = [at for _, at in _runs(dsn, key, "try")]
    assert len(tries) == 4 and len(_runs(dsn, key, "done")) == 1
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)]
    for retry, gap in enumerate(gaps):
        # Retry n waits between half and all of base * 2**n.
        assert gap >= 0.9 * BASE_BACKOFF_MS / 1000 * 2 ** retry / 2, gaps
    assert gaps[2] > gaps[0], gaps


def test_a_permanently_failed_message_goes_to_the_dead_letter_queue_at_once(
    engine: TaskEngine, broker_url: str, dsn: str
) -> None:
    key = uuid.uuid4().hex
    dlq = engine.dead_letter_queue("veza.test.doomed")
    before = queue_depth(broker_url, dlq)
    engine.start_worker(threads=1)
    engine.enqueue("veza.test.doomed", {"key": key})
    _wait_for(lambda: queue_depth(broker_url, dlq) == before + 1, "the dead letter")
    time.sleep(1.0)  # no retry follows
    assert len(_runs(dsn, key, "try")) == 1
    assert engine.dead_letters() >= before + 1


def test_a_message_out_of_retries_goes_to_the_dead_letter_queue(
    engine: TaskEngine, broker_url: str, dsn: str
) -> None:
    key = uuid.uuid4().hex
    dlq = engine.dead_letter_queue("veza.test.broken")
    before = queue_depth(broker_url, dlq)
    engine.start_worker(threads=1)
    engine.enqueue("veza.test.broken", {"key": key})
    _wait_for(lambda: queue_depth(broker_url, dlq) == before + 1, "the dead letter")
    assert len(_runs(dsn, key, "try")) == 2  # the first run and its one retry


def test_a_worker_killed_mid_task_leads_to_redelivery_to_another_process(
    kind: str, engine: TaskEngine, broker_url: str, dsn: str, tmp_path: Path
) -> None:
    workers = []
    for n in range(2):
        log = open(tmp_path / f"worker{n}.log", "wb")
        workers.append((subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.integration.test_engines import "
             "serve; serve(*sys.argv[1:])", kind, broker_url, dsn],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, process_group=0), log))
    key = uuid.uuid4().hex
    try:
        queue = engine.queue("veza.test.slow")
        _wait_for(lambda: _consumers(broker_url, queue) >= 2, "both workers to consume")
        engine.enqueue("veza.test.slow", {"key": key, "seconds": 4.0})
        _wait_for(lambda: _runs(dsn, key, "start"), "the task to start")
        [(victim, _)] = _runs(dsn, key, "start")
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: _runs(dsn, key, "done"), "the redelivered task to finish")
        time.sleep(1.0)  # nothing else runs it
        done = _runs(dsn, key, "done")
        starts = _runs(dsn, key, "start")
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.terminate()
        for proc, log in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
    assert len(done) == 1, done
    assert done[0][0] != victim
    assert len(starts) == 2 and starts[1][0] == done[0][0]


def test_veza_serve_worker_on_celery_ingests_an_upload_and_stops_on_sigterm(
    broker_url: str, database_url: str, demo_wav: Path, tmp_path: Path
) -> None:
    from storage.db import Database
    from storage.repositories import unit_of_work
    from veza.runtime import Services, build_store
    from veza.settings import Settings
    from veza.uploads import accept

    env = {**os.environ, "VEZA_TASK_ENGINE": "celery", "VEZA_BROKER_URL": broker_url,
           "VEZA_DATABASE_URL": database_url, "VEZA_DATA_DIR": str(tmp_path / "data"),
           "VEZA_SIGNING_KEY": "test", "VEZA_WORKER_THREADS": "1"}
    settings = Settings.from_env(env)
    services = Services(settings=settings, db=Database(database_url), store=build_store(settings))
    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([str(Path(sys.executable).with_name("veza")), "serve",
                                   "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  process_group=0)
        try:
            def status() -> str | None:
                assert worker.poll() is None, log_path.read_text()[-2000:]
                with unit_of_work(services.db) as uow:
                    track = uow.tracks.get(accepted.track.id)
                return None if track is None else track.status

            # The relay (its own process) publishes the upload; a prefork child ingests it.
            _wait_for(lambda: status() in ("ready", "failed"), "the track", timeout=240)
            assert status() == "ready", log_path.read_text()[-2000:]
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            services.close()
    output = log_path.read_text()
    assert "celery worker running with 1 processes" in output
    assert "opened its own connections" in output  # the child did not use the parent's pool
