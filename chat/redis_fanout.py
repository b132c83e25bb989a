"""Live fan-out between gateway processes over Redis pub/sub.

One task publishes: it drains the queue that ``publish`` fills and sends whatever has piled up
in one round trip, so a busy process carries many frames per round trip and keeps its publish
order. The batch is one call of a tiny Lua script that PUBLISHes each frame in turn: redis-py
packs and parses one command instead of a thousand, about six times the frames per second of
a pipeline of PUBLISH commands from the same Python task. One connection per process
subscribes, to the channels the hub asks for, as ``{prefix}:chat:{channel}``. Delivery is
best effort: while Redis is unreachable frames are dropped (the journal keeps what must last)
and both sides reconnect on their own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from chat.ports import Deliver
from veza.errors import ConfigError
from veza.settings import Settings

log = logging.getLogger(__name__)

_REDIS_FAILURES = (redis.exceptions.RedisError, OSError)
_RECONNECT_S = (0.1, 0.25, 0.5, 1.0, 2.0)
_SUBSCRIBE_WAIT_S = 5.0
# ARGV: channel, payload, channel, payload... published in that order.
_PUBLISH_ALL = "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end"


@dataclass
class FanoutStats:
    """What the publisher task did: frames sent, pipelines (round trips) used, frames dropped."""

    frames: int = 0
    batches: int = 0
    dropped: int = 0


def redis_client(url: str, name: str | None = None, *, max_connections: int = 16,
                 wait_s: float = 5.0, socket_timeout: float | None = None) -> redis.asyncio.Redis:
    """Return a client that fails fast, so our own loops decide when to reconnect, and opens
    at most ``max_connections`` connections (a call waits up to ``wait_s`` for a free one)."""
    # An unbounded pool opens a connection per concurrent call: thousands of sockets closing
    # at once would open thousands of Redis connections on a server shared by every gateway.
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=2, socket_timeout=socket_timeout, socket_keepalive=True,
        health_check_interval=10, client_name=name)
    return redis.asyncio.Redis.from_pool(pool)


class RedisFanout:
    """Deliver frames between processes through Redis pub/sub, one publisher and one
    subscriber connection per process."""

    def __init__(self, settings: Settings, *, max_batch: int = 1000,
                 max_queued: int = 100_000) -> None:
        if settings.redis_url is None:
            raise ConfigError("Redis fan-out needs VEZA_REDIS_URL (redis://...)")
        self._url = settings.redis_url
        self._prefix = f"{settings.queue_prefix}:chat:"
        self._max_batch = max_batch
        self._max_queued = max_queued
        # Keeps the subscriber connection in subscribed mode even before the hub asks for a
        # channel, so one reader loop serves from the start.
        self._own = f"{self._prefix}process:{uuid.uuid4().hex}"
        self._channels: set[str] = set()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._queue: asyncio.Queue[tuple[str, bytes] | None] | None = None
        self._redis: redis.asyncio.Redis | None = None
        self._publish_script: AsyncScript | None = None
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._deliver: Deliver | None = None
        self._publish_down = False
        self._subscribe_down = False
        self._overflow = False
        self.stats = FanoutStats()

    async def start(self, deliver: Deliver) -> None:
        """Begin calling ``deliver(channel, payload)`` for frames on subscribed channels."""
        self._deliver = deliver
        self._queue = asyncio.Queue()
        # Two connections in use: the publisher's and the subscriber's.
        self._redis = redis_client(self._url, f"{self._prefix}fanout", max_connections=4)
        self._publish_script = self._redis.register_script(_PUBLISH_ALL)
        connected = asyncio.get_running_loop().create_future()
        self._tasks = [asyncio.create_task(self._publish_loop(), name="fanout-publish"),
                       asyncio.create_task(self._subscribe_loop(connected),
                                           name="fanout-subscribe")]
        try:
            # Start-up waits for the first subscription, unless Redis is down (then the loop
            # keeps trying, and frames are dropped meanwhile).
            await asyncio.wait_for(asyncio.shield(connected), _SUBSCRIBE_WAIT_S)
        except TimeoutError:
            log.warning("Redis fan-out not connected yet; live frames are dropped until it is")

    def publish(self, channel: str, payload: bytes) -> None:
        """Queue ``payload`` for ``channel`` (this process's subscribers get it too)."""
        queue = self._queue
        if queue is None:
            raise RuntimeError("RedisFanout.publish before start")
        if queue.qsize() >= self._max_queued:
            self.stats.dropped += 1
            if not self._overflow:
                self._overflow = True
                log.warning("Redis fan-out is %d frames behind; new frames are dropped until "
                            "it catches up", self._max_queued)
            return
        if self._overflow and queue.qsize() < self._max_queued // 2:
            self._overflow = False
        queue.put_nowait((self._prefix + channel, payload))

    async def subscribe(self, channel: str) -> None:
        """Receive ``channel`` from now on (the first local member of a room or user)."""
        if channel in self._channels:
            return
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None:
            return  # the subscriber subscribes to every wanted channel when it reconnects
        key = self._prefix + channel
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(confirmed)
        try:
            await pubsub.subscribe(key)
            await asyncio.wait_for(confirmed, _SUBSCRIBE_WAIT_S)
        except (*_REDIS_FAILURES, TimeoutError) as exc:
            self._down("subscribe", _describe(exc))
        finally:
            waiting = self._waiting.get(key, [])
            if confirmed in waiting:
                waiting.remove(confirmed)
            if not waiting:
                self._waiting.pop(key, None)

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel`` (its last local member left)."""
        if channel not in self._channels:
            return
        # Frames already on their way are filtered out by the reader from now on.
        self._channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                await pubsub.unsubscribe(self._prefix + channel)
            except _REDIS_FAILURES as exc:
                self._down("subscribe", _describe(exc))

    async def close(self) -> None:
        """Flush what is queued and disconnect."""
        if not self._tasks:
            return
        publisher, subscriber = self._tasks
        self._tasks = []
        assert self._queue is not None
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(publisher, 10.0)
        except TimeoutError:
            log.warning("Redis fan-out closed with %d frames unsent", self._queue.qsize())
        subscriber.cancel()
        await asyncio.gather(subscriber, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _publish_loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            frames = [item for item in batch if item is not None]
            if frames:
                await self._send(frames)
            if len(frames) < len(batch):
                return  # close() asked for a flush; everything before it is sent

    async def _send(self, frames: list[tuple[str, bytes]]) -> None:
        assert self._redis is not None
        assert self._publish_script is not None
        try:
            await self._publish_script(args=[part for frame in frames for part in frame])
        except _REDIS_FAILURES as exc:
            self.stats.dropped += len(frames)
            self._down("publish", _describe(exc))
            await asyncio.sleep(0.5)
            return
        self.stats.frames += len(frames)
        self.stats.batches += 1
        if self._publish_down:
            self._publish_down = False
            log.info("Redis fan-out publishing again")

    async def _subscribe_loop(self, connected: asyncio.Future[None]) -> None:
        assert self._redis is not None
        failures = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._own, *[self._prefix + c for c in self._channels])
                self._pubsub = pubsub
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._on_message(message, connected)
                        failures = 0
            except _REDIS_FAILURES as exc:
                self._pubsub = None
                self._down("subscribe", _describe(exc))
                await _quietly_close(pubsub)
                await asyncio.sleep(_RECONNECT_S[min(failures, len(_RECONNECT_S) - 1)])
                failures += 1
            except asyncio.CancelledError:
                self._pubsub = None
                await _quietly_close(pubsub)
                raise

    def _on_message(self, message: dict[str, Any], connected: asyncio.Future[None]) -> None:
        kind = message["type"]
        key = message["channel"].decode()
        if kind == "message":
            channel = key.removeprefix(self._prefix)
            if channel in self._channels and self._deliver is not None:
                try:
                    self._deliver(channel, message["data"])
                except Exception:  # one bad frame or socket must not stop the reader
                    log.exception("delivering a frame of %s failed", channel)
        elif kind == "subscribe":
            if key == self._own:
                if not connected.done():
                    connected.set_result(None)
                if self._subscribe_down:
                    self._subscribe_down = False
                    log.info("Redis fan-out subscribed again (%d channels)", len(self._channels))
            for waiter in self._waiting.pop(key, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _down(self, side: str, reason: str) -> None:
        """Log an outage once per side, not once per frame."""
        attribute = f"_{side}_down"
        if not getattr(self, attribute):
            setattr(self, attribute, True)
            log.warning("Redis fan-out cannot %s (%s); live frames are dropped until it can",
                        side, reason)


async def _quietly_close(pubsub: Any) -> None:
    try:
        await pubsub.aclose()
    except _REDIS_FAILURES:
        pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
