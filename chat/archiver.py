"""``veza serve chat-archiver``: store the RabbitMQ chat journal in PostgreSQL, in batches.

A journal message holds a JSON array of records (a batch from one gateway) or, as gateways sent
before batching, one record as a JSON object. Messages are taken until they hold ``batch_max``
records (or whatever came within ``batch_ms`` of the first); their records are applied in ONE
transaction (``storage.chat_archive.apply_records``), committed, and only then acknowledged, all
at once up to the last delivery tag. A crash between the commit and the ack redelivers the
messages, which then change nothing: applying a record is idempotent. A record that cannot be
stored goes to ``{prefix}.chat.XQ`` on its own, with its reason (confirmed by the broker before
the messages are acknowledged), and the other records of its batch are stored. While PostgreSQL
is down the records stay unacknowledged and are retried with a growing pause; when the broker
goes away the archiver connects again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
import psycopg2
from prometheus_client import Counter, Histogram

from chat.journal_queue import (
    REASON_HEADER,
    queue_arguments,
    queue_name,
    rejected_queue_arguments,
    rejected_queue_name,
)
from storage.chat_archive import Applied, apply_records
from storage.db import Database
from veza.errors import ConfigError, DatabaseError
from veza.settings import Settings

log = logging.getLogger(__name__)

STORED = Counter("veza_chat_archived_records", "Chat journal records stored in PostgreSQL")
REJECTED = Counter("veza_chat_rejected_records",
                   "Chat journal records set aside in the rejected-records queue")
BATCH_SIZE = Histogram("veza_chat_archive_batch_size", "Journal records per archiver commit",
                       buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500, 1000))

_BROKER_FAILURES = (pika.exceptions.AMQPError, OSError)
_PAUSES_S = (0.5, 1.0, 2.0, 5.0, 10.0)

Channel = Any  # pika.adapters.blocking_connection.BlockingChannel (untyped)


@dataclass
class _Taken:
    """The records of the messages taken so far, and what was set aside before applying."""

    records: list[Mapping[str, Any]] = field(default_factory=list)
    bodies: dict[int, bytes] = field(default_factory=dict)  # id(record) -> its message body
    order: dict[int, int] = field(default_factory=dict)  # id(record) -> place in the journal
    rejected: list[tuple[int, bytes, str]] = field(default_factory=list)
    messages: int = 0
    last_tag: int = 0

    def add(self, tag: int, body: bytes) -> None:
        """Unpack one journal message: a record (JSON object) or a batch (JSON array)."""
        self.messages += 1
        self.last_tag = tag
        try:
            parsed = json.loads(body)
        except ValueError as exc:  # includes UnicodeDecodeError
            self.rejected.append((self.size(), body, f"not a journal record: {exc}"))
            return
        if isinstance(parsed, dict):
            self.order[id(parsed)] = self.size()
            self.records.append(parsed)
            self.bodies[id(parsed)] = body  # set aside as it came, byte for byte
            return
        if not isinstance(parsed, list):
            self.rejected.append((self.size(), body, "not a journal record: a JSON "
                                        f"{type(parsed).__name__}, not an object or an array"))
            return
        for item in parsed:
            if isinstance(item, dict):
                self.order[id(item)] = self.size()
                self.records.append(item)
            else:
                self.rejected.append((self.size(), _encode(item), "not a journal record: a "
                                      f"JSON {type(item).__name__}, not an object"))

    def size(self) -> int:
        return len(self.records) + len(self.rejected)


class _Stopped(Exception):
    """The stop event was set while a batch waited for the database."""


class Archiver:
    """Consume the chat journal and store it, batch by batch."""

    def __init__(self, settings: Settings, *, batch_max: int = 200, batch_ms: float = 100,
                 prefetch: int = 400, db: Database | None = None) -> None:
        if settings.broker_url is None:
            raise ConfigError("`veza serve chat-archiver` needs VEZA_BROKER_URL (amqp://...)")
        if settings.database_url is None and db is None:
            raise ConfigError("`veza serve chat-archiver` needs VEZA_DATABASE_URL "
                              "(postgresql://...)")
        if not 1 <= batch_max <= prefetch:
            raise ConfigError(f"the archiver's batch ({batch_max}) must be 1 to the prefetch "
                              f"({prefetch})")
        self.settings = settings
        self.batch_max = batch_max
        self.batch_s = batch_ms / 1000
        self.prefetch = prefetch
        self._own_db = db is None
        self.db = db or Database(settings.database_url or "", max_connections=1)
        self._queue = queue_name(settings)
        self._rejected = rejected_queue_name(settings)
        self._broker_down = False
        self._database_down = False

    def run(self, stop: threading.Event) -> None:
        """Store journal records until ``stop`` is set."""
        failures = 0
        try:
            while not stop.is_set():
                try:
                    self._consume(stop)
                    failures = 0
                except _BROKER_FAILURES as exc:
                    if not self._broker_down:
                        self._broker_down = True
                        log.warning("chat archiver lost RabbitMQ (%s); connecting again",
                                    _describe(exc))
                    stop.wait(_PAUSES_S[min(failures, len(_PAUSES_S) - 1)])
                    failures += 1
        finally:
            if self._own_db:
                self.db.close()

    def _consume(self, stop: threading.Event) -> None:
        assert self.settings.broker_url is not None
        parameters = pika.URLParameters(self.settings.broker_url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 5
        parameters.heartbeat = 30
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.queue_declare(self._rejected, durable=True,
                                  arguments=rejected_queue_arguments())
            channel.queue_declare(self._queue, durable=True,
                                  arguments=queue_arguments(self.settings))
            channel.basic_qos(prefetch_count=self.prefetch)
            if self._broker_down:
                self._broker_down = False
            log.info("chat archiver consuming %s", self._queue)
            taken = _Taken()
            first = 0.0
            for method, _properties, body in channel.consume(self._queue,
                                                             inactivity_timeout=0.05):
                if method is not None:
                    if not taken.messages:
                        first = time.monotonic()
                    taken.add(method.delivery_tag, body)
                if taken.messages and (taken.size() >= self.batch_max or stop.is_set()
                                       or time.monotonic() - first >= self.batch_s):
                    self._store(connection, channel, taken, stop)
                    taken = _Taken()
                if stop.is_set():
                    break
        except _Stopped:
            pass  # the batch was not acknowledged: the broker delivers it again later
        finally:
            if connection.is_open:
                try:
                    connection.close()
                except _BROKER_FAILURES:
                    pass

    def _store(self, connection: pika.BlockingConnection, channel: Channel, taken: _Taken,
               stop: threading.Event) -> None:
        """Apply, commit, set the rejected aside, then acknowledge every message taken."""
        records = taken.records
        applied = self._apply(connection, records, stop) if records else Applied()
        rejected = sorted(taken.rejected + [
            (taken.order[id(record)], taken.bodies.get(id(record)) or _encode(record), reason)
            for record, reason in applied.rejected])
        for _place, body, reason in rejected:
            channel.basic_publish(
                "", self._rejected, body, mandatory=True,
                properties=pika.BasicProperties(content_type="application/json",
                                                delivery_mode=2,
                                                headers={REASON_HEADER: reason[:1000]}))
        channel.basic_ack(taken.last_tag, multiple=True)
        STORED.inc(applied.records)
        REJECTED.inc(len(rejected))
        BATCH_SIZE.observe(taken.size())
        if rejected:
            log.warning("chat archiver set %d of %d records aside in %s", len(rejected),
                        taken.size(), self._rejected)

    def _apply(self, connection: pika.BlockingConnection,
               records: list[Mapping[str, Any]], stop: threading.Event) -> Applied:
        """Commit ``records``, waiting out a database outage."""
        failures = 0
        while True:
            try:
                with self.db.transaction() as cur:
                    applied = apply_records(cur, records)
            except (DatabaseError, psycopg2.Error) as exc:
                if not self._database_down:
                    self._database_down = True
                    log.warning("chat archiver cannot store records (%s); retrying the batch",
                                _describe(exc))
                # Wait on the connection, so heartbeats go on and the broker keeps the batch
                # ours while the database is away.
                deadline = time.monotonic() + _PAUSES_S[min(failures, len(_PAUSES_S) - 1)]
                while time.monotonic() < deadline:
                    if stop.is_set():
                        raise _Stopped from exc
                    connection.sleep(0.1)
                failures += 1
                continue
            if self._database_down:
                self._database_down = False
                log.info("chat archiver storing records again")
            return applied


def serve(settings: Settings, stop: threading.Event) -> None:
    """Run the chat archiver until ``stop`` is set."""
    # pika logs every refused connection with a traceback; the archiver says once that the
    # broker is away, and again when it is back.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    Archiver(settings).run(stop)


def _encode(item: Any) -> bytes:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
