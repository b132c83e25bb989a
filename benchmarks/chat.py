"""`veza bench chat`: the chat gateway under load, per gateway process, against the targets.

On a private database, RabbitMQ vhost and Redis key prefix, starts two gateways
(`veza serve chat`, the per-user message limit off: VEZA_CHAT_RATE_LIMIT=0) and the archiver,
creates accounts in the database with tokens minted by ``veza.accounts``, then measures with
``benchmarks.chatload`` client processes (several, so that no client process is the limit):

* idle: connections held open on one gateway, and its resident memory per connection
  (VmRSS before and after);
* room: one room of members on one gateway, a sender at a fixed rate (open loop), persistence
  on (every message journaled on RabbitMQ and stored by the archiver): deliveries per second
  and the latency from a message's due time to its arrival at each member (p50, p99); once at
  the target rate and once at twice that, for the deliveries the gateway sustains (a phase's
  deliveries count towards that target only if its p99 met the room's latency target), and
  the gateway's CPU time per 1,000 deliveries (steadier than latency on a busy machine);
* dm: pairs of users, one on each gateway, sending direct messages to each other at a fixed
  total rate: latency at the recipient, across processes through Redis.

The clients run on the same machine and take CPU from the gateway: their CPU time is reported
beside the gateway's and the machine's.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.chatload import BUCKET_S
from benchmarks.chatstack import (
    ChatStack,
    User,
    chat_stack,
    cpu_seconds,
    make_room,
    make_users,
    raise_file_limit,
    rss_bytes,
    runqueue_wait_s,
)
from benchmarks.harness import Target, bench_env
from veza.errors import VezaError

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    idle_conns: int
    members: int
    room_rate: float  # messages a second into the room
    dm_pairs: int
    dm_rate: float  # direct messages a second, all pairs together
    seconds: float
    client_procs: int = 2
    room_senders: int = 5  # per client process


FULL = Sizes(idle_conns=10_000, members=1000, room_rate=40.0, dm_pairs=100, dm_rate=1000.0,
             seconds=10.0)
QUICK = Sizes(idle_conns=2000, members=300, room_rate=40.0, dm_pairs=50, dm_rate=500.0,
              seconds=3.0)
IDLE_TARGET, KIB_PER_CONN = 10_000, 20.0
DELIVERIES_TARGET, ROOM_P99_MS, DM_P99_MS = 40_000.0, 100.0, 50.0


# ---------------------------------------------------------------- client processes


class Clients:
    """Load client processes, started together, each reporting ``ready`` and then its result."""

    def __init__(self, specs: list[dict[str, Any]], workdir: Path, name: str) -> None:
        run = uuid.uuid4().hex[:8]
        self.procs: list[subprocess.Popen[str]] = []
        self.lines: list[queue.Queue[str]] = []
        for i, spec in enumerate(specs):
            path = workdir / f"{name}-{i}.json"
            path.write_text(json.dumps({**spec, "proc": i, "run": run}))
            err = open(workdir / f"{name}-{i}.log", "w")  # noqa: SIM115 - the child holds it
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.chatload", str(path)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                    text=True, cwd=ROOT, env=bench_env(), process_group=0)
            err.close()
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
            self.procs.append(proc)
            self.lines.append(lines)
        self.workdir, self.name = workdir, name

    def ready(self, timeout: float) -> list[dict[str, Any]]:
        """Wait until every process has opened its connections; return what each opened."""
        return [json.loads(self._line(i, timeout).removeprefix("ready "))
                for i in range(len(self.procs))]

    def tell(self, command: str) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()

    def results(self, timeout: float) -> list[dict[str, Any]]:
        for i, proc in enumerate(self.procs):
            if self._line(i, timeout) != "done":
                raise VezaError(f"load client {self.name}-{i} did not finish",
                                code="benchmark_failed")
            proc.wait(timeout=30)
        return [json.loads((self.workdir / f"{self.name}-{i}.json.out").read_text())
                for i in range(len(self.procs))]

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _line(self, i: int, timeout: float) -> str:
        try:
            line = self.lines[i].get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line:
            log = (self.workdir / f"{self.name}-{i}.log").read_text(errors="replace")[-2000:]
            raise VezaError(f"load client {self.name}-{i} gave no answer:\n{log}",
                            code="benchmark_failed")
        return line


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line.strip())
    lines.put("")


def _split(conns: list[dict[str, Any]], parts: int) -> list[list[dict[str, Any]]]:
    return [conns[i::parts] for i in range(parts)]


# ---------------------------------------------------------------- merging results


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the client processes' counters and latency histograms."""
    hist: Counter[int] = Counter()
    acks: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        hist.update({int(k): v for k, v in r["hist"].items()})
        acks.update({int(k): v for k, v in r["ack_hist"].items()})
        errors.update(r["errors"])
    start = min(r["start"] for r in results)
    last = max(r["last_recv"] for r in results)
    deliveries = sum(r["deliveries"] for r in results)
    return {"sent": sum(r["sent"] for r in results), "acked": sum(r["acked"] for r in results),
            "errors": dict(errors), "deliveries": deliveries,
            "deliveries_per_s": round(deliveries / (last - start), 1) if last > start else 0.0,
            "p50_ms": _percentile(hist, 50), "p99_ms": _percentile(hist, 99),
            "max_ms": _percentile(hist, 100),
            # From a message's due time to its sender's ack: the journal's confirm, mostly.
            "ack_p50_ms": _percentile(acks, 50), "ack_p99_ms": _percentile(acks, 99),
            "client_cpu_s": round(sum(r["cpu_s"] for r in results), 2)}


