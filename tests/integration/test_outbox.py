"""The outbox relay and the task engine against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import queue
import threading
import time
import uuid

import pytest

from storage.db import Database
from storage.repositories import unit_of_work
from tasks.engine import TaskEngine, TaskSpec
from tasks.outbox import OutboxRelay
from veza.errors import BrokerError

pytestmark = pytest.mark.integration


def _engine(url: str | None, received: queue.Queue[dict[str, str]], task: str) -> TaskEngine:
    def handler(**payload: str) -> None:
        received.put(payload)

    return TaskEngine.from_url(url, {task: TaskSpec(name=task, handler=handler)})


def _add(db: Database, task: str, n: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with unit_of_work(db) as uow:
        for i in ids:
            uow.outbox.add(task, {"job_id": i})
    return ids


def _drain(received: queue.Queue[dict[str, str]], n: int, timeout: float = 30) -> list[str]:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        try:
            got.append(received.get(timeout=0.5)["job_id"])
        except queue.Empty:
            pass
    return got


def test_relay_delivers_every_recorded_task_through_rabbitmq(
    database_url: str, broker_url: str
) -> None:
    task = f"veza.test.{uuid.uuid4().hex[:8]}"
    received: queue.Queue[dict[str, str]] = queue.Queue()
    engine = _engine(broker_url, received, task)
    db = Database(database_url)
    ids = _add(db, task, 5)
    relay = OutboxRelay(db, engine, poll_s=0.2)
    relay.start()
    engine.start_worker(threads=2)
    try:
        assert sorted(_drain(received, 5)) == sorted(ids)
        # NOTIFY wakes the relay: a task recorded now goes out without waiting for a poll.
        later = _add(db, task, 1)
        assert _drain(received, 1, timeout=10) == later
        # The relay marks a row once the broker confirmed it, which may be just after a worker
        # already received the task.
        deadline = time.monotonic() + 5
        while True:
            with unit_of_work(db) as uow:
                pending = uow.outbox.pending()
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert pending == 0
    finally:
        relay.stop()
        engine.stop()
        db.close()


def test_broker_down_keeps_tasks_until_it_is_back(database_url: str, broker_url: str) -> None:
    task = f"veza.test.{uuid.uuid4().hex[:8]}"
    db = Database(database_url)
    ids = _add(db, task, 3)
    dead: queue.Queue[dict[str, str]] = queue.Queue()
    down = _engine("amqp://guest:guest@127.0.0.1:1/?connection_attempts=1", dead, task)
    with pytest.raises(BrokerError):
        down.enqueue(task, {"job_id": "x"})
    assert OutboxRelay(db, down).relay_once() == 0
    with unit_of_work(db) as uow:
        assert uow.outbox.pending() == 3  # nothing lost, nothing marked
        uow.cur.execute("SELECT max(attempts) AS a, max(last_error) AS e FROM outbox")
        row = uow.cur.fetchone()
        assert row["a"] == 1 and "broker refused" in row["e"]
    down.stop()

    received: queue.Queue[dict[str, str]] = queue.Queue()
    up = _engine(broker_url, received, task)
    up.start_worker(threads=1)
    try:
        assert OutboxRelay(db, up).relay_once() == 3
        assert sorted(_drain(received, 3)) == sorted(ids)
    finally:
        up.stop()
        db.close()


def test_two_relays_never_publish_a_row_twice(database_url: str) -> None:
    task = "veza.test.local"
    received: queue.Queue[dict[str, str]] = queue.Queue()
    engine = _engine(None, received, task)
    db = Database(database_url)
    ids = _add(db, task, 200)
    relays = [OutboxRelay(db, engine, batch=7) for _ in range(2)]
    threads = [threading.Thread(target=lambda r=r: [r.relay_once() for _ in range(40)])
               for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.start_worker(threads=2)
    try:
        got = _drain(received, 200)
        assert sorted(got) == sorted(ids)  # each exactly once
        assert received.empty()
    finally:
        engine.stop()
        db.close()
