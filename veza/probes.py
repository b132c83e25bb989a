"""Quick checks of the services a process depends on, for readiness and live metrics.

Every probe answers within a few seconds whatever state the service is in, and raises
ServiceError (or one of its kinds) naming what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from storage.db import Database
from storage.objects import ObjectStore
from veza.errors import BrokerError, DatabaseError, ServiceError, StoreError

log = logging.getLogger(__name__)

TIMEOUT_S = 2.0
# A key no object is ever stored under: asking for it proves the store answers.
PROBE_KEY = "readyz/probe"


def check_database(db: Database) -> None:
    """Run a trivial query."""
    try:
        with db.transaction() as cur:
            cur.execute("SET LOCAL statement_timeout = %s", (int(TIMEOUT_S * 1000),))
            cur.execute("SELECT 1")
    except ServiceError:
        raise
    except Exception as exc:  # a schema or permission problem is "not ready" too
        raise DatabaseError(f"database check failed: {exc}") from exc


def check_store(store: ObjectStore) -> None:
    """Ask the store about one object."""
    try:
        store.exists(PROBE_KEY)
    except ServiceError:
        raise
    except Exception as exc:
        raise StoreError(f"object store check failed: {exc}") from exc


def check_broker(broker_url: str | None) -> None:
    """Open and close a connection to RabbitMQ (nothing to check for the in-process broker)."""
    if broker_url is None:
        return
    with _rabbitmq(broker_url):
        pass


def rabbitmq_depths(broker_url: str, queues: Sequence[str]) -> dict[str, int | None]:
    """Return how many ready messages each queue holds (None: the queue does not exist yet),
    by passive declares on one short-lived connection."""
    import pika.exceptions

    depths: dict[str, int | None] = {}
    with _rabbitmq(broker_url) as connection:
        for name in queues:
            channel = connection.channel()
            try:
                declared = channel.queue_declare(name, passive=True)
                depths[name] = int(declared.method.message_count)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != 404:
                    raise BrokerError(f"cannot inspect queue {name!r}: {exc}") from exc
                depths[name] = None  # a failed passive declare closes the channel
                continue
            channel.close()
    return depths


@contextmanager
def _rabbitmq(broker_url: str) -> Iterator[Any]:
    import pika
    import pika.exceptions

    try:
        params = pika.URLParameters(broker_url)
    except Exception as exc:
        raise BrokerError(f"bad broker URL: {exc}") from exc
    params.connection_attempts = 1
    params.retry_delay = 0
    params.socket_timeout = TIMEOUT_S
    params.stack_timeout = TIMEOUT_S * 2
    params.blocked_connection_timeout = TIMEOUT_S
    try:
        connection = pika.BlockingConnection(params)
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerError(f"broker unreachable: {exc!r}") from exc
    try:
        yield connection
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerError(f"broker failed: {exc!r}") from exc
    finally:
        try:
            connection.close()
        except Exception:  # already closed by the broker; nothing left to release
            pass


def readiness(db: Database, store: ObjectStore, broker_url: str | None) -> dict[str, str | None]:
    """Check the database, broker and store; return each one's problem, None when it is fine."""
    checks = {
        "database": lambda: check_database(db),
        "broker": lambda: check_broker(broker_url),
        "store": lambda: check_store(store),
    }
    problems: dict[str, str | None] = {}
    for name, check in checks.items():
        try:
            check()
            problems[name] = None
        except ServiceError as exc:
            log.warning("readiness: %s is down: %s", name, exc.message)
            problems[name] = exc.message
    return problems
