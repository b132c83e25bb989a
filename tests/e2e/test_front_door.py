"""The front door: HAProxy running compose/haproxy.cfg on loopback, in front of one API process and
two chat gateways sharing PostgreSQL, Redis and RabbitMQ (and the archiver). Accounts are made
through /api, chat goes through /ws; clients on different gateways talk in a room and in a direct
room; a gateway killed is taken out by the health check and its client reconnects to the other."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import rabbit_vhost
from tests.e2e.chat_cluster import HAPROXY, HAPROXY_CFG, ChatClient, ChatCluster
from tests.e2e.conftest import wait_for
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(database_url: str, redis_url: str, key_prefix: str,
            tmp_path: Path) -> Iterator[ChatCluster]:
    with rabbit_vhost("veza-chat") as broker_url:
        cluster = ChatCluster.for_test(database_url=database_url, broker_url=broker_url,
                                       redis_url=redis_url, key_prefix=key_prefix,
                                       workdir=tmp_path)
        try:
            yield cluster
        finally:
            cluster.close()


def _account(front: str, handle: str) -> dict[str, Any]:
    """Register through the front door, then log in as a user would; return the login."""
    body = {"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD,
            "role": "listener"}
    registered = requests.post(f"{front}/api/v1/auth/register", json=body, timeout=30)
    assert registered.status_code == 201, registered.text
    login = requests.post(f"{front}/api/v1/auth/login",
                          json={"login": handle, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    return dict(login.json())


async def _say(sender: ChatClient, to: ChatClient, room_id: str, body: str) -> dict[str, Any]:
    """Send a message and return it as the other client received it."""
    ack = await sender.ask({"type": "message.send", "room_id": room_id, "body": body})
    assert ack["type"] == "ack", ack
    got = await to.expect(lambda f: f["type"] == "message" and f["body"] == body)
    assert got["id"] == ack["id"] and got["room_id"] == room_id
    return got


def test_haproxy_routes_api_and_websockets_across_two_gateways_and_fails_over(
    cluster: ChatCluster,
) -> None:
    cluster.api()
    cluster.archiver()
    cluster.gateway("chat1")
    cluster.gateway("chat2")
    check = subprocess.run([HAPROXY, "-c", "-f", str(HAPROXY_CFG)], env=cluster.haproxy_env(),
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    haproxy = cluster.haproxy()
    front = cluster.front

    # HTTP that is not /ws goes to the API: its health, its docs, its accounts.
    assert requests.get(f"{front}/api/docs/openapi.json", timeout=10).status_code == 200
    # But not /metrics, however it is spelt; the API itself serves it on the inside.
    for spelling in ("/metrics", "/%6Detrics", "//metrics", "/metrics/", "/metrics?x=1"):
        # http.client sends the path as written (requests would decode %6D).
        connection = http.client.HTTPConnection(urlsplit(front).netloc, timeout=10)
        connection.request("GET", spelling)
        refused = connection.getresponse()
        assert refused.status == 404, spelling
        assert refused.getheader("Content-Type") == "application/problem+json"
        assert json.loads(refused.read())["code"] == "not_found"
        connection.close()
    inside = requests.get(f"http://127.0.0.1:{cluster.ports['api']}/metrics", timeout=10)
    assert inside.status_code == 200 and "veza_http_requests_total" in inside.text
    tag = uuid.uuid4().hex[:8]
    alice, bob = _account(front, f"alice-{tag}"), _account(front, f"bob-{tag}")
    # Without a token the gateway answers 401 through the proxy, and no WebSocket opens.
    refused = requests.get(f"{front}/ws", timeout=10)
    assert refused.status_code == 401 and refused.json()["status"] == 401

    async def scenario() -> str:
        a = await ChatClient.connect(cluster.ws_url("front"), alice["access_token"],
                                     in_query=True)
        b = await ChatClient.connect(cluster.ws_url("front"), bob["access_token"])
        assert a.welcome["user"]["id"] == alice["user"]["id"]
        assert b.welcome["user"]["handle"] == f"bob-{tag}"
        # leastconn: the second connection went to the gateway that had none.
        assert {a.gateway, b.gateway} == {"chat1", "chat2"}

        created = await a.ask({"type": "room.create", "name": "front door", "kind": "public"})
        room_id = created["room"]["id"]
        joined = await b.ask({"type": "room.join", "room_id": room_id})
        assert joined["type"] == "ack", joined
        await _say(a, b, room_id, "hello from one gateway")
        await _say(b, a, room_id, "and back from the other")

        dm_a = await a.ask({"type": "dm.open", "user_id": bob["user"]["id"]})
        dm_b = await b.ask({"type": "dm.open", "user_id": alice["user"]["id"]})
        assert dm_a["room"]["id"] == dm_b["room"]["id"]
        await _say(a, b, dm_a["room"]["id"], "a direct word")
        await _say(b, a, dm_a["room"]["id"], "a direct answer")

        # The archiver stores what the gateways journaled: history, newest first.
        async def stored() -> list[str]:
            page = await b.ask({"type": "history", "room_id": room_id})
            return [m["body"] for m in page["messages"]]

        for _ in range(100):
            if await stored() == ["and back from the other", "hello from one gateway"]:
                break
            await asyncio.sleep(0.2)
        assert await stored() == ["and back from the other", "hello from one gateway"]

        # A gateway dies: HAProxy's checks take it out, and its client lands on the other.
        lost, kept = (a, b) if a.gateway == "chat1" else (b, a)
        survivor = kept.gateway
        cluster.kill_9(str(lost.gateway))
        await asyncio.to_thread(
            wait_for, lambda: f"Server chat/{lost.gateway} is DOWN" in haproxy.output(),
            "HAProxy marks the killed gateway down", 15, (haproxy,))
        token = alice["access_token"] if lost is a else bob["access_token"]
        again = await ChatClient.connect(cluster.ws_url("front"), token)
        assert again.gateway == survivor
        assert room_id in again.welcome["rooms"]
        await _say(again, kept, room_id, "still here")
        await _say(kept, again, dm_a["room"]["id"], "welcome back")
        for client in (kept, again):
            await client.close()
        return str(survivor)

    survivor = asyncio.run(scenario())
    for name in ("api", survivor, "archiver"):
        output = cluster.procs[name].output()
        assert "Traceback" not in output, output[-3000:]
