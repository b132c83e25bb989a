"""The one seam the platform calls to enqueue work and that workers start from.

    TaskEngine                the interface: enqueue, run workers, stop, count dead letters
     ├── DramatiqEngine       the default: RabbitMQ with publisher confirms, or its in-memory
     │                        StubBroker with worker threads in this process (embedded defaults)
     └── CeleryEngine         the alternative (tasks/celery_engine.py), RabbitMQ only

`open_engine` picks one by name. Handlers are plain callables taking keyword arguments of plain
values (ids, strings, numbers). Job state, fan-in and retry decisions live in PostgreSQL, so an
engine only has to deliver at least once, retry with backoff and dead-letter what failed.
"""

from __future__ import annotations

import abc
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import pika
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
from veza.probes import rabbitmq_depths
from veza.queues import dramatiq_dead_letter_queue

log = logging.getLogger(__name__)

Handler = Callable[..., None]
ENGINES = ("dramatiq", "celery")


@dataclass(frozen=True)
class TaskSpec:
    """How one task runs: its handler, retry budget and time limit."""

    name: str
    handler: Handler
    max_retries: int = 2
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 60_000
    time_limit_ms: int = 60 * 60 * 1000


def backoff_ms(retries: int, spec: TaskSpec) -> int:
    """Return the delay before retry number ``retries + 1``: exponential, with jitter.

    The delay lies in [b/2, b] for b = min_backoff * 2**retries (capped), as Dramatiq computes
    it, so both engines space their retries alike and the delays never shrink.
    """
    ceiling = min(spec.min_backoff_ms * 2 ** min(retries, 32), spec.max_backoff_ms)
    return int(ceiling / 2 + random.uniform(0, ceiling / 2))


def check_amqp_url(broker_url: str | None, engine: str) -> str:
    """Return ``broker_url`` if it is an AMQP URL; raise ConfigError otherwise."""
    if broker_url is None:
        raise ConfigError(f"VEZA_TASK_ENGINE={engine} needs VEZA_BROKER_URL (amqp://...)")
    if not broker_url.startswith(("amqp://", "amqps://")):
        raise ConfigError(f"VEZA_BROKER_URL must be an amqp:// URL, got {broker_url!r}")
    return broker_url


def queue_depth(broker_url: str, queue: str) -> int:
    """Return how many messages wait in ``queue`` on RabbitMQ (0 if it was never declared)."""
    return rabbitmq_depths(broker_url, [queue])[queue] or 0


class TaskEngine(abc.ABC):
    """Enqueue tasks by name and run workers for them."""

    name: str
    specs: Mapping[str, TaskSpec]

    @classmethod
    def from_url(cls, broker_url: str | None, specs: Mapping[str, TaskSpec]) -> TaskEngine:
        """Return the default engine (Dramatiq) on ``broker_url``, in memory when it is None."""
        return DramatiqEngine.from_url(broker_url, specs)

    @property
    def in_memory(self) -> bool:
        """Whether messages live in this process only (embedded defaults)."""
        return False

    @property
    def forks_workers(self) -> bool:
        """Whether `run_worker` forks child processes (then the caller keeps no threads)."""
        return False

    @abc.abstractmethod
    def enqueue(self, task: str, payload: Mapping[str, Any]) -> None:
        """Publish one task and return once the broker has confirmed it.

        ``payload`` holds the handler's keyword arguments; an optional ``time_limit_s`` entry
        is the task's time limit for this message instead of the task's default.

        Raises:
            ConfigError: for an unknown task.
            BrokerError: when the broker is unreachable or refused the message.
        """

    @abc.abstractmethod
    def start_worker(self, *, threads: int) -> None:
        """Start consuming every task's queue on ``threads`` threads in this process."""

    def run_worker(self, *, concurrency: int, stop: threading.Event,
                   on_process_init: Callable[[], None] | None = None) -> None:
        """Consume in the foreground until ``stop`` is set (or, for a forking engine, until
        SIGINT/SIGTERM); ``on_process_init`` runs first in every forked child."""
        self.start_worker(threads=concurrency)
        while not stop.is_set():
            stop.wait(1.0)

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the worker (letting running tasks finish) and release the broker."""

    @abc.abstractmethod
    def queue(self, task: str) -> str:
        """Return the name of the queue ``task``'s messages wait in."""

    @abc.abstractmethod
    def dead_letter_queue(self, task: str) -> str:
        """Return the name of the queue ``task``'s failed messages end in."""

    @abc.abstractmethod
    def dead_letters(self) -> int:
        """Return how many messages wait in the dead-letter queues."""

    def _split(self, task: str, payload: Mapping[str, Any]) -> tuple[TaskSpec, dict[str, Any],
                                                                      float | None]:
        spec = self.specs.get(task)
        if spec is None:
            raise ConfigError(f"unknown task {task!r}")
        kwargs = dict(payload)
        limit = kwargs.pop("time_limit_s", None)
        return spec, kwargs, None if limit is None else float(limit)


