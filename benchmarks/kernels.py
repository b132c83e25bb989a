"""Benchmark the loudness kernels against pyloudnorm and FFmpeg's ebur128 filter.

``run()`` measures, on a generated stereo 44.1 kHz signal, the time of our meter (one thread,
after a warm-up call), of pyloudnorm's integrated loudness (float64) and of the ffmpeg CLI's
``ebur128`` filter (wall time of the process, for information), how far their results lie
apart, and the Numba compile time paid once by a process with an empty cache.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm

from pipeline.loudness import LoudnessMeter, loudness_of
from pipeline.synth import music, write_wav

SAMPLE_RATE = 44100
BLOCK = 65536  # samples per block fed to the meter, as a decoder would hand them over
_ROOT = Path(__file__).resolve().parents[1]

_FIRST_CALL = """
import time
import numpy as np
t0 = time.perf_counter()
from pipeline.loudness import loudness_of
t1 = time.perf_counter()
loudness_of(np.zeros((2, 44100), dtype=np.float32), sample_rate=44100)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def run(*, quick: bool = False) -> dict[str, Any]:
    """Measure the loudness kernels; return ``{"results": {...}, "targets": [...]}``.

    Parameters
    ----------
    quick : bool
        Use a 20 s signal and one run of each measurement instead of 240 s and the median of 3.
    """
    duration = 20.0 if quick else 240.0
    repeats = 1 if quick else 3
    y = music(duration_s=duration, sample_rate=SAMPLE_RATE, channels=2, seed=11)
    y64 = y.T.astype(np.float64)  # pyloudnorm's layout and dtype, converted outside the timing

    loudness_of(y[:, :SAMPLE_RATE], sample_rate=SAMPLE_RATE)  # compile or load the kernels
    ours_s = _median(lambda: _stream(y), repeats)
    ours_one_block_s = _median(lambda: loudness_of(y, sample_rate=SAMPLE_RATE), repeats)
    ours = _stream(y)
    pyloudnorm_s = _median(lambda: pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(y64),
                           repeats)
    reference_i = float(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(y64))

    with tempfile.TemporaryDirectory(prefix="veza-bench-") as tmp:
        wav = Path(tmp) / "signal.wav"
        write_wav(wav, y, sample_rate=SAMPLE_RATE, bits=24)
        ffmpeg_s = _median(lambda: _ffmpeg(wav, None), repeats)
        ffmpeg = _ffmpeg(wav, Path(tmp) / "meta.txt")
        compile_s, cached_s, import_s = _first_calls(Path(tmp) / "numba-cache")

    speedup = pyloudnorm_s / ours_s
    i_vs_pyloudnorm = abs(ours.integrated_lufs - reference_i)
    i_vs_ffmpeg = abs(ours.integrated_lufs - ffmpeg["I"])
    tp_vs_ffmpeg = abs(ours.true_peak_dbtp - ffmpeg["TP"])
    results = {
        "signal": {"duration_s": duration, "sample_rate": SAMPLE_RATE, "channels": 2,
                   "block_samples": BLOCK, "runs": repeats},
        "ours_s": ours_s,
        "ours_one_block_s": ours_one_block_s,
        "pyloudnorm_s": pyloudnorm_s,
        "ffmpeg_ebur128_s": ffmpeg_s,
        "speedup_vs_pyloudnorm": speedup,
        "speedup_vs_ffmpeg": ffmpeg_s / ours_s,
        "realtime_factor": duration / ours_s,
        "integrated_lufs": {"ours": ours.integrated_lufs, "pyloudnorm": reference_i,
                            "ffmpeg": ffmpeg["I"]},
        "range_lu": {"ours": ours.range_lu, "ffmpeg": ffmpeg["LRA"]},
        "true_peak_dbtp": {"ours": ours.true_peak_dbtp, "ffmpeg": ffmpeg["TP"]},
        "integrated_vs_pyloudnorm_lu": i_vs_pyloudnorm,
        "integrated_vs_ffmpeg_lu": i_vs_ffmpeg,
        "range_vs_ffmpeg_lu": abs(ours.range_lu - ffmpeg["LRA"]),
        "true_peak_vs_ffmpeg_db": tp_vs_ffmpeg,
        "numba_compile_s": compile_s,
        "numba_cached_first_call_s": cached_s,
        "import_s": import_s,
    }
    targets = [
        _target("loudness_speedup_vs_pyloudnorm", speedup, ">=", 5.0, "ratio"),
        _target("integrated_vs_pyloudnorm_lu", i_vs_pyloudnorm, "<=", 0.1, "LU"),
        _target("integrated_vs_ffmpeg_lu", i_vs_ffmpeg, "<=", 0.1, "LU"),
        _target("true_peak_vs_ffmpeg_db", tp_vs_ffmpeg, "<=", 0.3, "dB"),
    ]
    return {"results": results, "targets": targets}


def _stream(y: np.ndarray) -> Any:
    meter = LoudnessMeter(sample_rate=SAMPLE_RATE, channels=y.shape[0])
    for start in range(0, y.shape[1], BLOCK):
        meter.process(y[:, start:start + BLOCK])
    return meter.result()


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ffmpeg(wav: Path, meta: Path | None) -> dict[str, float]:
    """Run ffmpeg's ebur128 filter; with ``meta``, return its final I, LRA and true peak."""
    chain = "ebur128=peak=true"
    if meta is not None:  # the frame metadata has three decimals, the summary one
        chain += f":metadata=1,ametadata=mode=print:file={meta}"
    subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-v", "error", "-i", str(wav),
                    "-af", chain, "-f", "null", "-"], check=True, capture_output=True)
    if meta is None:
        return {}
    values: dict[str, float] = {}
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = float(value) if value else math.nan
    return {"I": values["lavfi.r128.I"], "LRA": values["lavfi.r128.LRA"],
            "TP": 20 * math.log10(values["lavfi.r128.true_peak"])}


def _first_calls(cache_dir: Path) -> tuple[float, float, float]:
    """First-call seconds in fresh processes: with an empty Numba cache, then with it filled."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    timings = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _FIRST_CALL], cwd=_ROOT, env=env,
                             check=True, capture_output=True, text=True).stdout.split()
        timings.append((float(out[0]), float(out[1])))
    (import_s, compile_s), (_, cached_s) = timings
    return compile_s, cached_s, import_s


def _target(metric: str, value: float, op: str, bound: float, unit: str) -> dict[str, Any]:
    met = value >= bound if op == ">=" else value <= bound
    return {"metric": metric, "value": value, "target": f"{op} {bound:g}", "unit": unit,
            "met": bool(met)}
