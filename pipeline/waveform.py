"""Waveform peaks (min/max per pixel) at several zoom levels, in one streaming pass.

The output is what peaks.js and wavesurfer draw: the audiowaveform JSON format, version 2
(https://github.com/bbc/audiowaveform/blob/master/doc/DataFormat.md).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pipeline.analyser import BlockAnalyser
from pipeline.errors import ParameterError
from pipeline.monomix import check_block, check_rate

__all__ = ["Waveform", "WaveformBuilder", "WaveformLevel", "quantize"]


@dataclass(frozen=True, slots=True, eq=False)
class WaveformLevel:
    """Peaks at one zoom level.

    Attributes
    ----------
    samples_per_pixel : int
        Source samples summarised by each pixel (the last pixel may cover fewer).
    channels : int
        Waveform channels (1 for the mono mix).
    data : np.ndarray [shape=(length * channels * 2,)], int8 or int16
        ``[min(px 0, ch 0), max(px 0, ch 0), min(px 0, ch 1), ..., min(px 1, ch 0), ...]``.
    """

    samples_per_pixel: int
    channels: int
    data: np.ndarray

    @property
    def length(self) -> int:
        """Number of pixels."""
        return len(self.data) // (2 * self.channels)


@dataclass(frozen=True, slots=True, eq=False)
class Waveform:
    """Waveform peaks of a track at several zoom levels.

    Attributes
    ----------
    sample_rate : int
        Source sample rate in Hz.
    channels : int
        Waveform channels: 1 for the mono mix, else the source's channels.
    bits : {8, 16}
        Resolution of the values: ``clip(floor(x * 2**(bits-1)), -2**(bits-1), 2**(bits-1)-1)``
        for a sample ``x`` in [-1, 1] (8 bits: -128..127).
    levels : tuple of WaveformLevel
        One per zoom level, finest first.
    """

    sample_rate: int
    channels: int
    bits: int
    levels: tuple[WaveformLevel, ...]

    def level(self, samples_per_pixel: int) -> WaveformLevel:
        """Return the level with ``samples_per_pixel``; ParameterError if there is none."""
        for level in self.levels:
            if level.samples_per_pixel == samples_per_pixel:
                return level
        have = [lv.samples_per_pixel for lv in self.levels]
        raise ParameterError(f"no level with samples_per_pixel={samples_per_pixel!r}; have {have}")

    def to_audiowaveform(self, samples_per_pixel: int) -> dict[str, Any]:
        """Return one level as an audiowaveform JSON (version 2) object, ready for ``json.dump``.

        Returns
        -------
        doc : dict
            ``{"version": 2, "channels", "sample_rate", "samples_per_pixel", "bits", "length",
            "data"}`` where ``data`` is a list of ``length * channels * 2`` ints.
        """
        level = self.level(samples_per_pixel)
        return {
            "version": 2,
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": level.samples_per_pixel,
            "bits": self.bits,
            "length": level.length,
            "data": level.data.tolist(),
        }


def quantize(x: np.ndarray, bits: int) -> np.ndarray:
    """Scale float samples to waveform values (see ``Waveform.bits``), as int16."""
    full = 2 ** (bits - 1)
    q = np.floor(np.asarray(x, np.float32) * np.float32(full))
    return np.clip(q, -full, full - 1).astype(np.int16)


class WaveformBuilder(BlockAnalyser[Waveform]):
    """Streaming min/max peaks at several zoom levels.

    Parameters
    ----------
    sample_rate : int > 0
        Source sample rate in Hz.
    channels : int > 0
        Number of source channels.
    samples_per_pixel : sequence of int >= 2
        Zoom levels, distinct.
    bits : {8, 16}
        Resolution of the output values.
    split_channels : bool
        Peaks per channel instead of the mono mix (the mean of the channels in float32).
    """

    kind = "builder"

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        samples_per_pixel: Sequence[int] = (256, 512, 1024, 2048, 4096),
        bits: int = 8,
        split_channels: bool = False,
    ) -> None:
        self.sample_rate = check_rate("sample_rate", sample_rate)
        self.channels = check_rate("channels", channels)
        if isinstance(samples_per_pixel, numbers.Integral) or not isinstance(
            samples_per_pixel, Sequence
        ):
            raise ParameterError(
                f"samples_per_pixel must be a sequence of ints, got {samples_per_pixel!r}"
            )
        spp = list(samples_per_pixel)
        if not spp or len(set(spp)) != len(spp) or any(
            isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 2 for s in spp
        ):
            raise ParameterError(
                f"samples_per_pixel must be distinct integers >= 2, got {samples_per_pixel!r}"
            )
        if bits not in (8, 16) or isinstance(bits, bool):
            raise ParameterError(f"bits must be 8 or 16, got {bits!r}")
        if not isinstance(split_channels, bool):
            raise ParameterError(f"split_channels must be True or False, got {split_channels!r}")
        self.bits = int(bits)
        self.split_channels = split_channels
        self._spp = np.array(sorted(int(s) for s in spp), np.int64)
        self._out_channels = self.channels if split_channels else 1
        shape = (len(self._spp), self._out_channels)
        self._lo = np.full(shape, np.inf, np.float32)
        self._hi = np.full(shape, -np.inf, np.float32)
        self._count = np.zeros(len(self._spp), np.int64)
        self._chunks: list[list[np.ndarray]] = [[] for _ in self._spp]

    def _take(self, block: np.ndarray) -> None:
        block = check_block(block, self.channels)
        n = block.shape[1]
        if n == 0:
            return
        out = np.empty((len(self._spp), n // int(self._spp[0]) + 1, self._out_channels, 2),
                       np.int16)
        written = np.zeros(len(self._spp), np.int64)
        x = block if self.split_channels else _mix(block)
        _peaks(x, self._spp, self._lo, self._hi, self._count, self.bits, out, written)
        for i, k in enumerate(written):
            if k:
                self._chunks[i].append(out[i, :k].reshape(-1).copy())

    def _finish(self) -> Waveform:
        """Emit each level's partial last pixel; the peaks."""
        dtype = np.int8 if self.bits == 8 else np.int16
        levels = []
        for i, spp in enumerate(self._spp):
            chunks = self._chunks[i]
            if self._count[i]:
                pair = np.stack([self._lo[i], self._hi[i]], axis=1).reshape(-1)
                chunks.append(quantize(pair, self.bits))
            data = (np.concatenate(chunks) if chunks else np.zeros(0)).astype(dtype)
            data.flags.writeable = False
            levels.append(WaveformLevel(int(spp), self._out_channels, data))
        self._chunks = []
        return Waveform(self.sample_rate, self._out_channels, self.bits, tuple(levels))


