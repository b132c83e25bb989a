"""A gateway follows the pipeline's track events from the ``veza.events`` exchange."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat.events import follow_track_events
from tasks.events import EventPublisher
from tests.integration.chat_journal_support import amqp
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
