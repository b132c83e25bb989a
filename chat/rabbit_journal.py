"""The journal on RabbitMQ: ``append`` returns once the broker confirmed the record.

Records go to the durable quorum queue ``{prefix}.chat`` (see ``chat.journal_queue``) as
persistent JSON messages on one channel with publisher confirms; ``veza serve chat-archiver``
stores them in PostgreSQL. Any number of appends may wait for their confirms at once. When the
connection is lost, the appends in flight fail with ``BrokerError`` and the next append
connects again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import aiormq.exceptions

from chat.journal_queue import (
    queue_arguments,
    queue_name,
    rejected_queue_arguments,
    rejected_queue_name,
)
from chat.ports import Record
from veza.errors import BrokerError, ConfigError, InputError
from veza.settings import Settings

log = logging.getLogger(__name__)

# After a failed connection attempt, appends within this window fail at once with the same
# reason instead of each waiting on a broker that is down.
_RETRY_CONNECT_AFTER_S = 0.5
_FAILURES = (
    aio_pika.exceptions.AMQPError,
    aiormq.exceptions.AMQPError,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
    RuntimeError,  # aiormq: "writer is None", a channel closed under a publish
)


class RabbitJournal:
    """Append journal records to RabbitMQ with publisher confirms."""

    def __init__(self, settings: Settings, *, confirm_timeout_s: float = 10.0,
                 connect_timeout_s: float = 5.0) -> None:
        if settings.broker_url is None:
            raise ConfigError("the RabbitMQ journal needs VEZA_BROKER_URL (amqp://...)")
        self._url = settings.broker_url
        self._queue = queue_name(settings)
        self._arguments = queue_arguments(settings)
        self._rejected = rejected_queue_name(settings)
        self._confirm_timeout_s = confirm_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._last_failure: tuple[float, str] | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    async def start(self) -> None:
        """Connect and declare the journal queues; raise ``BrokerError`` if that fails."""
        await self._ready()

    async def append(self, record: Record) -> None:
        """Return once the broker confirmed ``record``; raise ``BrokerError`` if it did not."""
        if self._closed:
            raise BrokerError("chat journal is closed")
        try:
            body = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            raise InputError(f"journal record is not JSON: {exc}") from exc
        message = aio_pika.Message(body, content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                   message_id=str(record.get("id") or "") or None)
        self._in_flight += 1
        self._idle.clear()
        try:
            channel = await self._ready()
            try:
                await channel.default_exchange.publish(
                    message, routing_key=self._queue, mandatory=True,
                    timeout=self._confirm_timeout_s)
            except aio_pika.exceptions.PublishError as exc:
                # Someone deleted the queue: the next append connects and declares it again.
                await self._drop(channel)
                raise BrokerError(f"chat record not stored: queue {self._queue} is missing "
                                  "(returned unroutable)") from exc
            except aio_pika.exceptions.DeliveryError as exc:
                raise BrokerError("chat record not stored: the broker refused it "
                                  f"({exc.frame.name if exc.frame else 'nack'})") from exc
            except _FAILURES as exc:
                await self._drop(channel)
                what = ("no confirm within "
                        f"{self._confirm_timeout_s:g} s" if isinstance(exc, asyncio.TimeoutError)
                        else _describe(exc))
                raise BrokerError(f"chat record not stored: {what}") from exc
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def close(self) -> None:
        """Wait for the appends in flight (up to the confirm timeout) and disconnect."""
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), self._confirm_timeout_s)
        except TimeoutError:
            log.warning("closing the chat journal with %d appends unconfirmed", self._in_flight)
        async with self._lock:
            connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                await connection.close()
            except _FAILURES:
                pass

    async def _ready(self) -> aio_pika.abc.AbstractChannel:
        """Return an open channel with confirms, connecting first when needed."""
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        async with self._lock:
            channel = self._channel
            if channel is not None and not channel.is_closed:
                return channel
            if self._last_failure is not None:
                at, reason = self._last_failure
                if time.monotonic() - at < _RETRY_CONNECT_AFTER_S:
                    raise BrokerError(f"chat journal unavailable: {reason}")
            try:
                channel = await self._connect()
            except aiormq.exceptions.ChannelPreconditionFailed as exc:
                self._last_failure = (time.monotonic(), _describe(exc))
                raise BrokerError(f"chat journal queue {self._queue} exists with other "
                                  f"settings: {_describe(exc)}") from exc
            except _FAILURES as exc:
                self._last_failure = (time.monotonic(), _describe(exc))
                raise BrokerError(f"chat journal unavailable: cannot reach RabbitMQ "
                                  f"({_describe(exc)})") from exc
            self._last_failure = None
            return channel

    async def _connect(self) -> aio_pika.abc.AbstractChannel:
        await self._drop(None)
        connection = await aio_pika.connect(self._url, timeout=self._connect_timeout_s)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            await channel.declare_queue(self._rejected, durable=True,
                                        arguments=rejected_queue_arguments())
            await channel.declare_queue(self._queue, durable=True, arguments=self._arguments)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel = connection, channel
        log.info("chat journal connected to RabbitMQ (queue %s)", self._queue)
        return channel

    async def _drop(self, channel: aio_pika.abc.AbstractChannel | None) -> None:
        """Forget the connection of ``channel`` (or the current one) so the next append
        connects again."""
        if channel is not None and channel is not self._channel:
            return
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), 2.0)
            except _FAILURES:
                pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
