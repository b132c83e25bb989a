"""Deterministic benchmark inputs, generated once and cached on disk."""

from __future__ import annotations

import math
import os
import tempfile
import wave
from pathlib import Path

import numpy as np

from pipeline.synth import music

CACHE_DIR = Path(tempfile.gettempdir()) / "veza-bench"
_CHUNK_S = 60.0  # synth renders whole arrays: longer inputs are appended a minute at a time
_VERSION = 1  # bump when the generated audio changes, so stale files are not reused


def cache_dir() -> Path:
    """The folder holding generated inputs (and the benchmarks' Numba cache)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return CACHE_DIR


def music_wav(duration_s: float, *, sample_rate: int = 44100, channels: int = 2,
              directory: str | os.PathLike[str] | None = None) -> Path:
    """Return a 16-bit PCM WAV of synthesised music lasting duration_s, generating it if needed.

    The same arguments always give the same file. Each minute is rendered with its own seed and
    appended, so a 60-minute input never sits in memory whole (each minute changes key).
    """
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    folder = Path(directory) if directory is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"music_v{_VERSION}_{duration_s:g}s_{sample_rate}hz_{channels}ch.wav"
    if path.exists():
        return path
    total = round(duration_s * sample_rate)
    per_chunk = round(_CHUNK_S * sample_rate)
    # Written beside the target and renamed: a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".wav.part")
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            for seed, start in enumerate(range(0, total, per_chunk)):
                n = min(per_chunk, total - start)
                y = music(duration_s=n / sample_rate, sample_rate=sample_rate,
                          channels=channels, seed=seed)
                w.writeframes(np.round(np.clip(y, -1.0, 1.0) * 32767).astype("<i2").T.tobytes())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a shared cache
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
