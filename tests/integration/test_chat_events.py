"""A gateway follows the pipeline's track events from the ``veza.events`` exchange."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from chat.events import follow_track_events
from tasks.events import EventPublisher
from tests.integration.chat_journal_support import amqp
from tests.integration.chat_support import Chat, chat_settings
from veza.settings import Settings

pytestmark = pytest.mark.integration


def test_track_events_reach_the_callback_and_others_do_not(broker_url: str) -> None:
    settings = Settings(broker_url=broker_url)
    seen: list[tuple[str, dict[str, Any]]] = []
    awaited: list[str] = []

    async def on_event(routing_key: str, event: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen.append((routing_key, event))
        awaited.append(routing_key)

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(follow_track_events(settings, on_event, stop, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        publisher = EventPublisher(broker_url)
        await asyncio.to_thread(publisher.publish, "track.progress",
                                {"schema": 1, "track_id": "t1", "progress": 0.5})
        await asyncio.to_thread(publisher.publish, "user.created", {"schema": 1})
        with amqp(broker_url) as channel:  # a malformed event is skipped, not fatal
            channel.basic_publish("veza.events", "track.failed", b"[1, 2")
        await asyncio.to_thread(publisher.publish, "track.ready",
                                {"schema": 1, "track_id": "t1"})
        publisher.close()
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert seen == [("track.progress", {"schema": 1, "track_id": "t1", "progress": 0.5}),
                    ("track.ready", {"schema": 1, "track_id": "t1"})]
    assert awaited == ["track.progress", "track.ready"]


def test_a_plain_function_works_as_the_callback(broker_url: str) -> None:
    settings = Settings(broker_url=broker_url)
    seen: list[str] = []

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(follow_track_events(
            settings, lambda key, event: seen.append(event["track_id"]), stop, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        publisher = EventPublisher(broker_url)
        await asyncio.to_thread(publisher.publish, "track.ready", {"schema": 1, "track_id": "t2"})
        publisher.close()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert seen == ["t2"]


def test_a_gateway_with_a_broker_hands_track_events_to_the_uploader(
    database_url: str, broker_url: str, key_prefix: str, tmp_path: Path,
) -> None:
    chat = Chat(chat_settings(database_url, tmp_path, broker_url=broker_url,
                              queue_prefix=key_prefix))
    try:
        owner, other = chat.user(), chat.user()
        mine, theirs = chat.connect(owner), chat.connect(other)
        track = chat.track(owner)
        publisher = EventPublisher(broker_url)
        try:
            # The gateway binds its queue as it starts; events before that are not replayed.
            deadline = time.monotonic() + 15
            while True:
                publisher.publish("track.ready", {"schema": 1, "type": "track.ready",
                                                  "track_id": track, "job_id": None})
                try:
                    got = mine.expect("track.ready", timeout=0.5)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "no track.ready through the broker"
        finally:
            publisher.close()
        assert got["track_id"] == track
        theirs.nothing("track.ready", wait=0.5)
    finally:
        chat.close()
