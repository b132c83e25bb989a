"""Private servers a fault test may stop and start: a RabbitMQ node, a PostgreSQL cluster and an
S3 server that keeps its data on disk. The machine's shared servers are never touched."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2

from tests.plugins.s3 import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def _wait(check: Callable[[], bool], what: str, timeout: float, log: Path | None = None) -> None:
    """Call ``check()`` until it returns true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} not ready within {timeout:.0f} s\n{tail}")


def _end(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a server process we started, and everything it started, for good."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


class PrivateRabbit:
    """A RabbitMQ node of our own (own node name, ports, data and log dirs, no plugins)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.node = f"veza-faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.log = workdir / "server.log"
        (workdir / "enabled_plugins").write_text("[].\n")
        (workdir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        (workdir / "rabbitmq-env.conf").write_text("")
        self.env = {
            **os.environ,
            "HOME": str(workdir),  # the Erlang cookie the node and its CLI share
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_PID_FILE": str(workdir / "node.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(workdir / "rabbitmq-env.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        self.process: subprocess.Popen[bytes] | None = None

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [str(RABBIT_BIN / "rabbitmq-server")], env=self.env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        process = self.process

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"rabbitmq-server exited:\n{self.log.read_text()[-4000:]}")
            return self.ctl("await_startup", "--timeout", "5", timeout=30).returncode == 0

        _wait(up, f"RabbitMQ node {self.node}", 120, self.log)

    def stop_app(self) -> None:
        result = self.ctl("stop_app")
        assert result.returncode == 0, result.stderr

    def start_app(self) -> None:
        result = self.ctl("start_app")
        assert result.returncode == 0, result.stderr
        _wait(lambda: self.ctl("await_startup", "--timeout", "5").returncode == 0,
              f"RabbitMQ app on {self.node}", 60, self.log)

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.ctl("stop", timeout=60)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        _end(self.process)


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise AssertionError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port.

    PostgreSQL refuses to run as root; as root the cluster runs as the ``postgres`` user.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.bin = _pg_bin()
        self.data = workdir / "data"
        self.log = workdir / "server.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(workdir, user=self.user)
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/veza"

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.user,
                                capture_output=True, text=True, timeout=timeout,
                                cwd=self.workdir)
        assert result.returncode == 0, f"{args[0]}: {result.stderr}\n{self._log_tail()}"

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=60")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        self.start()
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE veza")
        conn.close()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", self._options(), "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-m", "immediate",
                          "stop")
            except AssertionError:
                pass


class RestartableNanio:
    """A nanio S3 server whose objects live in a directory, so they outlive a stop."""

    def __init__(self, workdir: Path, nanio: str, access_key: str, secret_key: str) -> None:
        self.workdir = workdir
        self.nanio = nanio
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.access_key = access_key
        self.secret_key = secret_key
        self.log = workdir / "nanio.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.nanio, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.workdir / "data"), "--log-level", "warning",
                   "--no-access-log"]
        env = {**os.environ, "NANIO_ACCESS_KEY": self.access_key,
               "NANIO_SECRET_KEY": self.secret_key}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        _wait(self._answers, f"nanio on {self.endpoint}", 30, self.log)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.endpoint}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means it is serving
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server as a crash would: the port stops answering at once."""
        if self.process is not None:
            _end(self.process, signal.SIGKILL)
            self.process = None
