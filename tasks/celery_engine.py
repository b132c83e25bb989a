"""The Celery engine behind the task seam: RabbitMQ only, configured to lose nothing.

Every task has a durable queue ``{task}.celery`` that RabbitMQ dead-letters into
``{task}.celery.XQ``; the names differ from Dramatiq's queues, whose declared arguments differ,
so a deployment can switch engines without RabbitMQ refusing a redeclaration.

- Messages are acknowledged after the handler returns (``task_acks_late``) and a worker child
  that dies mid-task puts its message back (``task_reject_on_worker_lost``); each child reserves
  one message at a time (``worker_prefetch_multiplier=1``). Without these, a killed worker
  loses its task.
- `enqueue` returns after RabbitMQ confirmed the message (``confirm_publish``).
- No result backend: job state is ours in PostgreSQL.
- A handler that raises is retried with exponential backoff and jitter up to the task's
  ``max_retries``; then, or when the handler calls `fail_current_message`, the message is
  rejected without requeueing, so RabbitMQ moves it to the dead-letter queue.
- ``time_limit_s`` in a payload is a soft time limit (the handler sees SoftTimeLimitExceeded,
  like any failure); a hung child is killed a grace period later. Only the prefork pool of
  `run_worker` enforces limits; the thread pool of `start_worker` cannot interrupt a thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import amqp.exceptions
import kombu.exceptions
from celery import Celery, Task, signals
from celery.exceptions import Reject, Retry
from celery.worker import state as worker_state
from kombu import Exchange, Queue

from tasks.engine import TaskEngine, TaskSpec, backoff_ms, queue_depth, set_current_failer
from veza.errors import BrokerError
from veza.queues import celery_dead_letter_queue, celery_queue

log = logging.getLogger(__name__)

# How long after the soft time limit a child that ignores it is killed.
HARD_LIMIT_GRACE_S = 30.0
_PUBLISH_ERRORS = (kombu.exceptions.KombuError, amqp.exceptions.AMQPError,
                   amqp.exceptions.MessageNacked, OSError)


def _queues(specs: Mapping[str, TaskSpec]) -> list[Queue]:
    return [
        Queue(celery_queue(name), Exchange(celery_queue(name), type="direct", durable=True),
              routing_key=celery_queue(name), durable=True,
              queue_arguments={"x-dead-letter-exchange": "",
                               "x-dead-letter-routing-key": celery_dead_letter_queue(name)})
        for name in specs
    ]


def _configure(app: Celery, specs: Mapping[str, TaskSpec]) -> None:
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A failure that escapes the task's own retry logic is rejected into the DLQ; a child
        # killed at its hard time limit is acknowledged (its job's lease then expires and the
        # reaper takes the job over) rather than requeued in a loop.
        task_acks_on_failure=False,
        task_acks_on_timeout=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"confirm_publish": True},
        broker_connection_timeout=5.0,
        broker_connection_retry_on_startup=True,
        # Fail fast: the outbox relay keeps the row and tries again on its next pass.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.0,
                                   "interval_step": 0.5, "interval_max": 1.0},
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_default_delivery_mode="persistent",
        task_queues=_queues(specs),
        task_routes={name: {"queue": celery_queue(name)} for name in specs},
        task_default_queue=celery_queue(next(iter(specs), "veza")),
        task_create_missing_queues=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )


def _task_body(spec: TaskSpec) -> Callable[..., None]:
    """Wrap a handler: retry what it raised with backoff, dead-letter what it failed."""

    def run(task: Task, **kwargs: Any) -> None:
        failed: list[bool] = []
        set_current_failer(lambda: failed.append(True))
        try:
            spec.handler(**kwargs)
        except Exception as exc:
            retries = task.request.retries
            if retries >= spec.max_retries:
                log.warning("task %s[%s] failed after %d retries; dead-lettered: %s",
                            spec.name, task.request.id, retries, exc)
                raise Reject(f"out of retries: {exc}", requeue=False) from exc
            delay_s = backoff_ms(retries, spec) / 1000
            log.warning("task %s[%s] failed, retry %d in %.2f s: %s", spec.name,
                        task.request.id, retries + 1, delay_s, exc)
            raise task.retry(exc=exc, countdown=delay_s, max_retries=spec.max_retries) from exc
        finally:
            set_current_failer(None)
        if failed:
            raise Reject("failed for good", requeue=False)

    run.__name__ = spec.name.replace(".", "_")
    return run


def _noop() -> None:
    pass


class CeleryEngine(TaskEngine):
    """The alternative engine, on RabbitMQ at ``broker_url``."""

    name = "celery"

    def __init__(self, broker_url: str, specs: Mapping[str, TaskSpec]) -> None:
        self.broker_url = broker_url
        self.specs = dict(specs)
        self.app = Celery("veza", broker=broker_url, set_as_current=False)
        _configure(self.app, self.specs)
        self.tasks: dict[str, Task] = {}
        for spec in self.specs.values():
            soft_s = spec.time_limit_ms / 1000
            # Not shared: a shared task is registered in every Celery app made afterwards, so
            # a second engine in this process would run the first one's handler.
            self.tasks[spec.name] = self.app.task(
                name=spec.name, bind=True, typing=False, shared=False,
                max_retries=spec.max_retries, soft_time_limit=soft_s,
                time_limit=soft_s + HARD_LIMIT_GRACE_S,
            )(_task_body(spec))
        self._dlq_declared = False
        self._worker: Any = None
        self._thread: threading.Thread | None = None

    @property
    def forks_workers(self) -> bool:
        return True

    def _declare_dead_letter_queues(self) -> None:
        # RabbitMQ drops a dead-lettered message whose queue does not exist: declare them first.
        if self._dlq_declared:
            return
        try:
            with self.app.connection_for_write() as connection:
                channel = connection.default_channel
                for name in self.specs:
                    Queue(self.dead_letter_queue(name), durable=True)(channel).declare()
                    # The task queues too, so a message can wait before any worker starts.
                    for queue in _queues({name: self.specs[name]}):
                        queue(channel).declare()
        except _PUBLISH_ERRORS as exc:
            raise BrokerError(f"broker unreachable: {exc!r}") from exc
        self._dlq_declared = True

    def enqueue(self, task: str, payload: Mapping[str, Any]) -> None:
        spec, kwargs, limit_s = self._split(task, payload)
        options: dict[str, Any] = {}
        if limit_s is not None:
            options.update(soft_time_limit=limit_s, time_limit=limit_s + HARD_LIMIT_GRACE_S)
        self._declare_dead_letter_queues()
        try:
            self.tasks[spec.name].apply_async(kwargs=kwargs, **options)
        except _PUBLISH_ERRORS as exc:
            raise BrokerError(f"broker refused the message: {exc!r}") from exc

    def _hostname(self) -> str:
        return f"veza-{os.getpid()}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"

    def start_worker(self, *, threads: int) -> None:
        if self._worker is not None:
            return
        self._declare_dead_letter_queues()
        # The thread pool runs tasks through the process's default app: make it this one.
        self.app.set_default()
        self._worker = self.app.WorkController(
            hostname=self._hostname(), pool_cls="threads", concurrency=threads,
            without_heartbeat=True, without_mingle=True, without_gossip=True)
        # Its event loop may sleep up to 10 s between timers; a short one makes `stop` prompt.
        self._worker.timer.call_repeatedly(0.5, _noop)
        self._thread = threading.Thread(target=self._worker.start, name="veza-celery",
                                        daemon=True)
        self._thread.start()

    def run_worker(self, *, concurrency: int, stop: threading.Event,
                   on_process_init: Callable[[], None] | None = None) -> None:
        """Run the prefork worker in the foreground until SIGTERM (warm) or SIGINT."""

        def process_init(**_: Any) -> None:
            if on_process_init is not None:
                on_process_init()

        self._declare_dead_letter_queues()
        signals.worker_process_init.connect(process_init, weak=False)
        try:
            worker = self.app.Worker(
                hostname=self._hostname(), pool_cls="prefork", concurrency=concurrency,
                without_heartbeat=True, without_mingle=True, without_gossip=True,
                quiet=True, loglevel="INFO")
            if not stop.is_set():
                worker.start()
        finally:
            signals.worker_process_init.disconnect(process_init)

    def stop(self) -> None:
        if self._worker is not None and self._thread is not None:
            # The worker's connection belongs to its thread: ask its loop to stop (warm, letting
            # running tasks finish) rather than closing the connection from this one.
            worker_state.should_stop = 0
            self._thread.join(timeout=60)
            worker_state.should_stop = None
            self._worker = self._thread = None
        self.app.close()

    def queue(self, task: str) -> str:
        return celery_queue(task)

    def dead_letter_queue(self, task: str) -> str:
        return celery_dead_letter_queue(task)

    def dead_letters(self) -> int:
        return sum(queue_depth(self.broker_url, self.dead_letter_queue(name))
                   for name in self.specs)


__all__ = ["CeleryEngine", "Retry"]
