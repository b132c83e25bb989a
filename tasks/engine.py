"""The one module the platform calls to enqueue work and that workers start from.

Dramatiq is the engine: RabbitMQ with publisher confirms in production, its in-memory StubBroker
with worker threads in the same process on embedded defaults. Handlers are plain callables taking
keyword arguments of plain values (ids, strings, numbers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import pika.exceptions
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from veza.errors import BrokerError, ConfigError

log = logging.getLogger(__name__)

Handler = Callable[..., None]


@dataclass(frozen=True)
class TaskSpec:
    """How one task runs: its handler, retry budget and time limit."""

    name: str
    handler: Handler
    max_retries: int = 2
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 60_000
    time_limit_ms: int = 60 * 60 * 1000


def _middleware() -> list[Any]:
    # Dramatiq's defaults minus Prometheus (it binds a port per process); Retries and TimeLimit
    # take their figures from each actor's options.
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(),
        CurrentMessage(),
    ]


class TaskEngine:
    """Enqueue tasks by name and run workers for them, on one Dramatiq broker."""

    def __init__(self, broker: dramatiq.Broker, specs: Mapping[str, TaskSpec]) -> None:
        self.broker = broker
        self.actors: dict[str, dramatiq.Actor[..., Any]] = {}
        for spec in specs.values():
            self.actors[spec.name] = dramatiq.actor(
                broker=broker,
                actor_name=spec.name,
                queue_name=spec.name,
                max_retries=spec.max_retries,
                min_backoff=spec.min_backoff_ms,
                max_backoff=spec.max_backoff_ms,
                time_limit=spec.time_limit_ms,
            )(spec.handler)
        self._worker: dramatiq.Worker | None = None

    @classmethod
    def from_url(cls, broker_url: str | None, specs: Mapping[str, TaskSpec]) -> TaskEngine:
        """Build the engine on RabbitMQ at ``broker_url``, or in memory when it is None."""
        broker: dramatiq.Broker
        if broker_url is None:
            broker = StubBroker(middleware=_middleware())
            broker.emit_after("process_boot")
        elif broker_url.startswith(("amqp://", "amqps://")):
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            broker = RabbitmqBroker(url=broker_url, confirm_delivery=True,
                                    middleware=_middleware())
        else:
            raise ConfigError(f"VEZA_BROKER_URL must be an amqp:// URL, got {broker_url!r}")
        return cls(broker, specs)

    @property
    def in_memory(self) -> bool:
        return isinstance(self.broker, StubBroker)

    def enqueue(self, task: str, payload: Mapping[str, Any]) -> None:
        """Publish one task and return once the broker has confirmed it.

        ``payload`` holds the handler's keyword arguments; an optional ``time_limit_s`` entry
        is the task's time limit for this message instead of the task's default.
        """
        actor = self.actors.get(task)
        if actor is None:
            raise ConfigError(f"unknown task {task!r}")
        kwargs = dict(payload)
        options: dict[str, Any] = {}
        limit = kwargs.pop("time_limit_s", None)
        if limit is not None:
            options["time_limit"] = int(float(limit) * 1000)
        try:
            actor.send_with_options(kwargs=kwargs, **options)
        except (BrokerConnectionError, pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerError(f"broker refused the message: {exc!r}") from exc

    def start_worker(self, *, threads: int) -> None:
        """Start consuming every task's queue on ``threads`` threads in this process."""
        if self._worker is not None:
            return
        self._worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=500)
        self._worker.start()

    def stop(self) -> None:
        """Stop the worker (letting running tasks finish) and close the broker."""
        if self._worker is not None:
            self._worker.stop(timeout=30_000)
            self._worker = None
        self.broker.close()

    def dead_letters(self) -> int:
        """Return how many messages were dead-lettered (in-memory broker only)."""
        if isinstance(self.broker, StubBroker):
            return len(self.broker.dead_letters)
        return 0


def fail_current_message() -> bool:
    """Send the message being processed to its dead-letter queue instead of acknowledging it."""
    message = CurrentMessage.get_current_message()
    if message is None or not hasattr(message, "fail"):
        return False
    message.fail()
    return True
