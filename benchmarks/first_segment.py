"""Time to first playable segment: from the moment a worker picks a job to the moment the
master playlist (and so a first segment of every rendition) is in the object store."""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import bench_artist
from benchmarks.inputs import music_wav
from benchmarks.servers import private_database


@dataclass(frozen=True)
class Sizes:
    input_s: float
    runs: int


FULL = Sizes(input_s=240.0, runs=3)
QUICK = Sizes(input_s=20.0, runs=1)


def _ingest_once(services: Any, wav: Path) -> dict[str, float]:
    from storage.repositories import unit_of_work
    from veza.ingest import run_ingest
    from veza.uploads import accept

    accepted = accept(services, wav, owner_id=bench_artist(services)[0], filename=wav.name)
    run_ingest(services, job_id=str(accepted.job.id), track_id=str(accepted.track.id))
    with unit_of_work(services.db) as uow:
        uow.cur.execute(
            """
            SELECT extract(epoch FROM t.playable_at - j.started_at) AS first_playable,
                   extract(epoch FROM t.ready_at - j.started_at) AS ready, t.status
            FROM tracks t JOIN jobs j ON j.track_id = t.id WHERE t.id = %s
            """,
            (accepted.track.id,),
        )
        row = uow.cur.fetchone()
    if row["status"] != "ready":
        raise RuntimeError(f"benchmark track ended {row['status']}")
    return {"first_playable_s": float(row["first_playable"]), "ready_s": float(row["ready"])}


def run(*, quick: bool = False) -> dict[str, Any]:
    """Ingest a track through the worker's stage, several times, on a database of its own and
    objects on disk."""
    from veza.runtime import build_services
    from veza.settings import Settings

    sizes = QUICK if quick else FULL
    duration, runs = sizes.input_s, sizes.runs
    wav = music_wav(duration)
    warm = music_wav(5.0)
    with private_database() as dsn, tempfile.TemporaryDirectory(prefix="vzb-", dir="/tmp") as tmp:
        settings = Settings(database_url=dsn, data_dir=Path(tmp) / "data",
                            public_url="http://127.0.0.1:1")
        services = build_services(settings, migrate=True)
        try:
            # A long-lived worker has compiled and loaded everything before its first job.
            _ingest_once(services, warm)
            samples = [_ingest_once(services, wav) for _ in range(runs)]
        finally:
            services.close()
    first = statistics.median(s["first_playable_s"] for s in samples)
    ready = statistics.median(s["ready_s"] for s in samples)
    return {
        "parameters": {"input_s": duration, "runs": runs, "ladder_kbps": list(
            b // 1000 for b in Settings().ladder)},
        "results": {
            "first_playable_s_median": round(first, 3),
            "ready_s_median": round(ready, 3),
            "first_playable_vs_ready": round(first / ready, 4),
            "samples": samples,
        },
        "targets": [
            {"metric": "first_playable_s", "value": round(first, 3), "target": "< 1.0",
             "unit": "s", "met": first < 1.0},
        ],
    }
