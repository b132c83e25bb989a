"""A chat load client process: open WebSockets, join rooms, send on a schedule, time deliveries.

Run as ``python -m benchmarks.chatload SPEC.json``. The process opens every connection of the
spec (each with its own access token), reads the welcome, joins its rooms or opens its direct
room, prints ``ready`` and waits for a line on stdin. On ``go`` it sends for ``duration_s`` on
an open-loop schedule (message *i* is due at ``start + i / rate`` and its latency runs from that
moment, so a gateway that falls behind shows in the latencies) while every connection counts
the messages it receives; after ``drain_s`` (or once nothing arrived for a second) it prints one
JSON line of results. On ``stop`` it prints its results at once (held idle connections). Then
it drops its connections, a hundred every 50 ms, and exits.

Spec: ``{"conns": [{"url", "token", "join": [room ids], "dm": user id | null}],
"sends": [conn index, ...], "rate", "duration_s", "drain_s", "concurrency", "proc", "run"}``;
a sending connection sends to its direct room if it opened one, else to its first joined room;
client ids start with ``run``.
Message bodies are ``b <due time> p<proc>c<index>``; times are ``time.monotonic()``, one clock
for every process on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sys
import time
from collections import Counter
from typing import Any

import uvloop
from websockets.asyncio.client import ClientConnection, connect

_BODY = re.compile(rb'"body":\s*"b ([0-9.]+) (p[0-9]+c[0-9]+)"')
# Latencies are kept as a histogram of 0.05 ms buckets: processes merge them by adding.
BUCKET_S = 0.00005
CLOSE_BATCH, CLOSE_PAUSE_S = 100, 0.05


class Conn:
    """One client connection and what it received."""

    def __init__(self, proc: int, index: int, ws: ClientConnection, room_id: str | None) -> None:
        self.index, self.ws, self.room_id = index, ws, room_id
        self.tag = f"p{proc}c{index}".encode()


class Load:
    """The connections of this process, their counters and the latency histogram."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.conns: list[Conn] = []
        self.failed: Counter[str] = Counter()
        self.deliveries = 0
        self.hist: Counter[int] = Counter()
        # Due time of each message sent and not yet acknowledged, and the wait for the ack
        # (the journal's confirm, mostly).
        self.due: dict[str, float] = {}
        self.ack_hist: Counter[int] = Counter()
        self.acked = 0
        self.errors: Counter[str] = Counter()
        self.last_recv = 0.0
        self.sent = 0

    async def open_all(self) -> None:
        gate = asyncio.Semaphore(int(self.spec.get("concurrency", 100)))

        async def one(i: int, conn: dict[str, Any]) -> None:
            async with gate:
                try:
                    self.conns.append(await _open(int(self.spec.get("proc", 0)), i, conn))
                except Exception as exc:  # counted and reported: one refusal is a result
                    self.failed[type(exc).__name__ + ": " + str(exc)[:120]] += 1

        await asyncio.gather(*(one(i, c) for i, c in enumerate(self.spec["conns"])))
        self.conns.sort(key=lambda c: c.index)

    async def read(self, conn: Conn) -> None:
        """Count and time every message frame this connection receives until it closes."""
        try:
            while True:
                data = await conn.ws.recv(decode=False)
                now = time.monotonic()
                match = _BODY.search(data)
                if match is not None:
                    self.deliveries += 1
                    self.last_recv = now
                    if match.group(2) != conn.tag:  # a sender's own copy is not a delivery wait
                        self.hist[int((now - float(match.group(1))) / BUCKET_S)] += 1
                elif b'"ack"' in data or b'"error"' in data:
                    frame = json.loads(data)
                    if frame.get("type") == "ack":
                        self.acked += 1
                        due = self.due.pop(frame.get("cid"), None)
                        if due is not None:
                            self.ack_hist[int((now - due) / BUCKET_S)] += 1
                    elif frame.get("type") == "error":
                        self.errors[str(frame.get("code"))] += 1
        except Exception:  # closed: the run ends with whatever arrived
            return

    async def send(self, start: float) -> None:
        """Send ``rate`` messages a second for ``duration_s`` from the sending connections."""
        senders = [self.conns[i] for i in self.spec.get("sends", []) if i < len(self.conns)]
        rate, duration = float(self.spec.get("rate", 0)), float(self.spec.get("duration_s", 0))
        if not senders or rate <= 0:
            return
        total = int(rate * duration)
        # A client id is the message's identity to the gateway: a run must not reuse another's.
        run = self.spec.get("run", "")
        i = 0
        while i < total:
            now = time.monotonic()
            while i < total and start + i / rate <= now:
                conn = senders[i % len(senders)]
                due = start + i / rate
                frame = {"type": "message.send", "cid": f"{run}{conn.tag.decode()}-{i}",
                         "room_id": conn.room_id, "body": f"b {due:.6f} {conn.tag.decode()}"}
                self.due[frame["cid"]] = due
                try:
                    await conn.ws.send(json.dumps(frame))
                    self.sent += 1
                except Exception:
                    self.errors["send_failed"] += 1
                i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))

    def result(self, start: float) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"connected": len(self.conns), "failed": dict(self.failed), "sent": self.sent,
                "acked": self.acked, "errors": dict(self.errors), "deliveries": self.deliveries,
                "start": start, "last_recv": self.last_recv,
                "hist": {str(k): v for k, v in self.hist.items()},
                "ack_hist": {str(k): v for k, v in self.ack_hist.items()},
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}


