"""Servers of a benchmark run's own: a migrated PostgreSQL database and a RabbitMQ vhost, made
on the machine's servers and dropped afterwards, so that runs never share state.

The servers are found through ``VEZA_BENCH_ADMIN_DSN`` (a database to create others from),
``VEZA_BENCH_PG_URL`` (the server's URL without a database) and ``VEZA_BENCH_RABBITMQ``; the
defaults are the local servers these machines run.
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_DSN = os.environ.get("VEZA_BENCH_ADMIN_DSN",
                           "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL = os.environ.get("VEZA_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
RABBIT = os.environ.get("VEZA_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")


@contextmanager
def private_database(prefix: str = "veza_bench") -> Iterator[str]:
    """Yield the URL of a migrated database of this run's own; drop it afterwards."""
    import psycopg2

    from storage.migrate import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        dsn = f"{PG_URL}/{name}"
        upgrade(dsn)
        yield dsn
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def private_vhost(prefix: str = "veza-bench") -> Iterator[str]:
    """Yield the AMQP URL of a RabbitMQ vhost of this run's own; delete it afterwards."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{RABBIT}/{urllib.parse.quote(vhost, safe='')}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False,
                       capture_output=True, timeout=60)
