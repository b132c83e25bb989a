"""The journal on RabbitMQ: ``append`` returns once the broker confirmed the record.

Records go to the durable quorum queue ``{prefix}.chat`` (see ``chat.journal_queue``) in
batches: the records appended while the previous batch waits for its confirm (at most
``window_ms`` once there is something to send, at most ``max_records`` or ``max_bytes``) travel
as ONE persistent message whose body is a JSON array of records, on one channel with publisher
confirms; ``veza serve chat-archiver`` stores them in PostgreSQL. A confirm per message costs
the same for one record as for a hundred, so one process confirms many thousands of records a
second where one message per record managed about a thousand. Up to ``max_batches`` batches
wait for their confirms at once. Each append of a batch returns when its batch is confirmed,
or fails with ``BrokerError`` with all the others when it is refused, times out or its
connection is lost; the next append connects again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

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


@dataclass
class JournalStats:
    """What the journal sent: records, AMQP messages (batches) and the largest batch."""

    records: int = 0
    batches: int = 0
    largest: int = 0


@dataclass
class _Batch:
    bodies: list[bytes] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    size: int = 2


class RabbitJournal:
    """Append journal records to RabbitMQ in confirmed batches."""

    def __init__(self, settings: Settings, *, confirm_timeout_s: float = 10.0,
                 connect_timeout_s: float = 5.0, window_ms: float = 2.0,
                 max_records: int = 100, max_bytes: int = 256 * 1024,
                 max_batches: int = 6) -> None:
        if settings.broker_url is None:
            raise ConfigError("the RabbitMQ journal needs VEZA_BROKER_URL (amqp://...)")
        if max_records < 1 or max_batches < 1 or max_bytes < 1 or window_ms < 0:
            raise ConfigError("the journal's batches need max_records, max_bytes and "
                              "max_batches of at least 1 and a window of 0 ms or more")
        self._url = settings.broker_url
        self._queue = queue_name(settings)
        self._arguments = queue_arguments(settings)
        self._rejected = rejected_queue_name(settings)
        self._confirm_timeout_s = confirm_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._window_s = window_ms / 1000
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._max_batches = max_batches
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._last_failure: tuple[float, str] | None = None
        self._pending = _Batch()
        self._sending = 0  # batches waiting for their confirm
        self._confirms = 0  # batches done, confirmed or not
        self._wake: asyncio.Event | None = None  # something to send, a slot freed, or closing
        self._sender: asyncio.Task[None] | None = None
        self._publishes: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.stats = JournalStats()

    async def start(self) -> None:
        """Connect and declare the journal queues; raise ``BrokerError`` if that fails."""
        await self._ready()

    async def append(self, record: Record) -> None:
        """Return once the broker confirmed ``record``'s batch; raise ``BrokerError`` if it
        did not."""
        if self._closed:
            raise BrokerError("chat journal is closed")
        try:
            body = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            raise InputError(f"journal record is not JSON: {exc}") from exc
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = self._pending
        pending.bodies.append(body)
        pending.waiters.append(done)
        pending.size += len(body) + 1
        self._in_flight += 1
        self._idle.clear()
        # The sender waits for the first record, a full batch or a confirm, not for each record.
        if len(pending.bodies) == 1 or self._full():
            self._wakeup()
        try:
            # A caller that gives up cancels only its own future, never its batch's publish.
            await done
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def close(self) -> None:
        """Send what is queued, wait for the confirms (up to the confirm timeout) and
        disconnect."""
        self._closed = True
        self._wakeup()
        try:
            await asyncio.wait_for(self._idle.wait(), self._confirm_timeout_s)
        except TimeoutError:
            log.warning("closing the chat journal with %d appends unconfirmed", self._in_flight)
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        self._fail(self._take(), BrokerError("chat journal is closed"))
        async with self._lock:
            connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                await connection.close()
            except _FAILURES:
                pass

    def _wakeup(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_loop(), name="chat-journal-sender")

    def _full(self) -> bool:
        pending = self._pending
        return len(pending.bodies) >= self._max_records or pending.size >= self._max_bytes

    async def _send_loop(self) -> None:
        """Cut batches and publish them, at most ``max_batches`` unconfirmed at once."""
        assert self._wake is not None
        wake = self._wake
        while True:
            wake.clear()
            if not self._pending.bodies or self._sending >= self._max_batches:
                if self._closed and not self._pending.bodies and not self._sending:
                    return
                await wake.wait()
                continue
            if self._sending and not self._full() and not self._closed:
                # A batch is on its way: gather what arrives until its confirm (which wakes us
                # too), the window ends or the batch is full.
                deadline, confirms = time.monotonic() + self._window_s, self._confirms
                while not self._full() and self._confirms == confirms:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    wake.clear()
                    try:
                        await asyncio.wait_for(wake.wait(), left)
                    except TimeoutError:
                        break
            batch = self._take()
            self._sending += 1
            task = asyncio.create_task(self._publish(batch))
            self._publishes.add(task)
            task.add_done_callback(self._publishes.discard)

    def _take(self) -> _Batch:
        """Take the records waiting to be sent, as one batch."""
        pending = self._pending
        if len(pending.bodies) <= self._max_records and pending.size <= self._max_bytes:
            self._pending = _Batch()
            return pending
        size, count = 2, 0
        for body in pending.bodies[:self._max_records]:
            if count and size + len(body) + 1 > self._max_bytes:
                break
            size, count = size + len(body) + 1, count + 1
        batch = _Batch(pending.bodies[:count], pending.waiters[:count], size)
        pending.bodies, pending.waiters = pending.bodies[count:], pending.waiters[count:]
        pending.size -= size - 2
        return batch

    @staticmethod
    def _fail(batch: _Batch, error: BrokerError) -> None:
        for waiter in batch.waiters:
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # retrieved: an abandoned append logs nothing

    async def _publish(self, batch: _Batch) -> None:
        """Publish ``batch`` as one message and settle its appends with the confirm."""
        try:
            await self._publish_once(batch)
        except BrokerError as exc:
            self._fail(batch, exc)
        except BaseException as exc:
            self._fail(batch, BrokerError(f"chat records not stored: {_describe(exc)}"))
            raise
        else:
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self.stats.records += len(batch.bodies)
            self.stats.batches += 1
            self.stats.largest = max(self.stats.largest, len(batch.bodies))
        finally:
            self._sending -= 1
            self._confirms += 1
            if self._wake is not None:
                self._wake.set()

    async def _publish_once(self, batch: _Batch) -> None:
        channel = await self._ready()
        message = aio_pika.Message(b"[" + b",".join(batch.bodies) + b"]",
                                   content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        count = len(batch.bodies)
        try:
            await channel.default_exchange.publish(
                message, routing_key=self._queue, mandatory=True,
                timeout=self._confirm_timeout_s)
        except aio_pika.exceptions.PublishError as exc:
            # Someone deleted the queue: the next append connects and declares it again.
            await self._drop(channel)
            raise BrokerError(f"chat records not stored ({count} in the batch): queue "
                              f"{self._queue} is missing (returned unroutable)") from exc
        except aio_pika.exceptions.DeliveryError as exc:
            raise BrokerError(f"chat records not stored ({count} in the batch): the broker "
                              f"refused them ({exc.frame.name if exc.frame else 'nack'})") from exc
        except _FAILURES as exc:
            await self._drop(channel)
            what = (f"no confirm within {self._confirm_timeout_s:g} s"
                    if isinstance(exc, asyncio.TimeoutError) else _describe(exc))
            raise BrokerError(f"chat records not stored ({count} in the batch): {what}") from exc

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
