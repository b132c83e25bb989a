"""Pytest fixtures: S3-compatible servers (nanio, moto) on 127.0.0.1 and stores on top of them."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.local import LocalStore
from storage.s3 import S3Store

_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class S3Server:
    """An S3-compatible server started for the test session."""

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(name: str) -> str:
    """Return the console script installed beside the running interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the dev extras (pip install -e .[dev])")
    return found


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (403 without credentials) means it is serving
        except OSError:
            time.sleep(0.1)
    _stop(process)
    pytest.fail(f"{url} did not answer within {_START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _serve(
    command: list[str], *, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    _wait_until_answering(process, f"http://127.0.0.1:{port}/", log)
    return process


@pytest.fixture(scope="session")
def nanio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Run nanio, which checks SigV4 signatures and expiry, for the whole session."""
    workdir = tmp_path_factory.mktemp("nanio")
    port = free_port()
    access_key, secret_key = secrets.token_hex(10), secrets.token_hex(20)
    command = [
        _script("nanio"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(workdir / "data"), "--log-level", "warning", "--no-access-log",
    ]
    env = {"NANIO_ACCESS_KEY": access_key, "NANIO_SECRET_KEY": secret_key}
    process = _serve(command, port=port, env=env, log=workdir / "nanio.log")
    try:
        yield S3Server(f"127.0.0.1:{port}", access_key, secret_key, process)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Run moto's server, which speaks policies and CORS but accepts any signature."""
    workdir = tmp_path_factory.mktemp("moto")
    port = free_port()
    command = [_script("moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = _serve(command, port=port, env=env, log=workdir / "moto.log")
    try:
        yield S3Server(f"127.0.0.1:{port}", "testing", "testing", process)
    finally:
        _stop(process)


def make_s3_store(server: S3Server, **kwargs: object) -> S3Store:
    """Return an S3Store on server in a fresh, uuid-named bucket that exists."""
    store = S3Store(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=f"veza-test-{uuid.uuid4().hex[:16]}",
        **kwargs,  # type: ignore[arg-type]
    )
    store.ensure_bucket()
    return store


@pytest.fixture
def s3_store(nanio_server: S3Server) -> S3Store:
    """Return an S3Store on nanio, in a bucket of its own."""
    return make_s3_store(nanio_server)


@pytest.fixture
def moto_store(moto_server: S3Server) -> S3Store:
    """Return an S3Store on moto, in a bucket of its own."""
    return make_s3_store(moto_server)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """Return a LocalStore under tmp_path with a random signing key."""
    store = LocalStore(
        tmp_path / "store", base_url="http://127.0.0.1:8000", signing_key=secrets.token_hex(32)
    )
    store.ensure_bucket()
    return store
