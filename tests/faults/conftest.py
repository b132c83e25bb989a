"""Fixtures for the fault-injection tests: the task engine, private servers that may be stopped,
short generated tracks, and a stack of real processes torn down even when a test fails."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.synth import music, write_wav
from tests.e2e.conftest import VEZA
from tests.faults.servers import PrivatePostgres, PrivateRabbit, RestartableNanio
from tests.faults.stack import LADDER, Stack
from tests.plugins.s3 import S3Server, _script, free_port

TRACK_S = 20.0
LEASE_S = 3


@pytest.fixture(params=["dramatiq", "celery"])
def engine(request: pytest.FixtureRequest) -> str:
    """The task engine every process of the test runs on (VEZA_TASK_ENGINE)."""
    return str(request.param)


@pytest.fixture(scope="session")
def track_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 20 s stereo music-like WAV file."""
    path = tmp_path_factory.mktemp("faults-audio") / "track.wav"
    write_wav(path, music(duration_s=TRACK_S, sample_rate=44100, channels=2, seed=7),
              sample_rate=44100)
    return path


@pytest.fixture
def vhost_url() -> Iterator[str]:
    """A vhost of this test's own on the shared RabbitMQ, so queue depths are this test's."""
    from tests.conftest import rabbit_vhost

    with rabbit_vhost("veza-faults") as url:
        yield url


@pytest.fixture(scope="module")
def private_rabbit() -> Iterator[PrivateRabbit]:
    """A RabbitMQ node of this module's own, which a test may stop and start."""
    workdir = Path(tempfile.mkdtemp(prefix="vz-rmq-", dir="/tmp"))
    node = PrivateRabbit(workdir)
    try:
        node.start()
        yield node
    finally:
        node.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this module's own, migrated, which a test may restart."""
    workdir = Path(tempfile.mkdtemp(prefix="vz-pg-", dir="/tmp"))
    cluster = PrivatePostgres(workdir)
    try:
        cluster.init()
        upgrade = subprocess.run([VEZA, "db", "upgrade"], capture_output=True, text=True,
                                 timeout=120, env={"PATH": "/usr/bin:/bin",
                                                   "VEZA_DATABASE_URL": cluster.dsn})
        assert upgrade.returncode == 0, upgrade.stderr
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def own_nanio(tmp_path: Path) -> Iterator[RestartableNanio]:
    """An S3 server of this test's own, keeping its objects on disk across a restart."""
    server = RestartableNanio(tmp_path / "nanio", _script("nanio"), secrets.token_hex(10),
                              secrets.token_hex(20))
    server.workdir.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(engine: str, tmp_path: Path, database_url: str, vhost_url: str,
               nanio_server: S3Server) -> Iterator[StackFactory]:
    """Return a factory of stacks, on this test's database, vhost and bucket unless told
    otherwise; their processes stop before those go away."""
    stacks: list[Stack] = []

    def make(*, database: str | None = None, broker: str | None = None,
             s3: S3Server | RestartableNanio | None = None) -> Stack:
        server = s3 or nanio_server
        port = free_port()
        env = {
            "VEZA_DATABASE_URL": database or database_url,
            "VEZA_BROKER_URL": broker or vhost_url,
            "VEZA_TASK_ENGINE": engine,
            "VEZA_S3_ENDPOINT": server.endpoint,
            "VEZA_S3_ACCESS_KEY": server.access_key,
            "VEZA_S3_SECRET_KEY": server.secret_key,
            "VEZA_S3_BUCKET": f"veza-faults-{uuid.uuid4().hex[:12]}",
            "VEZA_API_PORT": str(port),
            "VEZA_DATA_DIR": str(tmp_path / "data"),
            "VEZA_JOB_LEASE_S": str(LEASE_S),
            "VEZA_LADDER": ",".join(name.removeprefix("aac_").removesuffix("k")
                                    for name in LADDER),
        }
        stack = Stack(env, tmp_path, port)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()
