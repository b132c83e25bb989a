"""Follow the pipeline's track events (``track.progress|ready|failed``) in a gateway process.

The pipeline publishes them on the ``veza.events`` topic exchange (``tasks.events``, schema 1).
Each gateway process binds a queue of its own (exclusive, deleted with its connection, capped so
a stalled gateway cannot fill the broker) to ``track.*`` and hands every event to the callback
it was given. Live delivery is best effort, as for the sockets it feeds: events published while
the gateway is disconnected are not replayed. Usage::

    stop = asyncio.Event()
    task = asyncio.create_task(follow_track_events(settings, hub.on_track_event, stop))
    ...
    stop.set()
    await task
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import aiormq.exceptions

from veza.errors import ConfigError
from veza.settings import Settings

log = logging.getLogger(__name__)

# The exchange of tasks.events (imported by value: chat does not import the task engine).
EXCHANGE = "veza.events"
BINDING = "track.*"
# Events kept for a gateway that reads slowly; the oldest go first beyond this.
MAX_WAITING = 10_000

OnEvent = Callable[[str, dict[str, Any]], Awaitable[None] | None]

_PAUSES_S = (0.5, 1.0, 2.0, 5.0)
SETUP_TIMEOUT_S = 10.0
_FAILURES = (aio_pika.exceptions.AMQPError, aiormq.exceptions.AMQPError, asyncio.TimeoutError,
             ConnectionError, OSError, RuntimeError)


async def follow_track_events(settings: Settings, on_event: OnEvent, stop: asyncio.Event, *,
                              ready: asyncio.Event | None = None) -> None:
    """Call ``on_event(routing_key, event)`` (a function or a coroutine function) for every
    track event until ``stop`` is set, connecting again whenever the broker goes away;
    ``ready`` is set each time the queue is bound and events flow."""
    if settings.broker_url is None:
        raise ConfigError("following track events needs VEZA_BROKER_URL (amqp://...)")
    failures, down = 0, False
    while not stop.is_set():
        try:
            await _follow(settings.broker_url, on_event, stop, ready)
            failures = 0
            if down:
                down = False
                log.info("following track events again")
        except _FAILURES as exc:
            if ready is not None:
                ready.clear()
            if not down:
                down = True
                log.warning("track events unavailable (%s: %s); connecting again",
                            type(exc).__name__, exc)
            try:
                await asyncio.wait_for(stop.wait(), _PAUSES_S[min(failures,
                                                                  len(_PAUSES_S) - 1)])
            except TimeoutError:
                pass
            failures += 1


async def _follow(url: str, on_event: OnEvent, stop: asyncio.Event,
                  ready: asyncio.Event | None) -> None:
    """Consume until ``stop`` is set (return) or the connection is lost (raise)."""
    connection = await aio_pika.connect(url, timeout=5)
    lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def closed(_sender: object, exc: BaseException | None = None) -> None:
        if not lost.done():
            lost.set_result(exc)

    connection.close_callbacks.add(closed)
    try:
        # A broker that is still starting accepts the connection and may never answer the
        # set-up: give it a deadline, and connect again after it.
        async with asyncio.timeout(SETUP_TIMEOUT_S):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=200)
            exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                      durable=True)
            queue = await channel.declare_queue(
                "", exclusive=True, auto_delete=True,
                arguments={"x-max-length": MAX_WAITING, "x-overflow": "drop-head"})
            await queue.bind(exchange, BINDING)

            async def handle(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                await _deliver(on_event, message.routing_key or "", message.body)

            await queue.consume(handle, no_ack=True)
        if ready is not None:
            ready.set()
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([stopping, lost], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not stop.is_set():
            exc = lost.result()
            raise ConnectionError(f"connection lost: {exc}" if exc else "connection lost")
    finally:
        if not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except _FAILURES:
                pass


async def _deliver(on_event: OnEvent, routing_key: str, body: bytes) -> None:
    try:
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError(f"a JSON {type(event).__name__}, not an object")
    except ValueError as exc:
        log.warning("ignoring a %s event that is not a JSON object: %s", routing_key, exc)
        return
    try:
        result = on_event(routing_key, event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # one bad event or callback bug must not stop the stream
        log.exception("track event handler failed on %s", routing_key)
