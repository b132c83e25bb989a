"""One long track encoded in parts by N worker processes (`veza bench parallel`).

Real `veza serve worker` processes on a private RabbitMQ vhost, a private PostgreSQL database
and a local-directory store ingest one generated track (60 minutes; 8 with --quick). The time
measured is the job's, from the first worker taking it to the track turning ready
(``jobs.started_at`` to ``tracks.ready_at``), with the workers already started and warmed up.

A single-pass worker already encodes its rungs on concurrent threads (~1.8 of these 2 cores), so
N processes only show their scaling when each process has a core of its own: the speed-up is
one worker pinned to one core against two workers each pinned to its own core, both on the
chunked path (target >= 0.8 N = 1.6). The single pass and unpinned runs are reported beside it.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import Target, bench_artist, bench_env, machine_info
from benchmarks.inputs import music_wav
from benchmarks.servers import private_database, private_vhost
from benchmarks.session import Session, app_transport

READY_LINE = "worker running with"


@dataclass(frozen=True)
class Sizes:
    input_s: float  # the track's length
    chunk_s: float
    parallel_min_s: float  # tracks at least this long are chunked (VEZA_PARALLEL_MIN_S)
    pair_runs: int  # runs of the pinned pair the target is about


FULL = Sizes(input_s=3600.0, chunk_s=120.0, parallel_min_s=120.0, pair_runs=2)
QUICK = Sizes(input_s=480.0, chunk_s=60.0, parallel_min_s=120.0, pair_runs=1)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Pool:
    """The running workers: what each has spent on the CPU so far."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    def cpu_s(self) -> float:
        return sum(_cpu_s(pid) for pid in self.pids)


@contextmanager
def _workers(env: dict[str, str], cores: Sequence[int | None], logs: Path) -> Iterator[_Pool]:
    """Run one `veza serve worker` per entry of ``cores`` (pinned to that core, or not when
    None); yield once every one has warmed up and consumes; stop them after."""
    veza = shutil.which("veza", path=str(Path(sys.executable).parent)) or "veza"
    procs = []
    try:
        for i, core in enumerate(cores):
            cmd = [veza, "serve", "worker", "--threads", "1"]
            if core is not None:
                cmd = ["taskset", "-c", str(core), *cmd]
            log = logs / f"worker-{i}.log"
            with open(log, "wb") as out:
                # A session of its own, as a service manager would start it: with the kernel's
                # autogroup scheduling, processes of one session share one CPU share, and
                # two workers in ours would get no more CPU than one on a busy machine.
                procs.append((subprocess.Popen(cmd, env=env, stdout=out, stderr=out,
                                               stdin=subprocess.DEVNULL,
                                               start_new_session=True), log))
        deadline = time.monotonic() + 300
        for proc, log in procs:
            while READY_LINE not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        pool = _Pool()
        pool.pids = [proc.pid for proc, _ in procs]  # taskset execs the worker: same pid
        yield pool
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _ingest(services: Any, artist: tuple[Any, Session], wav: Path,
            timeout_s: float) -> dict[str, Any]:
    """Upload ``wav``, wait for the running workers to make it ready; return the job's figures."""
    from storage.repositories import unit_of_work
    from veza.uploads import accept

    owner, session = artist
    accepted = accept(services, wav, owner_id=owner, filename=wav.name)
    deadline = time.monotonic() + timeout_s
    while True:
        with unit_of_work(services.db) as uow:
            uow.cur.execute(
                """
                SELECT t.status, t.error_message, j.part_count, j.attempts,
                       extract(epoch FROM t.ready_at - j.started_at) AS ready_s,
                       (SELECT sum(p.attempts) FROM job_parts p WHERE p.job_id = j.id) AS tries
                FROM tracks t JOIN jobs j ON j.track_id = t.id WHERE t.id = %s
                """,
                (accepted.track.id,),
            )
            row = uow.cur.fetchone()
        if row["status"] in ("ready", "failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark track still {row['status']} after {timeout_s:.0f} s")
        time.sleep(0.5)
    # Deleted as its owner would, through the API: keeps the disk from filling with copies.
    # The owner's session outlives its access token: the 60-minute track takes longer.
    deleted = session.request("DELETE", f"/api/v1/tracks/{accepted.track.id}")
    if deleted.status != 204:
        raise RuntimeError(f"deleting the benchmark track answered {deleted.status}: "
                           f"{deleted.body[:300]!r}")
    if row["status"] != "ready":
        raise RuntimeError(f"benchmark track failed: {row['error_message']}")
    return {"ready_s": float(row["ready_s"]), "parts": row["part_count"] or 0,
            "part_attempts": int(row["tries"] or 0)}