def open_engine(kind: str, broker_url: str | None, specs: Mapping[str, TaskSpec]
                ) -> TaskEngine:
    """Return the engine named ``kind`` ("dramatiq" or "celery") with ``specs`` declared."""
    if kind == "dramatiq":
        return DramatiqEngine.from_url(broker_url, specs)
    if kind == "celery":
        from tasks.celery_engine import CeleryEngine

        return CeleryEngine(check_amqp_url(broker_url, kind), specs)
    raise ConfigError(f"VEZA_TASK_ENGINE must be one of {', '.join(ENGINES)}, got {kind!r}")


# ---------------------------------------------------------------- Dramatiq


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


class DramatiqEngine(TaskEngine):
    """The default engine, on one Dramatiq broker; each task has the queue of its name."""

    name = "dramatiq"

    def __init__(self, broker: dramatiq.Broker, specs: Mapping[str, TaskSpec],
                 broker_url: str | None = None) -> None:
        self.broker = broker
        self.specs = dict(specs)
        self.broker_url = broker_url
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
    def from_url(cls, broker_url: str | None, specs: Mapping[str, TaskSpec]) -> DramatiqEngine:
        """Build the engine on RabbitMQ at ``broker_url``, or in memory when it is None."""
        broker: dramatiq.Broker
        if broker_url is None:
            broker = StubBroker(middleware=_middleware())
            broker.emit_after("process_boot")
        else:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            broker = RabbitmqBroker(url=check_amqp_url(broker_url, cls.name),
                                    confirm_delivery=True, middleware=_middleware())
        return cls(broker, specs, broker_url)

    @property
    def in_memory(self) -> bool:
        return isinstance(self.broker, StubBroker)

    def enqueue(self, task: str, payload: Mapping[str, Any]) -> None:
        _, kwargs, limit_s = self._split(task, payload)
        options: dict[str, Any] = {}
        if limit_s is not None:
            options["time_limit"] = int(limit_s * 1000)
        try:
            self.actors[task].send_with_options(kwargs=kwargs, **options)
        except (BrokerConnectionError, pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerError(f"broker refused the message: {exc!r}") from exc

    def start_worker(self, *, threads: int) -> None:
        if self._worker is not None:
            return
        self._worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=500)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=30_000)
            self._worker = None
        self.broker.close()

    def queue(self, task: str) -> str:
        return task

    def dead_letter_queue(self, task: str) -> str:
        return dramatiq_dead_letter_queue(task)

    def dead_letters(self) -> int:
        if isinstance(self.broker, StubBroker):
            return len(self.broker.dead_letters)
        assert self.broker_url is not None
        return sum(queue_depth(self.broker_url, self.dead_letter_queue(name))
                   for name in self.specs)


# ---------------------------------------------------------------- the message being processed

_current = threading.local()


def set_current_failer(fail: Callable[[], None] | None) -> None:
    """Register how to fail the message this thread is processing (engines without a
    current-message middleware call this around each handler)."""
    _current.fail = fail


def fail_current_message() -> bool:
    """Send the message being processed to its dead-letter queue instead of acknowledging it."""
    fail = getattr(_current, "fail", None)
    if fail is not None:
        fail()
        return True
    message = CurrentMessage.get_current_message()
    if message is None or not hasattr(message, "fail"):
        return False
    message.fail()
    return True