async def _open(proc: int, index: int, conn: dict[str, Any]) -> Conn:
    ws = await connect(conn["url"], additional_headers={"Authorization": f"Bearer {conn['token']}"},
                       compression=None, ping_interval=None, open_timeout=60, close_timeout=1,
                       max_queue=None)
    # The welcome should come first, but a room's broadcasts may overtake it: skip them.
    deadline = time.monotonic() + 30
    while json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                     ).get("type") != "welcome":
        pass
    room_id = None
    if conn.get("dm"):
        ack = await _ask(ws, {"type": "dm.open", "cid": "dm", "user_id": conn["dm"]})
        room_id = ack["room"]["id"]
    for i, room in enumerate(conn.get("join") or ()):
        await _ask(ws, {"type": "room.join", "cid": f"join{i}", "room_id": room})
        room_id = room_id or room
    return Conn(proc, index, ws, room_id)


async def _ask(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame and return its ack, skipping the broadcasts that arrive meanwhile."""
    await ws.send(json.dumps(frame))
    deadline = time.monotonic() + 30
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if answer.get("cid") == frame["cid"]:
            if answer.get("type") != "ack":
                raise RuntimeError(f"{frame['type']} refused: {answer}")
            return dict(answer)


async def _line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    load = Load(spec)
    await load.open_all()
    readers = [asyncio.ensure_future(load.read(c)) for c in load.conns]
    print("ready", json.dumps({"connected": len(load.conns), "failed": dict(load.failed)}),
          flush=True)
    command = await _line()
    start = time.monotonic()
    if command == "go":
        await load.send(start)
        # Wait for deliveries in flight: until the drain time is up or a quiet second.
        end = start + float(spec.get("duration_s", 0))
        while time.monotonic() < end:
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + float(spec.get("drain_s", 5))
        while time.monotonic() < deadline and time.monotonic() - max(load.last_recv, end) < 1:
            await asyncio.sleep(0.05)
    result = load.result(start)
    for task in readers:
        task.cancel()
    # Drop the connections a few at a time: each costs the gateway a presence update, and ten
    # thousand at once would be a storm on Redis rather than a measurement.
    for i in range(0, len(load.conns), CLOSE_BATCH):
        for conn in load.conns[i:i + CLOSE_BATCH]:
            conn.ws.transport.abort()
        await asyncio.sleep(CLOSE_PAUSE_S)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.chatload SPEC.json", file=sys.stderr)
        return 2
    with open(args[0]) as f:
        spec = json.load(f)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = uvloop.run(main_async(spec))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    # Skip the interpreter's teardown of thousands of closed connection objects.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
