"""The chat processes a benchmark measures, on servers of their own: a private database, RabbitMQ
vhost and Redis key prefix, gateways (`veza serve chat`) and the archiver, and accounts with
access tokens minted by the platform's own code."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.api import _free_port
from benchmarks.harness import bench_env
from benchmarks.servers import private_database, private_vhost
from veza.errors import VezaError

REDIS = os.environ.get("VEZA_BENCH_REDIS", "redis://127.0.0.1:6379/0")
VEZA = str(Path(sys.executable).with_name("veza"))


@dataclass(frozen=True)
class User:
    id: str
    handle: str
    token: str


@dataclass
class ChatStack:
    """The environment every chat process of one run shares, and the processes started."""

    env: dict[str, str]
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        """Start ``veza ARGS`` in a process group of its own, logging to NAME.log."""
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it
        proc = subprocess.Popen([VEZA, *args], env={**self.env, **(extra or {})}, stdout=log,
                                stderr=log, stdin=subprocess.DEVNULL, process_group=0)
        log.close()
        self.procs.append(proc)
        return proc

    def gateways(self, *names: str) -> list[tuple[subprocess.Popen[bytes], int]]:
        """Start gateways on free ports together; return them once each /healthz answers."""
        started = []
        for name in names:
            port = _free_port()
            started.append((self.start(name, "serve", "chat",
                                       extra={"VEZA_CHAT_PORT": str(port)}), port))
        for name, (proc, port) in zip(names, started, strict=True):
            self.wait_http(f"http://127.0.0.1:{port}/healthz", proc, name)
        return started

    def archiver(self) -> subprocess.Popen[bytes]:
        return self.start("archiver", "serve", "chat-archiver")

    def wait_http(self, url: str, proc: subprocess.Popen[bytes], name: str,
                  timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise VezaError(f"{name} did not start:\n{self.log_tail(name)}",
                                    code="benchmark_failed") from None
                time.sleep(0.1)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def errors(self, name: str) -> dict[str, int]:
        """Count the ERROR lines of a process's JSON log, by message and exception."""
        found: Counter[str] = Counter()
        path = self.workdir / f"{name}.log"
        for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("level") in ("ERROR", "CRITICAL"):
                last = (entry.get("exc_info") or "").strip().splitlines()[-1:] or [""]
                found[f"{entry.get('message')}: {last[0][:160]}"] += 1
        return dict(found)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def raise_file_limit() -> int:
    """Raise this process's descriptor limit to the hard limit (children inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@contextmanager
def private_prefix() -> Iterator[str]:
    """A Redis key prefix of this run's own, its keys deleted afterwards."""
    import redis

    prefix = f"veza-bench-chat-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i:i + 1000])
        finally:
            client.close()


@contextmanager
def chat_stack() -> Iterator[ChatStack]:
    """Servers of this run's own and a place for logs; every process started is stopped."""
    with ExitStack() as stack:
        dsn = stack.enter_context(private_database("veza_bench_chat"))
        broker = stack.enter_context(private_vhost("veza-bench-chat"))
        prefix = stack.enter_context(private_prefix())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vz-chat-")))
        env = {**bench_env(), "VEZA_DATABASE_URL": dsn, "VEZA_BROKER_URL": broker,
               "VEZA_REDIS_URL": REDIS, "VEZA_QUEUE_PREFIX": prefix,
               "VEZA_DATA_DIR": str(workdir / "data"), "VEZA_CHAT_HOST": "127.0.0.1",
               # Senders here send far above a person's rate on purpose.
               "VEZA_CHAT_RATE_LIMIT": "0", "VEZA_LOG_FORMAT": "json"}
        chat = ChatStack(env, workdir)
        try:
            yield chat
        finally:
            chat.stop_all()


def make_users(env: dict[str, str], n: int, *, prefix: str = "bench") -> list[User]:
    """Create ``n`` listeners in one transaction and log each in (no password, no HTTP)."""
    from storage.accounts import Account, Accounts
    from storage.repositories import unit_of_work
    from veza.accounts import AccountService
    from veza.runtime import build_services
    from veza.settings import Settings

    # Tokens outlive the run: a connection opened late in a long run must still be let in.
    settings = Settings.from_env(env).replace(access_token_ttl_s=6 * 3600)
    services = build_services(settings, migrate=False)
    try:
        service = AccountService(services)
        users = []
        with unit_of_work(services.db) as uow:
            uow.cur.execute(
                "INSERT INTO users (handle, email, role) "
                "SELECT %s || i, %s || i || '@bench.invalid', 'listener' "
                "FROM generate_series(1, %s) AS i "
                "RETURNING id, handle, display_name, email, role, password_hash, created_at",
                (f"{prefix}", f"{prefix}", n))
            accounts = Accounts(uow.cur)
            for row in uow.cur.fetchall():
                account = Account(**row)
                # The same session and token a login makes, without the password hash.
                tokens = service.open_session(accounts, account, user_agent="veza bench chat",
                                               ip=None)
                users.append(User(str(account.id), account.handle, tokens.access_token))
        return users
    finally:
        services.close()


def make_room(env: dict[str, str], owner: User, members: list[User]) -> str:
    """Create a public room with these members; return its id."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(env["VEZA_DATABASE_URL"])
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO chat_rooms (kind, name, created_by) "
                        "VALUES ('public', 'bench', %s) RETURNING id", (owner.id,))
            room_id = str(cur.fetchone()[0])
            roles = [(room_id, owner.id, "owner")] + [(room_id, m.id, "member")
                                                      for m in members if m.id != owner.id]
            execute_values(cur, "INSERT INTO chat_members (room_id, user_id, role) VALUES %s",
                           roles, template="(%s::uuid, %s::uuid, %s)", page_size=1000)
        return room_id
    finally:
        conn.close()


def rss_bytes(pid: int) -> int:
    """The resident memory of a process now (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise VezaError(f"no VmRSS for process {pid}", code="benchmark_failed")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_s(pid: int) -> float:
    """Seconds a process has spent runnable but waiting for a CPU (its main thread's)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0
