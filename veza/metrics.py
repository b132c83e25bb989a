"""Prometheus metrics: what workers and the API count as they go, and what a scrape reads live.

Counters and histograms live in this process, or, when several processes serve together
(gunicorn workers, prefork children), in files under ``PROMETHEUS_MULTIPROC_DIR`` that any one
of them sums at scrape time. Jobs by state and queue depths are read when scraped, from
PostgreSQL and the broker; a scrape never fails because one of them is down: the matching
``veza_*_up`` gauge says 0 instead.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from storage.db import Database
from veza.errors import ConfigError
from veza.probes import TIMEOUT_S, rabbitmq_depths
from veza.queues import Queues, engine_queues

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
JOB_STATES = ("queued", "running", "succeeded", "failed")
RETRY = "retry"

# Every metric below has labels, so its values are made on first use: a process that turns
# multiprocess mode on after this module was imported still gets file-backed values.
STAGE_SECONDS = Histogram(
    "veza_stage_duration_seconds", "Wall time of one pipeline stage of an ingest", ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
STAGE_RTF = Histogram(
    "veza_stage_realtime_factor", "Seconds of audio one pipeline stage handles per wall second",
    ["stage"],
    buckets=(0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000))
JOB_SECONDS = Histogram(
    "veza_job_duration_seconds", "Wall time of one ingest attempt, by outcome", ["outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
JOBS_FINISHED = Counter(
    "veza_jobs_finished", "Ingest attempts by outcome: done, failed, skipped or retry",
    ["outcome"])
RETRIES = Counter(
    "veza_job_retries", "Jobs sent round again: after a transient failure (transient), by an "
    "operator (manual), or after their worker stopped (worker_lost)", ["reason"])
DEAD_LETTERED = Counter(
    "veza_dead_lettered", "Messages failed for good into a dead-letter queue", ["task"])
OUTBOX_PUBLISHED = Counter(
    "veza_outbox_published", "Outbox messages the broker confirmed", ["kind"])
OUTBOX_FAILED = Counter(
    "veza_outbox_publish_failures", "Outbox publishes the broker refused (retried later)",
    ["kind"])
HTTP_REQUESTS = Counter(
    "veza_http_requests", "API requests answered, by route, method and status",
    ["endpoint", "method", "status"])
HTTP_SECONDS = Histogram(
    "veza_http_request_duration_seconds", "API request latency, by route and method",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))

P = ParamSpec("P")

# Methods counted by name; any other (a client may send any token) is counted as "other", so a
# client cannot add series to the exposition.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# ---------------------------------------------------------------- recording


def observe_stages(timings: Mapping[str, float], *, audio_s: float) -> None:
    """Record each stage's wall time and real-time factor for ``audio_s`` seconds of audio."""
    for stage, seconds in timings.items():
        STAGE_SECONDS.labels(stage).observe(seconds)
        if seconds > 1e-6 and audio_s > 0:
            STAGE_RTF.labels(stage).observe(audio_s / seconds)


def count_outcomes(*, retry: type[BaseException]) -> Callable[[Callable[P, str]], Callable[P, str]]:
    """Count a job function's outcomes: the string it returns, or "retry" when it raises
    ``retry`` (a transient failure, also counted as a retry)."""

    def wrap(fn: Callable[P, str]) -> Callable[P, str]:
        @wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> str:
            start = time.perf_counter()
            outcome = "error"
            try:
                outcome = fn(*args, **kwargs)
                return outcome
            except retry:
                outcome = RETRY
                retried("transient")
                raise
            finally:
                JOBS_FINISHED.labels(outcome).inc()
                JOB_SECONDS.labels(outcome).observe(time.perf_counter() - start)

        return run

    return wrap


def retried(reason: str, count: int = 1) -> None:
    """Count jobs sent round again for ``reason`` (transient, manual, worker_lost)."""
    if count:
        RETRIES.labels(reason).inc(count)


def dead_lettered(task: str) -> None:
    """Count one message of ``task`` failed for good into its dead-letter queue."""
    DEAD_LETTERED.labels(task).inc()


def outbox_published(kind: str, ok: bool = True) -> None:
    """Count one outbox message the broker took (``ok``) or refused."""
    (OUTBOX_PUBLISHED if ok else OUTBOX_FAILED).labels(kind).inc()


