"""Run veza processes as a user would, and wait for them to answer."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.plugins.s3 import free_port

VEZA = str(Path(sys.executable).parent / "veza")


@dataclass
class Proc:
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(args: list[str], env: dict[str, str], log: Path) -> Proc:
    out = open(log, "w")  # noqa: SIM115 - owned by the process for its lifetime
    process = subprocess.Popen([VEZA, *args], env={**os.environ, **env}, stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    return Proc(process, log)


def stop(proc: Proc, timeout: float = 30) -> int:
    if proc.process.poll() is None:
        proc.process.send_signal(signal.SIGTERM)
        try:
            proc.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(timeout=10)
    return proc.process.returncode


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60,
              procs: tuple[Proc, ...] = ()) -> Any:
    """Return ``check()``'s first true value, or fail naming ``what`` with the processes' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in procs)
    raise AssertionError(f"{what}: not within {timeout:.0f} s\n{logs}")


def wait_http(url: str, proc: Proc, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise AssertionError(f"process exited early:\n{proc.output()[-5000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{proc.output()[-5000:]}")


def wait_ready(status_url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = requests.get(status_url, timeout=10).json()
        if body["status"] in ("ready", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"not ready after {timeout} s: {body}")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory path: PostgreSQL's unix socket path must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="vz-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def port() -> int:
    return free_port()