@numba.njit(cache=True, nogil=True)
def _mix(block):  # pragma: no cover - jitted
    """Mean of the channels of a (channels, n) float32 block, summed in channel order."""
    n_ch, n = block.shape
    inv = np.float32(n_ch)
    out = np.empty((1, n), np.float32)
    for i in range(n):
        x = block[0, i]
        for k in range(1, n_ch):
            x += block[k, i]
        out[0, i] = x / inv
    return out


@numba.njit(cache=True, nogil=True)
def _peaks(x, spp, lo, hi, count, bits, out, written):  # pragma: no cover - jitted
    """Carry min/max (lo, hi, count per level) over x; write completed pixels to out."""
    n_out, n = x.shape
    full = np.float32(2 ** (bits - 1))
    bottom = np.float32(-(2 ** (bits - 1)))
    top = np.float32(2 ** (bits - 1) - 1)
    for lv in range(spp.shape[0]):
        i = 0
        while i < n:
            take = min(spp[lv] - count[lv], n - i)
            for c in range(n_out):
                a = lo[lv, c]
                b = hi[lv, c]
                for j in range(i, i + take):
                    v = x[c, j]
                    a = min(a, v)
                    b = max(b, v)
                lo[lv, c] = a
                hi[lv, c] = b
            i += take
            count[lv] += take
            if count[lv] == spp[lv]:
                p = written[lv]
                for c in range(n_out):
                    out[lv, p, c, 0] = np.int16(max(bottom, min(top, np.floor(lo[lv, c] * full))))
                    out[lv, p, c, 1] = np.int16(max(bottom, min(top, np.floor(hi[lv, c] * full))))
                    lo[lv, c] = np.inf
                    hi[lv, c] = -np.inf
                written[lv] = p + 1
                count[lv] = 0
