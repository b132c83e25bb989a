"""The chat journal holds when its processes and its broker fail: every append that returned is
stored exactly once, and an append that failed says so and succeeds when sent again."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat.events import follow_track_events
from chat.journal_queue import queue_name
from chat.rabbit_journal import RabbitJournal
from tasks.events import EventPublisher
from tests.e2e.conftest import Proc, start, stop
from tests.faults.servers import PrivateRabbit
from tests.faults.stack import wait_for
from tests.integration.chat_journal_support import depth, message, stored, user_and_room
from veza.errors import BrokerError
from veza.settings import Settings

pytestmark = pytest.mark.faults


class Archivers:
    """``veza serve chat-archiver`` processes of one test, stopped at its end."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir, self.procs = env, workdir, list[Proc]()

    def start(self) -> Proc:
        proc = start(["serve", "chat-archiver"], self.env,
                     self.workdir / f"archiver{len(self.procs)}.log")
        self.procs.append(proc)
        wait_for(lambda: "chat archiver consuming" in proc.output(), "the archiver consuming",
                 60, (proc,))
        return proc

    def close(self) -> None:
        for proc in self.procs:
            stop(proc, timeout=20)


@pytest.fixture
def archivers(tmp_path: Path) -> Iterator[Any]:
    made: list[Archivers] = []

    def make(database_url: str, broker_url: str, prefix: str) -> Archivers:
        made.append(Archivers({"VEZA_DATABASE_URL": database_url, "VEZA_BROKER_URL": broker_url,
                               "VEZA_QUEUE_PREFIX": prefix}, tmp_path))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_an_archiver_killed_mid_flow_loses_and_doubles_nothing(
        archivers: Any, database_url: str, vhost_url: str, key_prefix: str) -> None:
    settings = Settings(broker_url=vhost_url, queue_prefix=key_prefix)
    ada, room = user_and_room(database_url)
    fleet = archivers(database_url, vhost_url, key_prefix)
    first = fleet.start()
    records = [message(room, ada, f"c{i:04d}") for i in range(900)]

    async def append_all() -> None:
        journal = RabbitJournal(settings)
        await journal.start()
        try:
            for i in range(0, len(records), 30):
                await asyncio.gather(*(journal.append(r) for r in records[i:i + 30]))
                if i == 300:
                    first.process.send_signal(signal.SIGKILL)  # while batches are in flight
                if i == 600:
                    await asyncio.to_thread(fleet.start)
        finally:
            await journal.close()

    asyncio.run(asyncio.wait_for(append_all(), 120))
    assert first.process.wait(timeout=10) == -signal.SIGKILL
    wait_for(lambda: len(stored(database_url, room)) == 900, "every appended record stored",
             60, tuple(fleet.procs))
    wait_for(lambda: depth(vhost_url, queue_name(settings)) == 0, "the journal drained", 30)
    assert stored(database_url, room) == [(r["client_id"], r["body"]) for r in records]


def test_a_broker_restart_while_appending_loses_nothing_confirmed(
        archivers: Any, database_url: str, private_rabbit: PrivateRabbit,
        key_prefix: str) -> None:
    settings = Settings(broker_url=private_rabbit.url, queue_prefix=key_prefix)
    ada, room = user_and_room(database_url)
    fleet = archivers(database_url, private_rabbit.url, key_prefix)
    proc = fleet.start()
    made: list[dict[str, Any]] = []
    confirmed: list[str] = []
    refused: list[dict[str, Any]] = []
    reasons: list[str] = []

    def new(count: int) -> list[dict[str, Any]]:
        first = len(made)
        made.extend([message(room, ada, f"c{first + i:04d}") for i in range(count)])
        return made[-count:]

    async def scenario() -> None:
        journal = RabbitJournal(settings, confirm_timeout_s=5, connect_timeout_s=2)
        await journal.start()

        async def send(records: list[dict[str, Any]]) -> int:
            outcomes = await asyncio.gather(*(journal.append(r) for r in records),
                                            return_exceptions=True)
            for record, outcome in zip(records, outcomes, strict=True):
                if isinstance(outcome, BrokerError):
                    refused.append(record)  # the client sends it again later
                    reasons.append(str(outcome))
                elif outcome is None:
                    confirmed.append(record["client_id"])
                else:
                    raise outcome
            return sum(isinstance(o, BrokerError) for o in outcomes)

        try:
            for _ in range(5):
                await send(new(20))
            # Appends keep flowing while the broker shuts down.
            stopping = asyncio.create_task(asyncio.to_thread(private_rabbit.stop_app))
            while not stopping.done():
                await send(new(2))
                await asyncio.sleep(0.05)
            await stopping
            # Down: every append says so.
            assert await send(new(10)) == 10
            assert "chat journal unavailable: cannot reach RabbitMQ" in "\n".join(reasons)
            await asyncio.to_thread(private_rabbit.start_app)
            # Back: what was refused is sent again (the journal reconnects), with new ones.
            for _ in range(100):
                again, refused[:] = list(refused), []
                if not again:
                    break
                await send(again)
                if refused:
                    await asyncio.sleep(0.2)
            assert not refused, reasons[-3:]
            await send(new(50))
        finally:
            await journal.close()

    asyncio.run(asyncio.wait_for(scenario(), 180))
    assert sorted(confirmed) == sorted(r["client_id"] for r in made)
    wait_for(lambda: len(stored(database_url, room)) == len(made),
             "every confirmed record stored", 90, (proc,))
    assert sorted(stored(database_url, room)) == sorted((r["client_id"], r["body"])
                                                        for r in made)
    assert proc.process.poll() is None, "the archiver should ride out the restart"
    assert "Traceback" not in proc.output()


def test_track_events_flow_again_after_a_broker_restart(private_rabbit: PrivateRabbit) -> None:
    settings = Settings(broker_url=private_rabbit.url)
    seen: list[str] = []

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(follow_track_events(
            settings, lambda key, event: seen.append(event["track_id"]), stop, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        publisher = EventPublisher(private_rabbit.url)
        await asyncio.to_thread(private_rabbit.stop_app)
        await asyncio.wait_for(_cleared(ready), 10)
        await asyncio.to_thread(private_rabbit.start_app)
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.to_thread(publisher.publish, "track.ready", {"schema": 1,
                                                                   "track_id": "after"})
        publisher.close()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert seen == ["after"]


async def _cleared(ready: asyncio.Event) -> None:
    # ``ready`` is cleared when the connection is lost, and set again once the queue is bound
    # (which may happen before start_app returns).
    while ready.is_set():
        await asyncio.sleep(0.05)