def http_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered API request and its latency (``endpoint`` a route of the app or
    "unmatched", so that neither it nor the method can take values a client makes up)."""
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_SECONDS.labels(endpoint, method).observe(seconds)


# ---------------------------------------------------------------- live state


# Reads the ready-message count of each named queue (None: no such queue yet).
DepthReader = Callable[[Sequence[str]], Mapping[str, int | None]]


def rabbitmq_reader(broker_url: str) -> DepthReader:
    """Return a reader that asks RabbitMQ at ``broker_url`` with passive declares."""
    return lambda names: rabbitmq_depths(broker_url, names)


def memory_reader(broker: Any) -> DepthReader:
    """Return a reader of Dramatiq's in-memory broker: its queues, and its dead letters under
    the ``.XQ`` names RabbitMQ would give them."""

    def read(names: Sequence[str]) -> dict[str, int | None]:
        depths: dict[str, int | None] = {}
        for name in names:
            if name.endswith(".XQ"):
                dead = broker.dead_letters_by_queue.get(name.removesuffix(".XQ"))
                depths[name] = None if dead is None else len(dead)
            else:
                queue = broker.queues.get(name)
                depths[name] = None if queue is None else queue.qsize()
        return depths

    return read


_local_reader: DepthReader | None = None


def read_queues_in_process(reader: DepthReader | None) -> None:
    """Make scrapes in this process read queue depths with ``reader`` (an in-memory broker
    living here) instead of asking RabbitMQ; None undoes it."""
    global _local_reader
    _local_reader = reader


class LiveCollector:
    """Jobs by state from PostgreSQL and queue depths from the broker, read at scrape time."""

    def __init__(self, db: Database | None, queues: Queues | None,
                 reader: DepthReader | None) -> None:
        self.db = db
        self.queues = queues
        self.reader = reader

    def collect(self) -> Iterator[Metric]:
        if self.db is not None:
            yield from self._jobs()
        if self.queues is not None and self.reader is not None:
            yield from self._queues()

    def _jobs(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("veza_database_up", "Whether the last scrape could read the "
                               "database (1) or not (0)")
        try:
            assert self.db is not None
            with self.db.transaction() as cur:
                cur.execute("SET LOCAL statement_timeout = %s", (int(TIMEOUT_S * 1000),))
                cur.execute("SELECT state, count(*) AS n FROM jobs GROUP BY state")
                counts = {row["state"]: int(row["n"]) for row in cur.fetchall()}
        except Exception as exc:
            log.warning("metrics: jobs by state not read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        jobs = GaugeMetricFamily("veza_jobs", "Ingest jobs by state", labels=["state"])
        for state in sorted({*JOB_STATES, *counts}):
            jobs.add_metric([state], counts.get(state, 0))
        up.add_metric([], 1)
        yield up
        yield jobs

    def _queues(self) -> Iterator[Metric]:
        assert self.queues is not None and self.reader is not None
        up = GaugeMetricFamily("veza_broker_up", "Whether the last scrape could read the "
                               "broker's queues (1) or not (0)")
        try:
            depths = self.reader([*self.queues.work, *self.queues.dead])
        except Exception as exc:
            log.warning("metrics: queue depths not read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, queues, help_ in (
            ("veza_queue_depth", self.queues.work, "Messages waiting in a work queue"),
            ("veza_dead_letter_depth", self.queues.dead,
             "Messages held in a dead-letter queue"),
        ):
            gauge = GaugeMetricFamily(name, help_, labels=["queue"])
            for queue in queues:
                gauge.add_metric([queue], depths.get(queue) or 0)
            yield gauge


def live_collector(db: Database | None, broker_url: str | None, task_engine: str,
                   tasks: Iterable[str]) -> LiveCollector:
    """Return the collector of jobs by state and of ``tasks``' queue depths: read in this
    process when an in-memory broker lives here, else from RabbitMQ at ``broker_url``."""
    reader = _local_reader
    if reader is None and broker_url is not None:
        reader = rabbitmq_reader(broker_url)
    return LiveCollector(db, engine_queues(task_engine, tasks), reader)


# ---------------------------------------------------------------- exposition


class _ThisProcess:
    """What this process recorded, as the default registry holds it."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry(*extra: Any) -> CollectorRegistry:
    """Return a registry of every process's recorded metrics (or this one's), plus ``extra``
    collectors."""
    reg = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(reg)
    else:
        reg.register(_ThisProcess())  # type: ignore[arg-type]
    for collector in extra:
        reg.register(collector)
    return reg


def exposition(*extra: Any) -> tuple[bytes, str]:
    """Return the text exposition of ``registry(*extra)`` and its content type."""
    return generate_latest(registry(*extra)), CONTENT_TYPE_LATEST


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """Keep metrics in files of a fresh directory for the block, so that this process and its
    children (forked or started later) count together; remove the directory afterwards."""
    path = Path(tempfile.mkdtemp(prefix="veza-metrics-"))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(path)
    values.ValueClass = values.get_value_class()
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        values.ValueClass = values.get_value_class()
        shutil.rmtree(path, ignore_errors=True)


class MetricsServer:
    """A Prometheus endpoint on its own thread, for processes that serve no HTTP API; with
    ``multiprocess``, it also sums the metrics of the child processes started after it."""

    def __init__(self, host: str, port: int, *extra: Any, multiprocess: bool = False) -> None:
        from prometheus_client import start_http_server

        self._stack = ExitStack()
        if multiprocess:
            self._stack.enter_context(multiprocess_dir())
        try:
            self.httpd, self.thread = start_http_server(port, addr=host,
                                                        registry=registry(*extra))
        except OSError as exc:
            self._stack.close()
            raise ConfigError(f"cannot serve metrics on {host}:{port}: "
                              f"{exc.strerror or exc}; set VEZA_METRICS_PORT to a free "
                              "port") from exc
        log.info("metrics at http://%s:%d/metrics", host, port)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
        self._stack.close()
