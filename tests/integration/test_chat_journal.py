"""The RabbitMQ journal confirms before it returns; the archiver stores each record once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg2
import pytest

from chat.journal_queue import REASON_HEADER, queue_name, rejected_queue_name
from chat.rabbit_journal import RabbitJournal
from storage.chat_archive import apply_records
from storage.db import Database
from tests.conftest import ADMIN_DSN
from tests.integration.chat_journal_support import (
    amqp,
    clear_policy,
    depth,
    drain,
    message,
    publish,
    records_in,
    running_archiver,
    set_policy,
    stored,
    user_and_room,
    wait_for,
)
from tests.plugins.s3 import free_port
from veza.errors import BrokerError
from veza.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, broker_url: str, key_prefix: str) -> Settings:
    return Settings(database_url=database_url, broker_url=broker_url, queue_prefix=key_prefix)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def test_append_returns_once_the_record_is_in_the_queue(settings: Settings,
                                                        broker_url: str) -> None:
    records = [message(str(uuid.uuid4()), str(uuid.uuid4()), f"c{i}") for i in range(3)]

    async def scenario() -> None:
        journal = RabbitJournal(settings)
        await journal.start()
        try:
            for i, record in enumerate(records, start=1):
                await journal.append(record)
                assert depth(broker_url, queue_name(settings)) == i
        finally:
            await journal.close()

    run(scenario)
    assert records_in(drain(broker_url, queue_name(settings))) == records


def test_appends_made_together_travel_as_one_message_per_batch(settings: Settings,
                                                               broker_url: str) -> None:
    records = [message(str(uuid.uuid4()), str(uuid.uuid4()), f"c{i}") for i in range(250)]

    async def scenario() -> None:
        journal = RabbitJournal(settings, max_records=100)
        await journal.start()
        try:
            await asyncio.gather(*(journal.append(r) for r in records))
            assert journal.stats.records == 250
        finally:
            await journal.close()

    run(scenario)
    taken = drain(broker_url, queue_name(settings))
    assert [len(json.loads(body)) for body, _ in taken] == [100, 100, 50]
    assert records_in(taken) == records


def test_a_batch_stays_under_its_size_cap(settings: Settings, broker_url: str) -> None:
    records = [message(str(uuid.uuid4()), str(uuid.uuid4()), f"c{i}", "x" * 900)
               for i in range(30)]

    async def scenario() -> None:
        journal = RabbitJournal(settings, max_bytes=4000)
        try:
            await asyncio.gather(*(journal.append(r) for r in records))
        finally:
            await journal.close()

    run(scenario)
    taken = drain(broker_url, queue_name(settings))
    assert all(len(body) <= 4000 for body, _ in taken)
    assert len(taken) >= 10
    assert records_in(taken) == records


def test_many_appends_in_flight_are_each_confirmed(settings: Settings, broker_url: str) -> None:
    records = [message(str(uuid.uuid4()), str(uuid.uuid4()), f"c{i}") for i in range(300)]

    async def scenario() -> None:
        journal = RabbitJournal(settings)
        try:
            # No start(): the first append connects.
            await asyncio.gather(*(journal.append(r) for r in records))
        finally:
            await journal.close()

    run(scenario)
    taken = records_in(drain(broker_url, queue_name(settings)))
    assert sorted(r["client_id"] for r in taken) == sorted(r["client_id"] for r in records)


def test_a_refused_batch_fails_every_append_in_it(settings: Settings, broker_url: str) -> None:
    # A full queue that rejects publishes: the broker nacks the whole batch.
    set_policy(broker_url, f"{settings.queue_prefix}-full", f"^{settings.queue_prefix}\\.chat$",
               {"max-length": 0, "overflow": "reject-publish"})

    async def scenario() -> None:
        journal = RabbitJournal(settings)
        await journal.start()
        try:
            for _ in range(100):  # until the policy applies to the queue
                try:
                    await journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), "probe"))
                except BrokerError:
                    break
                await asyncio.sleep(0.1)
            outcomes = await asyncio.gather(
                *(journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), f"c{i}"))
                  for i in range(40)), return_exceptions=True)
            assert all(isinstance(o, BrokerError) for o in outcomes), outcomes
            assert "the broker refused them" in str(outcomes[0])
            taken = await asyncio.to_thread(drain, broker_url, queue_name(settings))
            assert {r["client_id"] for r in records_in(taken)} <= {"probe"}
            # Once the queue takes messages again, so does the same journal.
            await asyncio.to_thread(clear_policy, broker_url, f"{settings.queue_prefix}-full")
            for _ in range(100):
                try:
                    await journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), "again"))
                    break
                except BrokerError:
                    await asyncio.sleep(0.1)
            taken = await asyncio.to_thread(drain, broker_url, queue_name(settings))
            assert [r["client_id"] for r in records_in(taken)] == ["again"]
        finally:
            await journal.close()

    try:
        run(scenario)
    finally:
        clear_policy(broker_url, f"{settings.queue_prefix}-full")


def test_an_unreachable_broker_is_a_broker_error_that_says_so(key_prefix: str) -> None:
    settings = Settings(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F",
                        queue_prefix=key_prefix)

    async def scenario() -> None:
        journal = RabbitJournal(settings, connect_timeout_s=2)
        with pytest.raises(BrokerError, match="cannot reach RabbitMQ"):
            await journal.start()
        with pytest.raises(BrokerError, match="chat journal unavailable"):
            await journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), "c"))
        await journal.close()

    run(scenario)


def test_an_append_to_a_deleted_queue_fails_and_the_next_declares_it_again(
        settings: Settings, broker_url: str) -> None:
    async def scenario() -> None:
        journal = RabbitJournal(settings)
        await journal.start()
        try:
            with amqp(broker_url) as channel:
                channel.queue_delete(queue_name(settings))
            lost = await asyncio.gather(
                *(journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), f"lost{i}"))
                  for i in range(20)), return_exceptions=True)
            assert all(isinstance(o, BrokerError) and "is missing" in str(o) for o in lost), lost
            await journal.append(message(str(uuid.uuid4()), str(uuid.uuid4()), "kept"))
        finally:
            await journal.close()

    run(scenario)
    assert [r["client_id"] for r in records_in(drain(broker_url, queue_name(settings)))] == ["kept"]


def test_a_record_that_is_not_json_is_refused_before_it_is_sent(settings: Settings) -> None:
    async def scenario() -> None:
        journal = RabbitJournal(settings)
        try:
            with pytest.raises(Exception, match="journal record is not JSON"):
                await journal.append({"kind": "message", "at": object()})
        finally:
            await journal.close()

    run(scenario)


def _append_all(settings: Settings, records: list[dict[str, Any]], *,
                together: bool = False) -> None:
    async def scenario() -> None:
        journal = RabbitJournal(settings, max_records=10)
        try:
            if together:
                await asyncio.gather(*(journal.append(r) for r in records))
            else:
                for record in records:
                    await journal.append(record)
        finally:
            await journal.close()

    run(scenario)


def test_a_batch_redelivered_after_its_commit_is_stored_once(
        settings: Settings, database_url: str, broker_url: str) -> None:
    ada, room = user_and_room(database_url)
    first = [message(room, ada, f"c{i}") for i in range(50)]
    _append_all(settings, first, together=True)
    # An archiver that died between its commit and its ack: it committed all 50, acked none.
    with amqp(broker_url) as channel:
        channel.basic_qos(prefetch_count=100)
        taken = []
        for method, _properties, body in channel.consume(queue_name(settings),
                                                         inactivity_timeout=1):
            if method is None:
                break
            taken.extend(json.loads(body))
        db = Database(database_url)
        with db.transaction() as cur:
            assert apply_records(cur, taken).records == 50
        db.close()
    assert len(taken) == 50
    assert depth(broker_url, queue_name(settings)) == 5  # back in the queue, unacked
    later = [message(room, ada, f"d{i}") for i in range(10)]
    _append_all(settings, later)

    with running_archiver(settings, batch_max=20, batch_ms=50, prefetch=40):
        wait_for(lambda: len(stored(database_url, room)) == 60, "the later records stored")
        wait_for(lambda: depth(broker_url, queue_name(settings)) == 0, "the queue drained")
    assert depth(broker_url, queue_name(settings)) == 0  # every delivery was acknowledged
    assert stored(database_url, room) == [(r["client_id"], r["body"]) for r in first + later]


def test_rejected_records_go_aside_with_their_reason_and_later_ones_are_stored(
        settings: Settings, database_url: str, broker_url: str) -> None:
    ada, room = user_and_room(database_url)
    good, too_long, later = (message(room, ada, "good"), message(room, ada, "long", "x" * 4001),
                             message(room, ada, "later"))
    _append_all(settings, [good, too_long])
    publish(settings, b"{not json")
    _append_all(settings, [later])

    with running_archiver(settings, batch_max=10, batch_ms=50, prefetch=20):
        wait_for(lambda: len(stored(database_url, room)) == 2, "the good records stored")
        wait_for(lambda: depth(broker_url, rejected_queue_name(settings)) == 2,
                 "two records set aside")
    assert stored(database_url, room) == [("good", good["body"]), ("later", later["body"])]
    aside = drain(broker_url, rejected_queue_name(settings))
    assert json.loads(aside[0][0]) == too_long
    assert "chat_messages_body_check" in aside[0][1][REASON_HEADER]
    assert aside[1][0] == b"{not json"
    assert aside[1][1][REASON_HEADER].startswith("not a journal record: ")
    assert depth(broker_url, queue_name(settings)) == 0


def test_the_archiver_waits_for_the_database_and_stores_nothing_twice(
        settings: Settings, database_url: str, broker_url: str, migrated_template: str) -> None:
    ada, room = user_and_room(database_url)
    records = [message(room, ada, f"c{i}") for i in range(30)]
    _append_all(settings, records)
    # A database that is not there yet: the archiver keeps its batch and tries again.
    name = f"veza_late_{uuid.uuid4().hex[:10]}"
    late_url = database_url.rsplit("/", 1)[0] + f"/{name}"
    late = Settings(database_url=late_url, broker_url=settings.broker_url,
                    queue_prefix=settings.queue_prefix)
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    try:
        with running_archiver(late, batch_max=100, batch_ms=50, prefetch=100) as archiver:
            wait_for(lambda: archiver._database_down, "the archiver to find no database")
            assert depth(broker_url, queue_name(settings)) == 0  # held, unacknowledged
            with admin.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_url.rsplit("/", 1)[1]}"')
            wait_for(lambda: len(stored(late_url, room)) == 30, "the batch stored", timeout=40)
        assert depth(broker_url, queue_name(settings)) == 0
        assert stored(late_url, room) == [(r["client_id"], r["body"]) for r in records]
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_archiver_stores_batches_and_single_records_alike(
        settings: Settings, database_url: str, broker_url: str) -> None:
    ada, room = user_and_room(database_url)
    batch = [message(room, ada, f"b{i}") for i in range(3)]
    single = message(room, ada, "single")  # as gateways sent records before batching
    publish(settings, json.dumps(batch).encode(),
            json.dumps(single).encode())

    with running_archiver(settings, batch_max=10, batch_ms=50, prefetch=20):
        wait_for(lambda: len(stored(database_url, room)) == 4, "every record stored")
        wait_for(lambda: depth(broker_url, queue_name(settings)) == 0, "the queue drained")
    assert stored(database_url, room) == [(r["client_id"], r["body"]) for r in [*batch, single]]
    assert depth(broker_url, rejected_queue_name(settings)) == 0


def test_a_bad_record_of_a_batch_goes_aside_alone_and_the_rest_is_stored(
        settings: Settings, database_url: str, broker_url: str) -> None:
    ada, room = user_and_room(database_url)
    first, too_long, last = (message(room, ada, "first"), message(room, ada, "long", "x" * 4001),
                             message(room, ada, "last"))
    publish(settings, json.dumps([first, too_long, 42, last]).encode(),
            b'"a string"')

    with running_archiver(settings, batch_max=10, batch_ms=50, prefetch=20):
        wait_for(lambda: len(stored(database_url, room)) == 2, "the good records stored")
        wait_for(lambda: depth(broker_url, rejected_queue_name(settings)) == 3,
                 "three records set aside")
    assert stored(database_url, room) == [("first", first["body"]), ("last", last["body"])]
    aside = drain(broker_url, rejected_queue_name(settings))
    assert json.loads(aside[0][0]) == too_long
    assert "chat_messages_body_check" in aside[0][1][REASON_HEADER]
    assert aside[1][0] == b"42"
    assert aside[1][1][REASON_HEADER] == "not a journal record: a JSON int, not an object"
    assert aside[2][0] == b'"a string"'
    assert aside[2][1][REASON_HEADER].startswith("not a journal record: a JSON str")
    assert depth(broker_url, queue_name(settings)) == 0
