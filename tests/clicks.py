"""Find clicks at chunk boundaries: an error that stands above the codec's local noise floor."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BLOCK = 1024  # samples per error measurement (one AAC frame)
GUARD = 3  # blocks either side of a boundary that make up its zone
SPAN = 40  # blocks either side of a boundary where the floor is measured (0.85 s at 48 kHz)


def decode_playlist(playlist: Path, raw: Path) -> np.ndarray:
    """Decode a media playlist strictly to 48 kHz stereo float32 [shape=(2, n)]."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-y", "-i", str(playlist),
         "-f", "f32le", "-ac", "2", "-ar", "48000", str(raw)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    return np.fromfile(raw, np.float32).reshape(-1, 2).T


def block_rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS of ``a - b`` over each block of BLOCK samples (both channels)."""
    n = min(a.shape[1], b.shape[1]) // BLOCK * BLOCK
    diff = (a[:, :n] - b[:, :n]).astype(np.float64)
    return np.sqrt((diff**2).mean(axis=0).reshape(-1, BLOCK).mean(axis=1))


def boundary_ratios(error: np.ndarray, boundaries: Sequence[int]) -> list[float]:
    """For each boundary (a sample index), the worst block error in its zone divided by the
    worst block error measured away from it, in the blocks around: 1 or less is no click."""
    ratios = []
    for boundary in boundaries:
        b = boundary // BLOCK
        zone = error[max(0, b - GUARD): b + GUARD]
        around = np.concatenate([error[max(0, b - SPAN): max(0, b - GUARD)],
                                 error[b + GUARD: b + SPAN]])
        floor = max(float(around.max()), 1e-6)
        ratios.append(float(zone.max()) / floor)
    return ratios