def run(*, quick: bool = False) -> dict[str, Any]:
    """Time the single pass and the chunked path, pinned and unpinned, on real workers."""
    from api import create_app
    from storage.db import Database
    from veza.runtime import Services, build_store
    from veza.settings import Settings

    sizes = QUICK if quick else FULL
    load_before = round(os.getloadavg()[0], 2)
    duration, chunk_s, pair_runs = sizes.input_s, sizes.chunk_s, sizes.pair_runs
    wav = music_wav(duration)
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        raise RuntimeError("this benchmark needs two usable cores")
    # name: (chunked, cores of the workers, runs)
    configs: dict[str, tuple[bool, list[int | None], int]] = {
        "single_pass_1_pinned": (False, [cores[0]], 1),
        "chunked_1_pinned": (True, [cores[0]], pair_runs),
        "chunked_2_pinned": (True, [cores[0], cores[1]], pair_runs),
        "single_pass_1_unpinned": (False, [None], 1),
        "chunked_2_unpinned": (True, [None, None], 1),
    }
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    with private_database() as dsn, private_vhost() as broker, \
            tempfile.TemporaryDirectory(prefix="vzb-par-", dir="/tmp") as tmp:
        data = Path(tmp) / "data"
        # From the environment, as the workers' settings are: VEZA_ACCESS_TOKEN_TTL included.
        base = Settings.from_env(bench_env() | {
            "VEZA_DATABASE_URL": dsn, "VEZA_BROKER_URL": broker, "VEZA_DATA_DIR": str(data),
            "VEZA_PUBLIC_URL": "http://127.0.0.1:1", "VEZA_CHUNK_SECONDS": f"{chunk_s:g}",
            "VEZA_PARALLEL_MIN_S": f"{sizes.parallel_min_s:g}"}).with_signing_key()
        services = Services(settings=base, db=Database(dsn), store=build_store(base))
        services.store.ensure_bucket()
        try:
            # One session of the artist for the whole run, as a user keeps one.
            owner, tokens = bench_artist(services)
            artist = (owner, Session(tokens, app_transport(
                create_app(base, services).test_client())))
            rounds = max(r for _, _, r in configs.values())
            for round_ in range(rounds):
                for name, (chunked, worker_cores, runs) in configs.items():
                    if round_ >= runs:
                        continue
                    env = bench_env() | {
                        "VEZA_DATABASE_URL": dsn, "VEZA_BROKER_URL": broker,
                        "VEZA_DATA_DIR": str(data), "VEZA_SIGNING_KEY": base.signing_key or "",
                        "VEZA_CHUNK_SECONDS": f"{chunk_s:g}",
                        # The single pass: a threshold the track never reaches.
                        "VEZA_PARALLEL_MIN_S": f"{base.parallel_min_s if chunked else 1e9:g}",
                    }
                    logs = Path(tmp) / f"{name}-{round_}"
                    logs.mkdir()
                    with _workers(env, worker_cores, logs) as pool:
                        cpu0 = pool.cpu_s()
                        sample = _ingest(services, artist, wav, timeout_s=6 * duration)
                        sample["worker_cpu_s"] = pool.cpu_s() - cpu0
                    # How much of its cores the pool had: below 1 when the machine was shared
                    # (one unpinned single-pass worker may use both cores).
                    usable = len(cores) if worker_cores == [None] else len(worker_cores)
                    sample["core_share"] = sample["worker_cpu_s"] / (sample["ready_s"] * usable)
                    samples[name].append(sample)
                    print(f"  {name} run {round_ + 1}: {samples[name][-1]}", file=sys.stderr)
            refreshes = artist[1].refreshes
        finally:
            services.close()

    t = {name: statistics.median(s["ready_s"] for s in runs) for name, runs in samples.items()}
    speedup = t["chunked_1_pinned"] / t["chunked_2_pinned"]
    results = {
        "ready_s_median": {name: round(v, 2) for name, v in t.items()},
        "ready_s_runs": {name: [round(s["ready_s"], 2) for s in runs]
                         for name, runs in samples.items()},
        "worker_cpu_s_median": {name: round(statistics.median(s["worker_cpu_s"] for s in runs), 1)
                                for name, runs in samples.items()},
        # The share of their cores the workers had (CPU s / wall s / cores): on a quiet
        # machine ~1 pinned, lower while other processes ran on the same cores.
        "core_share_median": {name: round(statistics.median(s["core_share"] for s in runs), 2)
                              for name, runs in samples.items()},
        "parts": samples["chunked_2_pinned"][0]["parts"],
        "part_attempts": samples["chunked_2_pinned"][0]["part_attempts"],
        "speedup_2_pinned_vs_1_pinned": round(speedup, 3),
        "chunked_1_pinned_vs_single_pass_1_pinned": round(
            t["chunked_1_pinned"] / t["single_pass_1_pinned"], 3),
        "single_pass_1_pinned_vs_chunked_2_pinned": round(
            t["single_pass_1_pinned"] / t["chunked_2_pinned"], 3),
        "single_pass_unpinned_vs_chunked_2_unpinned": round(
            t["single_pass_1_unpinned"] / t["chunked_2_unpinned"], 3),
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": machine_info()["load_avg_1m"],
        # How often the artist's session renewed its access token over the run.
        "session_refreshes": refreshes,
    }
    return {
        "parameters": {"input_s": duration, "chunk_s": chunk_s,
                       "parallel_min_s": sizes.parallel_min_s, "workers": 2,
                       "pinned_cores": cores, "runs_pinned_pair": pair_runs,
                       "access_token_ttl_s": base.access_token_ttl_s,
                       "ladder_kbps": [b // 1000 for b in Settings().ladder]},
        "results": results,
        "targets": [Target(metric="speedup_2_pinned_vs_1_pinned", value=round(speedup, 3),
                           target=">= 1.6", unit="ratio")],
    }