def _percentile(hist: Counter[int], q: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    rank, seen = q / 100 * total, 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return round((bucket + 1) * BUCKET_S * 1000, 2)
    return None


def _with_cpu(pids: list[int], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    t0, m0 = time.monotonic(), _machine_busy_s()
    c0 = [cpu_seconds(p) for p in pids]
    w0 = [runqueue_wait_s(p) for p in pids]
    out = fn()
    wall = time.monotonic() - t0
    used = [cpu_seconds(p) - c for p, c in zip(pids, c0, strict=True)]
    out["cpu"] = {"gateway_cores": [round(u / wall, 2) for u in used],
                  "gateway_cpu_s": [round(u, 2) for u in used],
                  # Time the gateway was ready to run but waited for a core (other processes
                  # had them), per second: CPU starvation by the rest of the machine.
                  "gateway_waiting_for_cpu": [round((runqueue_wait_s(p) - w) / wall, 2)
                                              for p, w in zip(pids, w0, strict=True)],
                  "machine_busy_cores": round((_machine_busy_s() - m0) / wall, 2)}
    return out


def settle(pids: list[int], *, idle_cores: float = 0.05, timeout: float = 60) -> float:
    """Wait until the gateways are idle (work of a phase done); return how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = [cpu_seconds(p) for p in pids]
        time.sleep(0.5)
        if all((cpu_seconds(p) - b) / 0.5 <= idle_cores for p, b in zip(pids, before,
                                                                         strict=True)):
            break
    return round(time.monotonic() - started, 2)


def _machine_busy_s() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- phases


def idle(stack: ChatStack, users: list[User], port: int, pid: int, n: int,
         procs: int) -> dict[str, Any]:
    """Hold ``n`` idle connections on one gateway; its memory per connection."""
    url = f"ws://127.0.0.1:{port}/ws"
    conns = [{"url": url, "token": users[i % len(users)].token} for i in range(n)]
    settle_s = min(2.0, 0.2 + n / 5000)
    time.sleep(settle_s)
    before = rss_bytes(pid)
    clients = Clients([{"conns": part, "concurrency": 50} for part in _split(conns, procs)],
                      stack.workdir, "idle")
    try:
        opened = clients.ready(timeout=300)
        time.sleep(settle_s)  # let the gateway settle (presence heartbeats, buffers)
        after = rss_bytes(pid)
        held = sum(o["connected"] for o in opened)
        clients.tell("stop")
        clients.results(timeout=60)
    finally:
        clients.kill()
    failed: Counter[str] = Counter()
    for o in opened:
        failed.update(o["failed"])
    return {"connections": held, "refused": dict(failed), "rss_before_mib": before / 2**20,
            "rss_after_mib": after / 2**20,
            "kib_per_connection": round((after - before) / 1024 / held, 2) if held else None}


def room(stack: ChatStack, users: list[User], port: int, pid: int, rate: float,
         seconds: float, procs: int, senders: int) -> dict[str, Any]:
    """One room of ``len(users)`` members on one gateway; ``senders`` of them in each client
    process send ``rate`` messages/s in all."""
    room_id = make_room(stack.env, users[0], users)
    url = f"ws://127.0.0.1:{port}/ws"
    conns = [{"url": url, "token": u.token, "join": [room_id]} for u in users]
    parts = _split(conns, procs)
    # Several senders: one socket's frames are handled one after the other, each write waiting
    # for the journal, so a single sender would measure the journal's latency, not the fan-out.
    specs = [{"conns": part, "concurrency": 50, "rate": rate / procs,
              "sends": list(range(min(senders, len(part)))), "duration_s": seconds,
              "drain_s": 10} for part in parts]
    out = _run(stack, specs, "room", [pid])
    cpu_s = out["cpu"]["gateway_cpu_s"][0]
    return out | {"members": len(users), "offered_rate": rate, "senders": senders * procs,
                  # The gateway's CPU time (user + system) per delivery: unlike latency, it
                  # hardly depends on what else the machine is doing.
                  "gateway_cpu_ms_per_1000_deliveries":
                      round(cpu_s * 1e6 / out["deliveries"], 2) if out["deliveries"] else None,
                  "offered_deliveries_per_s": rate * len(users),
                  # Acked messages that had not reached every member when the run ended.
                  "missing_deliveries": out["acked"] * len(users) - out["deliveries"]}


def dm(stack: ChatStack, users: list[User], ports: tuple[int, int], pids: list[int],
       rate: float, seconds: float, procs: int) -> dict[str, Any]:
    """Pairs of users on two gateways sending direct messages to each other at ``rate``/s."""
    half = len(users) // 2
    a, b = users[:half], users[half:2 * half]
    conns = ([{"url": f"ws://127.0.0.1:{ports[0]}/ws", "token": x.token, "dm": y.id}
              for x, y in zip(a, b, strict=True)]
             + [{"url": f"ws://127.0.0.1:{ports[1]}/ws", "token": y.token, "dm": x.id}
                for x, y in zip(a, b, strict=True)])
    parts = _split(conns, procs)
    specs = [{"conns": part, "concurrency": 50, "rate": rate / procs,
              "sends": list(range(len(part))), "duration_s": seconds, "drain_s": 10}
             for part in parts]
    return _run(stack, specs, "dm", pids) | {"pairs": half, "offered_rate": rate}


def _run(stack: ChatStack, specs: list[dict[str, Any]], name: str,
         pids: list[int]) -> dict[str, Any]:
    clients = Clients(specs, stack.workdir, name)
    try:
        opened = clients.ready(timeout=300)
        refused = [o["failed"] for o in opened if o["failed"]]
        if refused:
            raise VezaError(f"{name}: connections refused: {refused}", code="benchmark_failed")
        retried: Counter[str] = Counter()
        for o in opened:
            retried.update(o["retried"])

        def go() -> dict[str, Any]:
            clients.tell("go")
            return summarize(clients.results(timeout=float(specs[0]["duration_s"]) + 60))

        return _with_cpu(pids, go) | {"connects_retried": dict(retried)}
    finally:
        clients.kill()


# ---------------------------------------------------------------- the benchmark


def measure(sizes: Sizes) -> dict[str, Any]:
    """Start the processes, run every phase; return parameters, results and targets."""
    limit = raise_file_limit()
    results: dict[str, Any] = {"file_limit": limit}
    with chat_stack() as stack:
        started = time.monotonic()
        # Each phase has users of its own: a user's sockets join every room they are a member
        # of, so users from an earlier phase would receive that phase's late messages.
        need = 2 * sizes.members + 2 * sizes.dm_pairs
        users = make_users(stack.env, max(sizes.idle_conns // 10, need))
        results["accounts"] = {"users": len(users), "seconds": round(time.monotonic() - started,
                                                                     2)}
        stack.archiver()
        (gw1, port1), (gw2, port2) = stack.gateways("gateway1", "gateway2")
        pids, n = [gw1.pid, gw2.pid], sizes.client_procs
        room_a, room_b = users[:sizes.members], users[sizes.members:2 * sizes.members]
        pairs = users[2 * sizes.members:need]
        results["idle"] = idle(stack, users, port1, gw1.pid, sizes.idle_conns, n)
        results["idle"]["quiet_after_s"] = settle(pids)
        results["room"] = room(stack, room_a, port2, gw2.pid, sizes.room_rate, sizes.seconds,
                               n, sizes.room_senders)
        settle(pids)
        results["room_2x"] = room(stack, room_b, port2, gw2.pid, 2 * sizes.room_rate,
                                  sizes.seconds, n, sizes.room_senders)
        settle(pids)
        results["dm"] = dm(stack, pairs, (port1, port2), pids, sizes.dm_rate, sizes.seconds, n)
        # What went wrong inside the gateways (a socket's handler failing, say), by message.
        results["gateway_errors"] = {name: stack.errors(name) for name in ("gateway1",
                                                                            "gateway2")}
        for name, proc in (("gateway1", gw1), ("gateway2", gw2)):
            if proc.poll() is not None:
                raise VezaError(f"{name} exited during the run:\n{stack.log_tail(name)}",
                                code="benchmark_failed")
    return {"parameters": {**asdict(sizes), "chat_rate_limit": "0 (off for the benchmark)",
                           "persistence": "RabbitMQ journal + archiver to PostgreSQL",
                           "fanout": "Redis pub/sub",
                           "clients": "benchmarks.chatload on benchmarks.wsclient, uvloop",
                           "compression": "off"},
            "results": results, "targets": targets(sizes, results)}


def sustained_deliveries(phases: list[dict[str, Any]], p99_ms: float = ROOM_P99_MS
                         ) -> float | None:
    """The most deliveries a second among the room phases whose p99 held (``< p99_ms``); None
    if none did. Deliveries that arrive seconds late were not sustained, however many."""
    held = [p["deliveries_per_s"] for p in phases
            if p.get("p99_ms") is not None and p["p99_ms"] < p99_ms]
    return max(held) if held else None


def targets(sizes: Sizes, results: dict[str, Any]) -> list[Target]:
    """The targets, evaluated on the results of ``measure``."""
    return [
        Target("idle connections on one gateway", results["idle"]["connections"],
               f">= {IDLE_TARGET}", "connections"),
        Target("memory per idle connection", results["idle"]["kib_per_connection"],
               f"<= {KIB_PER_CONN:g}", "KiB"),
        Target(f"room deliveries/s with p99 < {ROOM_P99_MS:g} ms, {sizes.members} members, "
               "persisted", sustained_deliveries([results["room"], results["room_2x"]]),
               f">= {DELIVERIES_TARGET:g}", "deliveries/s"),
        Target(f"room p99 at {sizes.room_rate:g} msg/s, {sizes.members} members",
               results["room"]["p99_ms"], f"< {ROOM_P99_MS:g}", "ms"),
        Target(f"dm p99 across two gateways at {sizes.dm_rate:g} msg/s",
               results["dm"]["p99_ms"], f"< {DM_P99_MS:g}", "ms"),
    ]


def run(*, quick: bool = False) -> dict[str, Any]:
    """Run the chat benchmark at full size, or smaller and shorter with ``quick``."""
    return measure(QUICK if quick else FULL)
