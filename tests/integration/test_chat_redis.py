"""Live fan-out and presence through Redis, between gateway processes' worth of instances."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
import redis

from chat.redis_fanout import RedisFanout
from chat.redis_presence import RedisPresence
from veza.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(redis_url: str, key_prefix: str) -> Settings:
    return Settings(redis_url=redis_url, queue_prefix=key_prefix)


class Inbox:
    """Frames one fan-out delivered, by channel, with a way to wait for them."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, bytes]] = []
        self._changed = asyncio.Event()

    def __call__(self, channel: str, payload: bytes) -> None:
        self.frames.append((channel, payload))
        self._changed.set()

    def on(self, channel: str) -> list[bytes]:
        return [payload for ch, payload in self.frames if ch == channel]

    async def wait(self, check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {what}; got {self.frames[-5:]}"
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


@asynccontextmanager
async def sender_and_receiver(settings: Settings
                              ) -> AsyncIterator[tuple[RedisFanout, RedisFanout, Inbox]]:
    """Two fan-outs, as two gateway processes: one that only sends, one whose deliveries land
    in an inbox; both closed afterwards (closing twice is harmless)."""
    sender, receiver = RedisFanout(settings), RedisFanout(settings)
    inbox = Inbox()
    await sender.start(lambda channel, payload: None)
    await receiver.start(inbox)
    try:
        yield sender, receiver, inbox
    finally:
        await sender.close()
        await receiver.close()


def test_frames_reach_every_subscribed_process_in_publish_order(settings: Settings) -> None:
    async def scenario() -> None:
        one, two = RedisFanout(settings), RedisFanout(settings)
        inbox_one, inbox_two = Inbox(), Inbox()
        await one.start(inbox_one)
        await two.start(inbox_two)
        try:
            await one.subscribe("room:r")
            await two.subscribe("room:r")
            frames = [f'{{"n":{i}}}'.encode() for i in range(500)]
            for i, frame in enumerate(frames):
                one.publish("room:r", frame)
                if i % 50 == 0:
                    await asyncio.sleep(0)  # interleave with delivery, as a busy gateway does
            await inbox_two.wait(lambda: len(inbox_two.on("room:r")) == 500, "500 frames")
            await inbox_one.wait(lambda: len(inbox_one.on("room:r")) == 500, "own frames")
            assert inbox_two.on("room:r") == frames
            assert inbox_one.on("room:r") == frames
        finally:
            await one.close()
            await two.close()

    run(scenario)


def test_frames_queued_together_go_out_in_one_round_trip(settings: Settings) -> None:
    async def scenario() -> None:
        async with sender_and_receiver(settings) as (sender, receiver, inbox):
            await receiver.subscribe("room:busy")
            for i in range(800):  # no await in between: one burst from one event-loop turn
                sender.publish("room:busy", f"{i}".encode())
            await inbox.wait(lambda: len(inbox.on("room:busy")) == 800, "the burst")
            assert sender.stats.frames == 800
            assert sender.stats.batches == 1
            assert inbox.on("room:busy") == [f"{i}".encode() for i in range(800)]

    run(scenario)


def test_close_flushes_what_is_queued(settings: Settings) -> None:
    async def scenario() -> None:
        async with sender_and_receiver(settings) as (sender, receiver, inbox):
            await receiver.subscribe("user:u")
            for i in range(100):
                sender.publish("user:u", f"{i}".encode())
            await sender.close()
            await inbox.wait(lambda: len(inbox.on("user:u")) == 100, "frames sent before close")

    run(scenario)


def test_unsubscribe_stops_delivery(settings: Settings) -> None:
    async def scenario() -> None:
        async with sender_and_receiver(settings) as (sender, receiver, inbox):
            await receiver.subscribe("room:a")
            await receiver.subscribe("room:b")
            sender.publish("room:a", b"first")
            await inbox.wait(lambda: inbox.on("room:a") == [b"first"], "the first frame")
            await receiver.unsubscribe("room:a")
            sender.publish("room:a", b"after leaving")
            sender.publish("room:b", b"marker")
            await inbox.wait(lambda: inbox.on("room:b") == [b"marker"], "the marker")
            await asyncio.sleep(0.2)
            assert inbox.on("room:a") == [b"first"]

    run(scenario)


def test_the_subscriber_reconnects_and_resubscribes(settings: Settings, redis_url: str,
                                                    key_prefix: str) -> None:
    async def scenario() -> None:
        async with sender_and_receiver(settings) as (sender, receiver, inbox):
            await receiver.subscribe("room:r")
            sender.publish("room:r", b"before")
            await inbox.wait(lambda: inbox.on("room:r") == [b"before"], "the first frame")
            # Cut this test's own connections, as a Redis restart would.
            admin = redis.Redis.from_url(redis_url)
            clients: list[dict[str, str]] = admin.client_list()  # type: ignore[assignment]
            ours = [c["id"] for c in clients
                    if c.get("name") == f"{key_prefix}:chat:fanout"]
            assert ours
            for client_id in ours:
                admin.client_kill_filter(_id=client_id)
            admin.close()
            deadline = time.monotonic() + 10
            while inbox.on("room:r")[-1:] != [b"after"]:
                assert time.monotonic() < deadline, f"no delivery after reconnect: {inbox.frames}"
                sender.publish("room:r", b"after")
                await asyncio.sleep(0.2)

    run(scenario)


def test_presence_combines_connections_across_processes(settings: Settings) -> None:
    async def scenario() -> None:
        one, two = RedisPresence(settings), RedisPresence(settings)
        try:
            await one.heartbeat("ada", "ada-phone", "away", ["r1"], ttl_s=30)
            await two.heartbeat("ada", "ada-laptop", "online", ["r1", "r2"], ttl_s=30)
            await two.heartbeat("bob", "bob-1", "away", ["r2"], ttl_s=30)
            assert await one.states(["ada", "bob", "eve"]) == {
                "ada": "online", "bob": "away", "eve": "offline"}
            assert sorted(await one.in_room("r2")) == ["ada", "bob"]
            assert await two.in_room("r1") == ["ada"]
            assert [await one.connections(u) for u in ("ada", "bob", "eve")] == [2, 1, 0]
            # The laptop closes: the phone is still there, away.
            await two.gone("ada", "ada-laptop")
            assert await one.states(["ada"]) == {"ada": "away"}
            assert await two.connections("ada") == 1
            assert await one.in_room("r2") == ["bob"]
            assert await one.in_room("r1") == ["ada"]
            # A heartbeat with fewer rooms leaves the others at once.
            await one.heartbeat("ada", "ada-phone", "online", [], ttl_s=30)
            assert await two.in_room("r1") == []
            assert await two.states(["ada"]) == {"ada": "online"}
        finally:
            await one.close()
            await two.close()

    run(scenario)


def test_presence_of_a_killed_process_expires_with_its_ttl(settings: Settings,
                                                           redis_url: str,
                                                           key_prefix: str) -> None:
    async def scenario() -> None:
        killed, survivor = RedisPresence(settings), RedisPresence(settings)
        await killed.heartbeat("ada", "ada-1", "online", ["r1"], ttl_s=1)
        await survivor.heartbeat("bob", "bob-1", "online", ["r1"], ttl_s=30)
        await killed.close()  # no `gone`: the process died
        try:
            assert await survivor.states(["ada", "bob"]) == {"ada": "online", "bob": "online"}
            assert sorted(await survivor.in_room("r1")) == ["ada", "bob"]
            await asyncio.sleep(1.3)
            assert await survivor.states(["ada", "bob"]) == {"ada": "offline", "bob": "online"}
            assert await survivor.in_room("r1") == ["bob"]
        finally:
            await survivor.close()
        # Nothing of ada's is left behind in Redis either.
        client = redis.Redis.from_url(redis_url)
        try:
            left = {k.decode() for k in client.scan_iter(match=f"{key_prefix}:*")}
        finally:
            client.close()
        assert not [k for k in left if "ada" in k], left

    run(scenario)


def test_states_of_many_users_in_one_call(settings: Settings) -> None:
    async def scenario() -> None:
        presence = RedisPresence(settings)
        try:
            for i in range(0, 1200, 2):
                await presence.heartbeat(f"u{i}", f"c{i}", "online", [], ttl_s=30)
            states = await presence.states([f"u{i}" for i in range(1200)])
            assert len(states) == 1200
            assert all(states[f"u{i}"] == ("online" if i % 2 == 0 else "offline")
                       for i in range(1200))
        finally:
            await presence.close()

    run(scenario)


def test_a_bad_presence_state_is_refused(settings: Settings) -> None:
    async def scenario() -> None:
        presence = RedisPresence(settings)
        try:
            with pytest.raises(ValueError, match="online or away, got 'busy'"):
                await presence.heartbeat("ada", "c", "busy", [], ttl_s=30)
        finally:
            await presence.close()

    run(scenario)


class ClientCounter:
    """Count, in a thread, the Redis connections named ``name``; keep the most seen at once."""

    def __init__(self, redis_url: str, name: str) -> None:
        self._client = redis.Redis.from_url(redis_url)
        self._name = name
        self._stop = threading.Event()
        self.most = 0
        self._thread = threading.Thread(target=self._watch, name="client-counter", daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            clients = cast(list[dict[str, Any]], self._client.client_list())
            now = sum(c.get("name") == self._name for c in clients)
            self.most = max(self.most, now)
            self._stop.wait(0.01)

    def __enter__(self) -> ClientCounter:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._client.close()


def test_thousands_of_sockets_coming_and_going_use_few_redis_connections(
        settings: Settings, redis_url: str, key_prefix: str) -> None:
    users = [f"u{i}" for i in range(2000)]

    async def scenario() -> None:
        presence = RedisPresence(settings, max_connections=8)
        try:
            # Every socket opens at once, then half close while the others heartbeat away.
            await asyncio.gather(*(presence.heartbeat(u, f"{u}-c", "online", [f"r{i % 10}"],
                                                      ttl_s=30)
                                   for i, u in enumerate(users)))
            await asyncio.gather(*(presence.gone(u, f"{u}-c") if i % 2 else
                                   presence.heartbeat(u, f"{u}-c", "away", [f"r{i % 10}"],
                                                      ttl_s=30)
                                   for i, u in enumerate(users)))
            states = await presence.states(users)
            assert states == {u: "offline" if i % 2 else "away" for i, u in enumerate(users)}
            assert sorted(await presence.in_room("r0")) == sorted(users[0::10])
            assert await presence.in_room("r1") == []
            # 4,000 writes, a handful of round trips (one per pipeline).
            assert presence.round_trips < 50, presence.round_trips
        finally:
            await presence.close()

    with ClientCounter(redis_url, f"{key_prefix}:chat:presence") as counter:
        run(scenario)
    assert 1 <= counter.most <= 8, counter.most
