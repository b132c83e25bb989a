"""Shared fixtures: a clean environment, a seeded rng, and isolated PostgreSQL and RabbitMQ."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg2
import pytest

from pipeline.synth import music, write_wav

pytest_plugins = ["tests.plugins.s3"]

# The services the test command makes sure are running (see scripts/services.sh).
ADMIN_DSN = os.environ.get("VEZA_TEST_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres "
                           "dbname=postgres")
RABBIT = os.environ.get("VEZA_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every VEZA_* variable so a developer's shell cannot change a test."""
    for name in list(os.environ):
        if name.startswith("VEZA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def demo_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 30 s stereo 44.1 kHz music-like WAV file."""
    path = tmp_path_factory.mktemp("audio") / "demo.wav"
    write_wav(path, music(duration_s=30.0, sample_rate=44100, channels=2, seed=1),
              sample_rate=44100)
    return path


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    return conn


def _dsn(dbname: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{dbname}"


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """A database migrated to head for this run; tests copy it, never use it directly."""
    from storage.migrate import upgrade

    name = f"veza_tpl_{uuid.uuid4().hex[:10]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    upgrade(_dsn(name))
    yield name
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def database_url(migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"veza_t_{uuid.uuid4().hex[:12]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    yield _dsn(name)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A fresh database with no schema at all."""
    name = f"veza_e_{uuid.uuid4().hex[:12]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield _dsn(name)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def rabbit_vhost(prefix: str) -> Iterator[str]:
    """A RabbitMQ vhost of its own, deleted afterwards; yields its URL."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"{RABBIT}/{urllib.parse.quote(vhost, safe='')}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False,
                       capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """A RabbitMQ vhost of this run's own."""
    with rabbit_vhost("veza-test") as url:
        yield url


REDIS = os.environ.get("VEZA_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """The Redis server the test command makes sure is running."""
    return REDIS


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A queue and Redis key prefix of this test's own (``VEZA_QUEUE_PREFIX``)."""
    import redis

    prefix = f"veza-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
