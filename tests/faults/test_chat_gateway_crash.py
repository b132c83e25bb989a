"""Chat writes survive crashes: clients keep sending while a gateway and then the archiver are
killed with SIGKILL, or while RabbitMQ restarts. The clients of a dead gateway reconnect to the
other one and send again every message they have no ack for (same cid), as they do for a write
the gateway could not make durable; in the end every acknowledged message is stored once, and a
message sent twice is stored once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.chat_cluster import ChatClient, ChatCluster
from tests.e2e.conftest import wait_for
from tests.faults.servers import PrivateRabbit
from tests.helpers import PASSWORD

pytestmark = pytest.mark.faults

CLIENTS = 6  # half on each gateway
INTERVAL_S = 0.03  # between two messages of one client
WINDOW = 8  # messages a client has sent and not yet seen acknowledged, at most


def _cluster(database_url: str, broker_url: str, redis_url: str, key_prefix: str,
             tmp_path: Path) -> Iterator[ChatCluster]:
    cluster = ChatCluster.for_test(database_url=database_url, broker_url=broker_url,
                                   redis_url=redis_url, key_prefix=key_prefix, workdir=tmp_path)
    # Senders here send far above a person's rate on purpose.
    cluster.env["VEZA_CHAT_RATE_LIMIT"] = "0"
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def cluster(database_url: str, vhost_url: str, redis_url: str, key_prefix: str,
            tmp_path: Path) -> Iterator[ChatCluster]:
    yield from _cluster(database_url, vhost_url, redis_url, key_prefix, tmp_path)


@pytest.fixture
def cluster_on_own_broker(database_url: str, private_rabbit: PrivateRabbit, redis_url: str,
                          key_prefix: str, tmp_path: Path) -> Iterator[ChatCluster]:
    yield from _cluster(database_url, private_rabbit.url, redis_url, key_prefix, tmp_path)


def _accounts(env: dict[str, str], n: int) -> list[tuple[str, str]]:
    """Create ``n`` listeners with the platform's account code; return (user id, token)."""
    from veza.accounts import AccountService
    from veza.runtime import build_services
    from veza.settings import Settings

    services = build_services(Settings.from_env(env), migrate=False)
    try:
        service = AccountService(services)
        out = []
        for _ in range(n):
            handle = f"sender-{uuid.uuid4().hex[:10]}"
            tokens = service.create(handle, f"{handle}@example.org", PASSWORD, "listener")
            out.append((str(tokens.user.id), tokens.access_token))
        return out
    finally:
        services.close()


@dataclass
class Sender:
    """A client sending numbered messages to a room, resending what has no ack on reconnect."""

    user_id: str
    token: str
    urls: list[str]  # its gateway first, then where to go when that one is gone
    room_id: str
    pending: dict[str, str] = field(default_factory=dict)  # cid -> body, sent, no ack yet
    acked: dict[str, str] = field(default_factory=dict)  # cid -> message id
    resent: int = 0
    refused: int = 0
    reconnects: int = 0
    sent: int = 0
    ws: ClientConnection | None = None

    async def run(self, stop: asyncio.Event, deadline: float) -> None:
        url = 0
        while time.monotonic() < deadline:
            try:
                async with connect(self.urls[url], open_timeout=5, additional_headers={
                        "Authorization": f"Bearer {self.token}"}) as ws:
                    await self._session(ws, stop, deadline)
                    return
            except (ConnectionClosed, OSError, TimeoutError):
                # The gateway went away: go to the next one and send again what has no ack.
                self.reconnects += 1
                url = min(url + 1, len(self.urls) - 1)
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.user_id}: {len(self.pending)} messages never acknowledged")

    async def _session(self, ws: ClientConnection, stop: asyncio.Event,
                       deadline: float) -> None:
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "welcome":
            pass  # a room's broadcast may come before the welcome
        reader = asyncio.create_task(self._read(ws))
        try:
            for cid, body in list(self.pending.items()):
                self.resent += 1
                await self._send(ws, cid, body)
            self.ws = ws
            while not stop.is_set():
                if len(self.pending) < WINDOW:
                    await self.send_new()
                await asyncio.sleep(INTERVAL_S)
                if reader.done():
                    reader.result()
            while self.pending and time.monotonic() < deadline:
                if reader.done():
                    reader.result()
                await asyncio.sleep(0.05)
        finally:
            reader.cancel()

    async def send_new(self) -> None:
        """Send the next numbered message."""
        assert self.ws is not None
        cid = f"{self.user_id[:8]}-{self.sent}"
        self.sent += 1
        self.pending[cid] = f"message {cid}"
        await self._send(self.ws, cid, self.pending[cid])

    async def _send(self, ws: ClientConnection, cid: str, body: str) -> None:
        await ws.send(json.dumps({"type": "message.send", "cid": cid, "room_id": self.room_id,
                                  "body": body}))

    async def _read(self, ws: ClientConnection) -> None:
        async for data in ws:
            frame = json.loads(data)
            cid = frame.get("cid")
            if frame["type"] == "ack" and cid in self.pending:
                del self.pending[cid]
                self.acked[cid] = frame["id"]
            elif frame["type"] == "error" and cid in self.pending:
                # Not durable (the journal could not take it): send it again a moment later,
                # as a client would.
                assert frame["code"] == "unavailable", frame
                self.refused += 1
                await asyncio.sleep(0.2)
                await self._send(ws, cid, self.pending[cid])


