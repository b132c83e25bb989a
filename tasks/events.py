"""Publish platform events on the ``veza.events`` topic exchange.

RabbitMQ in production (a durable topic exchange, persistent messages, publisher confirms);
in-process subscribers on embedded defaults. Events reach here only through the outbox, so an
event is published once its transaction has committed, and at least once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pika
import pika.exceptions

from veza.errors import BrokerError

log = logging.getLogger(__name__)

EXCHANGE = "veza.events"

Subscriber = Callable[[str, dict[str, Any]], None]


class EventPublisher:
    """Publish events by routing key (``track.ready``...) with confirms, or to local subscribers."""

    def __init__(self, broker_url: str | None) -> None:
        self.broker_url = broker_url
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def subscribe(self, fn: Subscriber) -> None:
        """Call ``fn(routing_key, event)`` for every event published in this process."""
        self._subscribers.append(fn)

    def publish(self, routing_key: str, event: Mapping[str, Any]) -> None:
        """Publish one event and return once the broker confirmed it."""
        body = dict(event)
        for fn in list(self._subscribers):
            try:
                fn(routing_key, body)
            except Exception:  # one subscriber's bug must not stop the others, or the relay
                log.exception("event subscriber failed on %s", routing_key)
        if self.broker_url is None:
            return
        with self._lock:
            try:
                channel = self._open()
                channel.basic_publish(
                    exchange=EXCHANGE,
                    routing_key=routing_key,
                    body=json.dumps(body, separators=(",", ":")).encode(),
                    properties=pika.BasicProperties(content_type="application/json",
                                                    delivery_mode=2),
                    mandatory=False,
                )
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._close()
                raise BrokerError(f"event {routing_key} not published: {exc!r}") from exc

    def _open(self) -> Any:
        if self._channel is None or self._channel.is_closed:
            assert self.broker_url is not None
            self._close()
            parameters = pika.URLParameters(self.broker_url)
            parameters.connection_attempts = 1
            parameters.socket_timeout = 10
            self._connection = pika.BlockingConnection(parameters)
            channel = self._connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
            self._channel = channel
        return self._channel

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass

    def close(self) -> None:
        with self._lock:
            self._close()
