"""Memory: peak RSS of `veza ingest` on a 3-minute and a 60-minute input.

Veza works in blocks, so its memory should not grow with the length of the track.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import baselines, inputs
from benchmarks.harness import Target, bench_env, measure

DURATIONS_S = (180.0, 3600.0)
QUICK_DURATIONS_S = (20.0, 120.0)


def run(*, quick: bool = False) -> dict[str, Any]:
    """Ingest a short and a long input once each; compare their peak RSS."""
    short_s, long_s = QUICK_DURATIONS_S if quick else DURATIONS_S
    env = bench_env()
    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="veza-bench-memory-"))
    try:
        # A first run fills Numba's cache, so neither measured run pays for compiling.
        measure(baselines.veza_ingest(inputs.music_wav(5.0), work / "warm-up"), env=env)
        for label, duration in (("short", short_s), ("long", long_s)):
            src = inputs.music_wav(duration)
            r = measure(baselines.veza_ingest(src, work / label), env=env)
            shutil.rmtree(work / label, ignore_errors=True)
            results[label] = {
                "duration_s": duration,
                "max_rss_mib": round(r.max_rss_bytes / 2**20, 1),
                "wall_s": round(r.wall_s, 3),
                "cpu_s": round(r.cpu_s, 3),
                "realtime_x": round(duration / r.wall_s, 1),
            }
            if r.returncode != 0:
                results[label]["error"] = r.stderr.strip()[-500:]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ok = not any("error" in v for v in results.values())
    ratio = results["long"]["max_rss_mib"] / results["short"]["max_rss_mib"] if ok else None
    return {
        "parameters": {
            "input": "synthesised music, stereo 44.1 kHz 16-bit WAV",
            "short_s": short_s,
            "long_s": long_s,
            "runs": 1,
        },
        "results": results,
        # The name keeps the full-size durations; `parameters` says what a quick run used.
        "targets": [Target("rss_60min_vs_3min", ratio, "<= 1.2", "ratio")],
    }
