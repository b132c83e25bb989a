"""Cue points: where the audio starts and stops, past the leading and trailing silence."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numba
import numpy as np

from pipeline.analyser import BlockAnalyser
from pipeline.errors import ParameterError
from pipeline.monomix import check_block, check_rate

__all__ = ["CueDetector", "Cues"]


@dataclass(frozen=True, slots=True)
class Cues:
    """Cue points of a track.

    Attributes
    ----------
    cue_in_s : float
        Start of the first sample above the threshold, in seconds (0.0 for all-silent input).
    cue_out_s : float
        End of the last sample above the threshold (its index + 1, over the sample rate), in
        seconds; ``cue_out_s - cue_in_s`` is the audible span. 0.0 for all-silent input.
    """

    cue_in_s: float
    cue_out_s: float


class CueDetector(BlockAnalyser[Cues]):
    """Streaming detector of leading and trailing silence.

    A sample counts as sound when any channel's absolute value exceeds the threshold. Sample
    peaks rather than a short RMS window keep the cues exact to the sample, and a fade-in's first
    audible sample is where a DJ would cue; dithered digital silence (about -90 dBFS at 16 bits)
    stays well below the default threshold.

    Parameters
    ----------
    sample_rate : int > 0
        Source sample rate in Hz.
    channels : int > 0
        Number of source channels.
    threshold_dbfs : float <= 0
        Level in dB relative to full scale (1.0) a sample must exceed.
    """

    kind = "detector"

    def __init__(self, *, sample_rate: int, channels: int, threshold_dbfs: float = -60.0) -> None:
        self.sample_rate = check_rate("sample_rate", sample_rate)
        self.channels = check_rate("channels", channels)
        if (
            isinstance(threshold_dbfs, bool)
            or not isinstance(threshold_dbfs, numbers.Real)
            or not math.isfinite(threshold_dbfs)
            or threshold_dbfs > 0
        ):
            raise ParameterError(
                f"threshold_dbfs must be a finite number <= 0 dBFS, got {threshold_dbfs!r}"
            )
        self.threshold_dbfs = float(threshold_dbfs)
        self._threshold: np.float32 = np.float32(10.0 ** (self.threshold_dbfs / 20.0))
        self._offset: int = 0  # samples seen before the current block
        self._first: int = -1
        self._last: int = -1

    def _take(self, block: np.ndarray) -> None:
        block = check_block(block, self.channels)
        found: tuple[int, int] = _first_last_above(block, self._threshold, self._first < 0)
        first, last = found
        if last >= 0:
            if self._first < 0:
                self._first = self._offset + first
            self._last = self._offset + last
        self._offset += block.shape[1]

    def _finish(self) -> Cues:
        """The cue points (both 0.0 when nothing exceeded the threshold)."""
        if self._first < 0:
            return Cues(0.0, 0.0)
        sr = self.sample_rate
        return Cues(self._first / sr, (self._last + 1) / sr)


@numba.njit(cache=True, nogil=True)
def _first_last_above(block, threshold, want_first):  # pragma: no cover - jitted
    """Return the first (if want_first) and last column where any |sample| > threshold, or -1."""
    n_ch, n = block.shape
    last = -1
    for i in range(n - 1, -1, -1):
        for c in range(n_ch):
            if abs(block[c, i]) > threshold:
                last = i
                break
        if last >= 0:
            break
    first = -1
    if want_first and last >= 0:
        for i in range(last + 1):
            for c in range(n_ch):
                if abs(block[c, i]) > threshold:
                    first = i
                    break
            if first >= 0:
                break
    return first, last
