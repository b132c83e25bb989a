"""Chat as real processes: gateways, the archiver, the API and HAProxy in front of them (running
compose/haproxy.cfg itself), on one test's database, vhost and Redis prefix; and a WebSocket
client speaking the chat protocol."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import Proc, start, stop, wait_http
from tests.plugins.s3 import free_port

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "compose" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


@contextmanager
def own_vhost() -> Iterator[str]:
    """A RabbitMQ vhost of one test's own, so its journal is nobody else's."""
    from tests.conftest import RABBIT

    vhost = f"veza-chat-{uuid.uuid4().hex[:10]}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*",
                                        ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                       timeout=60)
    try:
        yield f"{RABBIT}/{urllib.parse.quote(vhost, safe='')}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False,
                       capture_output=True, timeout=60)


def wait_until(check: Callable[[], Any], what: str, timeout: float,
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


@dataclass
class ChatCluster:
    """The chat processes of one test, sharing one set of VEZA_* variables."""

    env: dict[str, str]
    workdir: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_test(cls, *, database_url: str, broker_url: str, redis_url: str, key_prefix: str,
                 workdir: Path) -> ChatCluster:
        env = {"VEZA_DATABASE_URL": database_url, "VEZA_BROKER_URL": broker_url,
               "VEZA_REDIS_URL": redis_url, "VEZA_QUEUE_PREFIX": key_prefix,
               # One data directory: the API and the gateways share the signing key in it.
               "VEZA_DATA_DIR": str(workdir / "data"), "VEZA_CHAT_HOST": "127.0.0.1"}
        return cls(env, workdir)

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> Proc:
        proc = start(list(args), {**self.env, **(extra or {})}, self.workdir / f"{name}.log")
        self.procs[name] = proc
        return proc

    def gateway(self, name: str, port: int | None = None) -> Proc:
        """Start `veza serve chat` and wait until its /healthz answers."""
        self.ports[name] = port = port or self.ports.get(name) or free_port()
        proc = self.start(name, "serve", "chat", extra={"VEZA_CHAT_PORT": str(port)})
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        return proc

    def archiver(self, name: str = "archiver") -> Proc:
        return self.start(name, "serve", "chat-archiver")

    def api(self) -> Proc:
        self.ports["api"] = port = free_port()
        proc = self.start("api", "serve", "api", "--workers", "1",
                          extra={"VEZA_API_PORT": str(port)})
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        return proc

    def haproxy_env(self) -> dict[str, str]:
        """The variables compose/haproxy.cfg reads, pointing at this cluster on loopback."""
        self.ports.setdefault("front", free_port())
        return {"PATH": "/usr/bin:/bin:/usr/sbin", "VEZA_FRONT_BIND":
                f"127.0.0.1:{self.ports['front']}",
                "VEZA_API_ADDR": f"127.0.0.1:{self.ports['api']}",
                "VEZA_CHAT1_ADDR": f"127.0.0.1:{self.ports['chat1']}",
                "VEZA_CHAT2_ADDR": f"127.0.0.1:{self.ports['chat2']}"}

    def haproxy(self) -> Proc:
        """Run HAProxy in the foreground on compose/haproxy.cfg; return once it forwards."""
        log = self.workdir / "haproxy.log"
        out = open(log, "w")  # noqa: SIM115 - owned by the process for its lifetime
        process = subprocess.Popen([HAPROXY, "-db", "-f", str(HAPROXY_CFG)],
                                   env=self.haproxy_env(), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True)
        proc = self.procs["haproxy"] = Proc(process, log)
        wait_http(f"{self.front}/healthz", proc, timeout=30)
        return proc

    @property
    def front(self) -> str:
        return f"http://127.0.0.1:{self.ports['front']}"

    def ws_url(self, name: str) -> str:
        """The /ws address of a gateway, or of the front door (``front``)."""
        return f"ws://127.0.0.1:{self.ports[name]}/ws"

    def kill_9(self, name: str) -> None:
        """End a process as a crash would: no signal handler, no cleanup."""
        proc = self.procs[name]
        os.kill(proc.process.pid, signal.SIGKILL)
        proc.process.wait(timeout=10)

    def close(self) -> None:
        for proc in reversed(list(self.procs.values())):
            stop(proc, timeout=20)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.output()[-3000:]}" for name, p in self.procs.items())


class ChatClient:
    """One WebSocket connection speaking the chat protocol; unasked-for frames are kept."""

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws, self.welcome = ws, welcome
        self.inbox: list[dict[str, Any]] = []
        # Which gateway HAProxy chose (none when connected to a gateway directly).
        self.gateway = ws.response.headers.get("X-Veza-Gateway") if ws.response else None

    @classmethod
    async def connect(cls, url: str, token: str, *, in_query: bool = False) -> ChatClient:
        """Connect with the token in the Authorization header, or in ``?token=`` as browsers do."""
        if in_query:
            ws = await connect(f"{url}?token={token}", open_timeout=10)
        else:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                               open_timeout=10)
        client = cls(ws, {})
        client.welcome = await client.expect(lambda f: f["type"] == "welcome")
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def ask(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send a frame with a cid and return the server's answer to it (ack or error)."""
        frame = {"cid": uuid.uuid4().hex, **frame}
        await self.send(frame)
        return await self.expect(lambda f: f.get("cid") == frame["cid"]
                                 and f["type"] in ("ack", "error"), timeout)

    async def expect(self, match: Callable[[dict[str, Any]], bool],
                     timeout: float = 10) -> dict[str, Any]:
        """Return (and remove) the first frame received that matches."""
        for i, frame in enumerate(self.inbox):
            if match(frame):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout} s; got {self.inbox}")
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if match(frame):
                return dict(frame)
            self.inbox.append(frame)

    async def close(self) -> None:
        await self.ws.close()