def _stored(database_url: str, room_id: str) -> list[dict[str, Any]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id::text, author_id::text, client_id, body FROM chat_messages "
                    "WHERE room_id = %s", (room_id,))
        rows = [dict(zip(("id", "author", "cid", "body"), r, strict=True))
                for r in cur.fetchall()]
    conn.close()
    return rows


async def _room_with_senders(cluster: ChatCluster, users: list[tuple[str, str]],
                             urls: list[list[str]]) -> list[Sender]:
    """Make a room that every user has joined; return a sender per user with its gateways."""
    owner = await ChatClient.connect(urls[0][-1], users[0][1])
    created = await owner.ask({"type": "room.create", "name": "crash", "kind": "public"})
    room_id = created["room"]["id"]
    await owner.close()
    senders = [Sender(u, t, gateways, room_id) for (u, t), gateways in zip(users, urls,
                                                                          strict=True)]
    for s in senders[1:]:  # members before the flow starts, so nobody's first send fails
        member = await ChatClient.connect(urls[0][-1], s.token)
        joined = await member.ask({"type": "room.join", "room_id": room_id})
        assert joined["type"] == "ack", joined
        await member.close()
    return senders


def _assert_each_acknowledged_message_stored_once(cluster: ChatCluster, database_url: str,
                                                  senders: list[Sender]) -> None:
    acked = {(s.user_id, cid) for s in senders for cid in s.acked}
    assert acked and all(not s.pending for s in senders)

    def all_stored() -> list[dict[str, Any]] | None:
        rows = _stored(database_url, senders[0].room_id)
        return rows if {(r["author"], r["cid"]) for r in rows} >= acked else None

    rows = wait_for(all_stored, "every acknowledged message stored", 30,
                    tuple(cluster.procs.values()))
    stored = [(r["author"], r["cid"]) for r in rows]
    # Once each: a cid sent twice (a resend after the crash) collapsed into one message.
    assert len(stored) == len(set(stored)) == len(acked)
    assert set(stored) == acked
    assert all(r["body"] == f"message {r['cid']}" for r in rows)


def test_acknowledged_messages_survive_a_gateway_and_an_archiver_killed_mid_flow(
    cluster: ChatCluster, database_url: str,
) -> None:
    cluster.archiver()
    cluster.gateway("chat1")
    cluster.gateway("chat2")
    users = _accounts(cluster.env, CLIENTS)
    one, two = cluster.ws_url("chat1"), cluster.ws_url("chat2")

    async def scenario() -> list[Sender]:
        senders = await _room_with_senders(
            cluster, users, [[one, two] if i % 2 == 0 else [two] for i in range(CLIENTS)])
        stop = asyncio.Event()
        deadline = time.monotonic() + 40
        tasks = [asyncio.create_task(s.run(stop, deadline)) for s in senders]
        await asyncio.sleep(2)
        # Messages surely in flight at the crash: sent, and the journal cannot have confirmed
        # them within the microseconds before the kill.
        for s in senders[::2]:
            for _ in range(3):
                await s.send_new()
        cluster.kill_9("chat1")
        await asyncio.sleep(2)
        await asyncio.to_thread(cluster.kill_9, "archiver")
        await asyncio.sleep(1)
        await asyncio.to_thread(cluster.archiver, "archiver-again")
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks)
        return senders

    senders = asyncio.run(scenario())
    moved = [s for s in senders if len(s.urls) == 2]
    assert all(s.reconnects >= 1 for s in moved), [s.reconnects for s in senders]
    assert sum(len(s.acked) for s in moved) > 0
    _assert_each_acknowledged_message_stored_once(cluster, database_url, senders)
    assert sum(s.resent for s in moved) > 0  # the crash left some without an ack


def test_acknowledged_messages_survive_a_broker_restart(
    cluster_on_own_broker: ChatCluster, private_rabbit: PrivateRabbit, database_url: str,
) -> None:
    cluster = cluster_on_own_broker
    archiver = cluster.archiver()
    cluster.gateway("chat1")
    cluster.gateway("chat2")
    users = _accounts(cluster.env, 4)
    one, two = cluster.ws_url("chat1"), cluster.ws_url("chat2")

    async def scenario() -> list[Sender]:
        senders = await _room_with_senders(
            cluster, users, [[one] if i % 2 == 0 else [two] for i in range(len(users))])
        stop = asyncio.Event()
        deadline = time.monotonic() + 60
        tasks = [asyncio.create_task(s.run(stop, deadline)) for s in senders]
        await asyncio.sleep(2)
        await asyncio.to_thread(private_rabbit.stop_app)
        await asyncio.sleep(3)
        await asyncio.to_thread(private_rabbit.start_app)
        await asyncio.sleep(4)
        stop.set()
        await asyncio.gather(*tasks)
        return senders

    senders = asyncio.run(scenario())
    # Writes met the outage: refused as not durable (never acknowledged), then sent again.
    assert sum(s.refused for s in senders) > 0, [s.refused for s in senders]
    assert all(s.reconnects == 0 for s in senders)  # the gateways rode it out
    _assert_each_acknowledged_message_stored_once(cluster, database_url, senders)
    assert archiver.process.poll() is None, "the archiver should ride out the restart"
