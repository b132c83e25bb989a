"""Loudness by ITU-R BS.1770-4 and EBU R 128: a streaming meter with Numba kernels.

The meter takes planar float32 blocks of any length and keeps, besides the filter states, one
float per 100 ms of audio (a 2-hour track holds 72,000), so memory stays flat. Feeding a signal
in one block or in many gives the same result, bit for bit: every kernel carries its state in
and out and adds in the same order either way.

What is measured:

* integrated loudness: 400 ms K-weighted blocks every 100 ms, gated at -70 LUFS and at -10 LU
  below the loudness of the blocks above -70 LUFS (BS.1770-4, 2.8);
* loudness range: 3 s short-term loudness every 100 ms, gated at -70 LUFS and -20 LU, the
  spread between its 10th and 95th percentiles (EBU Tech 3342);
* maximum momentary (400 ms) and short-term (3 s) loudness;
* sample peak and true peak (4x oversampling by the interpolation filter of BS.1770-4 Annex 2,
  below 192 kHz).

The K-weighting biquads are derived for any sample rate from the analogue prototype, as
libebur128 and FFmpeg do; at 48 kHz they equal the tables of BS.1770-4.

Why one module of ~600 lines: the meter, its Numba kernels and the gating are one algorithm
whose state (filter memories, the 100 ms powers, the peak histories) passes between them; apart,
every kernel's contract would have to be repeated where it is called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numba
import numpy as np

from pipeline.errors import ParameterError

__all__ = [
    "Loudness",
    "LoudnessMeter",
    "bs1770_weights",
    "loudness_of",
    "track_gain",
]

_ABSOLUTE_GATE = -70.0  # LUFS
_RELATIVE_GATE = -10.0  # LU, integrated loudness
_LRA_GATE = -20.0  # LU, loudness range
_LRA_PERCENTILES = (10.0, 95.0)
_MOMENTARY_HOPS = 4  # 400 ms in 100 ms hops
_SHORT_TERM_HOPS = 30  # 3 s
_MIN_SAMPLE_RATE = 4000  # the K-weighting shelf at 1.68 kHz must lie below Nyquist
_TRUE_PEAK_MAX_RATE = 192000  # from here on the samples are as dense as 4 x 48 kHz
_TRUE_PEAK_CHUNK = 64  # samples per bound check in the true-peak kernel

# BS.1770-4 Annex 2: the 48-tap interpolation filter as 4 phases of 12 taps.
_INTERPOLATOR = np.array([
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875,
     0.1373291015625, 0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250,
     0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500,
     0.4650878906250, 0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625,
     0.0330810546875, -0.0189208984375],
    [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125,
     0.7797851562500, 0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000,
     0.0292968750000, -0.0291748046875],
    [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750,
     0.9721679687500, 0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125,
     0.0109863281250, 0.0017089843750],
], dtype=np.float32)  # every tap is a multiple of 2**-13: exact in float32
_HISTORY = _INTERPOLATOR.shape[1] - 1  # past samples an interpolated value needs
# No interpolated value exceeds this times the largest sample it is made of.
_INTERPOLATOR_GAIN = float(np.abs(_INTERPOLATOR).sum(axis=1).max()) * (1 + 1e-5)

# FFmpeg channel names -> BS.1770-4 weights, as FFmpeg's ebur128 filter assigns them: the LFE
# channels do not count, the channels beside and behind the listener count +1.5 dB.
_SURROUND = frozenset({"BL", "BR", "BC", "SL", "SR", "SDL", "SDR", "TBL", "TBC", "TBR"})
_LFE = frozenset({"LFE", "LFE2"})
_OTHER = frozenset({"FL", "FR", "FC", "FLC", "FRC", "TC", "TFL", "TFC", "TFR", "WL", "WR",
                    "TSL", "TSR", "BFC", "BFL", "BFR", "DL", "DR"})
# FFmpeg's default layout for each channel count (av_channel_layout_default).
_DEFAULT_LAYOUTS = {
    1: ("FC",),
    2: ("FL", "FR"),
    3: ("FL", "FR", "LFE"),
    4: ("FL", "FR", "BL", "BR"),
    5: ("FL", "FR", "FC", "BL", "BR"),
    6: ("FL", "FR", "FC", "LFE", "BL", "BR"),
    7: ("FL", "FR", "FC", "LFE", "BC", "SL", "SR"),
    8: ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
}


def bs1770_weights(channel_names: Sequence[str]) -> np.ndarray:
    """Return the BS.1770-4 weight of each channel, named as FFmpeg names them.

    Front and overhead channels weigh 1.0, the LFE channels 0.0, and the channels beside and
    behind the listener (``BL``, ``BR``, ``BC``, ``SL``, ``SR``, ``SDL``, ``SDR``, ``TBL``,
    ``TBC``, ``TBR``) 1.41 (+1.5 dB), as FFmpeg's ``ebur128`` filter weighs them.

    Parameters
    ----------
    channel_names : sequence of str
        FFmpeg channel names in channel order, e.g. ``["FL", "FR", "FC", "LFE", "BL", "BR"]``.

    Returns
    -------
    weights : np.ndarray [shape=(channels,)], float64
        Power weight of each channel.

    Raises
    ------
    ParameterError
        If the sequence is empty or holds a name FFmpeg does not use.
    """
    if isinstance(channel_names, str) or len(channel_names) == 0:
        raise ParameterError(
            f"channel_names must be a non-empty sequence of names, got {channel_names!r}")
    weights = np.empty(len(channel_names))
    for i, name in enumerate(channel_names):
        if name in _SURROUND:
            weights[i] = 1.41
        elif name in _LFE:
            weights[i] = 0.0
        elif name in _OTHER:
            weights[i] = 1.0
        else:
            raise ParameterError(f"unknown channel name {name!r} (expected an FFmpeg name such "
                                 "as 'FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'SL', 'SR')")
    return weights


@dataclass(frozen=True)
class Loudness:
    """Loudness and peaks of a signal.

    Attributes
    ----------
    integrated_lufs : float
        Gated integrated loudness in LUFS; ``-inf`` when every block is gated out.
    range_lu : float
        Loudness range (EBU Tech 3342) in LU; 0.0 for silence or input shorter than 3 s.
    momentary_max_lufs : float
        Loudest 400 ms window in LUFS; ``-inf`` for silence or input shorter than 400 ms.
    short_term_max_lufs : float
        Loudest 3 s window in LUFS; ``-inf`` for silence or input shorter than 3 s.
    sample_peak_dbfs : float
        Largest absolute sample in dBFS; ``-inf`` for digital silence.
    true_peak_dbtp : float
        Largest absolute value of the 4x oversampled signal (and of the samples) in dBTP;
        ``-inf`` for digital silence.
    """

    integrated_lufs: float
    range_lu: float
    momentary_max_lufs: float
    short_term_max_lufs: float
    sample_peak_dbfs: float
    true_peak_dbtp: float

    def as_json(self) -> dict[str, float | None]:
        """Return the fields as a JSON-ready dict; ``-inf`` and NaN become ``None``."""
        return {k: (float(v) if math.isfinite(v) else None) for k, v in asdict(self).items()}


class LoudnessMeter:
    """Measure loudness block by block.

    Parameters
    ----------
    sample_rate : int >= 4000
        Sample rate in Hz.
    channels : int > 0
        Number of channels of every block.
    weights : np.ndarray [shape=(channels,)] or None
        Power weight of each channel (see `bs1770_weights`). ``None`` takes the weights of
        FFmpeg's default layout for 1 to 8 channels (mono, stereo, ..., 5.1, 7.1).

    Raises
    ------
    ParameterError
        If an argument is out of range, or ``weights`` is ``None`` for more than 8 channels.

    Examples
    --------
    >>> meter = LoudnessMeter(sample_rate=44100, channels=2)
    >>> for block in blocks:  # doctest: +SKIP
    ...     meter.process(block)
    >>> meter.result().integrated_lufs  # doctest: +SKIP
    -14.2
    """

    def __init__(
        self, *, sample_rate: int, channels: int, weights: np.ndarray | None = None
    ) -> None:
        if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ParameterError(
                f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
        if sample_rate < _MIN_SAMPLE_RATE:
            raise ParameterError(
                f"sample_rate must be at least {_MIN_SAMPLE_RATE} Hz, got {sample_rate!r}")
        if isinstance(channels, bool) or int(channels) != channels or channels <= 0:
            raise ParameterError(f"channels must be a positive integer, got {channels!r}")
        channels = int(channels)
        if weights is None:
            if channels not in _DEFAULT_LAYOUTS:
                raise ParameterError(
                    f"weights must be given for {channels} channels (no default layout)")
            weights = bs1770_weights(_DEFAULT_LAYOUTS[channels])
        weights = np.array(weights, dtype=np.float64)
        if weights.shape != (channels,):
            raise ParameterError(
                f"weights must have shape ({channels},) for {channels} channels, "
                f"got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ParameterError(f"weights must be finite and >= 0, got {weights.tolist()}")

        self.sample_rate = int(sample_rate)
        self.channels = channels
        self._weights = weights
        self._hop = (self.sample_rate + 5) // 10  # samples in 100 ms, as libebur128 rounds
        self._coefs = _k_weighting(self.sample_rate)
        self._oversample = self.sample_rate < _TRUE_PEAK_MAX_RATE
        # Filter states (see the kernel), the energy of the unfinished 100 ms block.
        self._filter_state = np.zeros((channels, 6))
        self._partial = np.zeros(channels)
        self._filled = 0
        self._history = np.zeros((channels, _HISTORY), dtype=np.float32)
        self._sample_peak = np.zeros(channels)
        self._true_peak = np.zeros(channels)
        self._energies: list[np.ndarray] = []  # weighted sum of squares per finished 100 ms

    def process(self, block: np.ndarray) -> None:
        """Add the next samples.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, n)], float32
            Planar samples following those of the previous call; any ``n >= 0``. Other
            floating-point dtypes are converted to float32.

        Raises
        ------
        ParameterError
            If the block is not a finite 2-D float array with ``channels`` rows; the meter is
            left unchanged.
        """
        if not isinstance(block, np.ndarray):
            raise ParameterError(f"block must be a numpy array, got {type(block).__name__}")
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ParameterError(
                f"block must have shape ({self.channels}, n), got {block.shape}")
        if not np.issubdtype(block.dtype, np.floating):
            raise ParameterError(f"block must hold float32 samples, got dtype {block.dtype}")
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.shape[1] == 0:
            return
        if not _all_finite(x):
            raise ParameterError("block holds NaN or infinite samples")

        out = np.zeros((self._filled + x.shape[1]) // self._hop)
        self._filled = _k_weighted_energy(
            x, self._coefs, self._weights, self._filter_state, self._partial, self._filled,
            self._hop, out)
        if out.size:
            self._energies.append(out)
        _peaks(x, self._history, _INTERPOLATOR, self._oversample, self._sample_peak,
               self._true_peak, _TRUE_PEAK_CHUNK, _INTERPOLATOR_GAIN)

    def momentary_series(self) -> np.ndarray:
        """Return the momentary loudness every 100 ms.

        Returns
        -------
        lufs : np.ndarray [shape=(blocks,)], float64
            Element ``k`` is the loudness in LUFS of the 400 ms ending at ``(k + 1) * 0.1``
            seconds: NaN for the first three (the window is not yet full), ``-inf`` where silent.
        """
        return self._series(_MOMENTARY_HOPS)

    def short_term_series(self) -> np.ndarray:
        """Return the short-term (3 s) loudness every 100 ms.

        Returns
        -------
        lufs : np.ndarray [shape=(blocks,)], float64
            Element ``k`` is the loudness in LUFS of the 3 s ending at ``(k + 1) * 0.1``
            seconds: NaN for the first 29 (the window is not yet full), ``-inf`` where silent.
        """
        return self._series(_SHORT_TERM_HOPS)

    def result(self) -> Loudness:
        """Return the loudness of everything processed so far.

        Samples of an unfinished last 100 ms count for the peaks only.

        Returns
        -------
        loudness : Loudness
        """
        momentary = _lufs(self._window_power(_MOMENTARY_HOPS))
        short_term = _lufs(self._window_power(_SHORT_TERM_HOPS))
        sample_peak = float(self._sample_peak.max())
        true_peak = max(float(self._true_peak.max()), sample_peak)
        return Loudness(
            integrated_lufs=_integrated(momentary, self._window_power(_MOMENTARY_HOPS)),
            range_lu=_loudness_range(short_term),
            momentary_max_lufs=float(momentary.max(initial=-np.inf)),
            short_term_max_lufs=float(short_term.max(initial=-np.inf)),
            sample_peak_dbfs=_db(sample_peak),
            true_peak_dbtp=_db(true_peak),
        )

    def _window_power(self, hops: int) -> np.ndarray:
        """Mean weighted square of each full window of ``hops`` 100 ms blocks."""
        energies = np.concatenate(self._energies) if self._energies else np.zeros(0)
        if energies.size > 1:
            self._energies = [energies]
        if energies.size < hops:
            return np.zeros(0)
        sums = np.lib.stride_tricks.sliding_window_view(energies, hops).sum(axis=1)
        return sums / (hops * self._hop)

    def _series(self, hops: int) -> np.ndarray:
        loudness = _lufs(self._window_power(hops))
        blocks = sum(e.size for e in self._energies)
        return np.concatenate([np.full(min(hops - 1, blocks), np.nan), loudness])


def loudness_of(
    y: np.ndarray, *, sample_rate: int, weights: np.ndarray | None = None
) -> Loudness:
    """Measure the loudness of a whole signal.

    Parameters
    ----------
    y : np.ndarray [shape=(channels, n)], float32
        Planar samples.
    sample_rate : int >= 4000
        Sample rate in Hz.
    weights : np.ndarray [shape=(channels,)] or None
        Channel weights, see `LoudnessMeter`.

    Returns
    -------
    loudness : Loudness

    Raises
    ------
    ParameterError
        If ``y`` or an argument is invalid.
    """
    if not isinstance(y, np.ndarray) or y.ndim != 2:
        shape = getattr(y, "shape", None)
        raise ParameterError(f"y must have shape (channels, n), got {shape}")
    meter = LoudnessMeter(sample_rate=sample_rate, channels=y.shape[0], weights=weights)
    meter.process(y)
    return meter.result()


def track_gain(
    loudness: Loudness, *, target_lufs: float = -14.0, ceiling_dbtp: float = -1.0
) -> float | None:
    """Return the gain that brings a track to a target loudness without passing a peak ceiling.

    Parameters
    ----------
    loudness : Loudness
        The track's measurement.
    target_lufs : float
        Integrated loudness to reach, in LUFS.
    ceiling_dbtp : float
        Highest true peak allowed after the gain, in dBTP.

    Returns
    -------
    gain_db : float or None
        ``target_lufs - integrated``, lowered so that ``true_peak + gain <= ceiling_dbtp``;
        ``None`` when the integrated loudness is ``-inf`` (silence).

    Raises
    ------
    ParameterError
        If ``target_lufs`` or ``ceiling_dbtp`` is not finite.
    """
    if not math.isfinite(target_lufs):
        raise ParameterError(f"target_lufs must be a finite number, got {target_lufs!r}")
    if not math.isfinite(ceiling_dbtp):
        raise ParameterError(f"ceiling_dbtp must be a finite number, got {ceiling_dbtp!r}")
    if not math.isfinite(loudness.integrated_lufs):
        return None
    gain = target_lufs - loudness.integrated_lufs
    if math.isfinite(loudness.true_peak_dbtp):
        gain = min(gain, ceiling_dbtp - loudness.true_peak_dbtp)
    return float(gain)


def _k_weighting(sample_rate: int) -> np.ndarray:
    """Coefficients (b0, b1, b2, a1, a2) of the two K-weighting biquads, as in libebur128."""
    # Stage 1: the high shelf modelling the head, from its analogue prototype.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
             (vh - vb * k / q + k * k) / a0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # Stage 2: the RLB high pass; its numerator stays (1, -2, 1) as in BS.1770-4 Table 2.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array(shelf + high_pass)


def _lufs(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def _mean_lufs(power: np.ndarray) -> float:
    """Loudness of the mean of non-empty powers."""
    return -0.691 + 10.0 * math.log10(float(power.mean()))


def _db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def _integrated(loudness: np.ndarray, power: np.ndarray) -> float:
    """Gated integrated loudness (BS.1770-4, eq. 5-7) from the 400 ms blocks."""
    above = loudness > _ABSOLUTE_GATE
    if not above.any():
        return -math.inf
    gate = _mean_lufs(power[above]) + _RELATIVE_GATE
    return _mean_lufs(power[above & (loudness > gate)])


def _loudness_range(short_term: np.ndarray) -> float:
    """Loudness range (EBU Tech 3342) from the short-term loudness values."""
    values = short_term[short_term > _ABSOLUTE_GATE]
    if values.size == 0:
        return 0.0
    gate = 10.0 * math.log10(float(np.mean(10.0 ** (values / 10.0)))) + _LRA_GATE
    values = values[values >= gate]
    # Nearest rank, as FFmpeg reads the percentiles off its histogram.
    low, high = np.percentile(values, _LRA_PERCENTILES, method="inverted_cdf")
    return float(high - low)


@numba.njit(cache=True, nogil=True)
def _all_finite(x):  # pragma: no cover - compiled
    """Return whether every sample of a (channels, n) array is finite."""
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            if not np.isfinite(x[c, i]):
                return False
    return True


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _k_weighted_energy(x, coefs, weights, state, partial, filled, hop, out):  # pragma: no cover
    """K-weight (channels, n) samples; add each finished 100 ms block's weighted energy to out."""
    b0, b1, b2, a1, a2 = coefs[0], coefs[1], coefs[2], coefs[3], coefs[4]
    c0, c1, c2, d1, d2 = coefs[5], coefs[6], coefs[7], coefs[8], coefs[9]
    channels, n = x.shape
    p = filled
    # Direct form I, two channels at a time: what depends on the previous output is one fused
    # multiply-subtract per biquad, and two independent chains keep the CPU busy. An odd last
    # channel runs beside a copy of itself.
    for c in range(0, channels, 2):
        e = min(c + 1, channels - 1)
        r0 = x[c]
        r1 = x[e]
        # Per channel: the last two inputs, shelf outputs and K-weighted outputs.
        v1, v2, y1, y2, u1, u2 = (state[c, 0], state[c, 1], state[c, 2], state[c, 3],
                                  state[c, 4], state[c, 5])
        w1, w2, z1, z2, t1, t2 = (state[e, 0], state[e, 1], state[e, 2], state[e, 3],
                                  state[e, 4], state[e, 5])
        acc0 = partial[c]
        acc1 = partial[e]
        p = filled
        k = 0
        i = 0
        while i < n:
            stop = min(n, i + hop - p)
            seg0 = r0[i:stop]
            seg1 = r1[i:stop]
            for j in range(stop - i):
                v = np.float64(seg0[j])
                y = ((b0 * v + b1 * v1 + b2 * v2) - a2 * y2) - a1 * y1
                u = ((c0 * y + c1 * y1 + c2 * y2) - d2 * u2) - d1 * u1
                v2, v1, y2, y1, u2, u1 = v1, v, y1, y, u1, u
                acc0 += u * u
                w = np.float64(seg1[j])
                z = ((b0 * w + b1 * w1 + b2 * w2) - a2 * z2) - a1 * z1
                t = ((c0 * z + c1 * z1 + c2 * z2) - d2 * t2) - d1 * t1
                w2, w1, z2, z1, t2, t1 = w1, w, z1, z, t1, t
                acc1 += t * t
            p += stop - i
            i = stop
            if p == hop:
                out[k] += weights[c] * acc0
                if e != c:
                    out[k] += weights[e] * acc1
                k += 1
                acc0 = 0.0
                acc1 = 0.0
                p = 0
        state[c, 0], state[c, 1], state[c, 2], state[c, 3], state[c, 4], state[c, 5] = (
            v1, v2, y1, y2, u1, u2)
        state[e, 0], state[e, 1], state[e, 2], state[e, 3], state[e, 4], state[e, 5] = (
            w1, w2, z1, z2, t1, t2)
        partial[c] = acc0
        partial[e] = acc1
    return p


# The samples are checked to be finite before they get here, so max reductions may vectorise.
@numba.njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _abs_max(x):  # pragma: no cover - compiled
    """Return the largest absolute value of a 1-D float32 array (0 if empty)."""
    top = np.float32(0.0)
    for i in range(x.size):
        v = abs(x[i])
        top = v if v > top else top
    return top


@numba.njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _interpolated_max(src, taps, out):  # pragma: no cover - compiled
    """Return max |y| of the 4x-interpolated values at the last src.size - 11 samples of src."""
    phases, width = taps.shape
    m = src.size - width + 1
    acc = out[:m]
    top = np.float32(0.0)
    for p in range(phases):
        # Vectorised over the outputs: every value sums its 12 products in the same order,
        # whichever block or chunk it falls in.
        acc[:] = 0.0
        for k in range(width):
            t = taps[p, k]
            window = src[k:k + m]
            for i in range(m):
                acc[i] += t * window[i]
        for i in range(m):
            v = abs(acc[i])
            top = v if v > top else top
    return top


@numba.njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz"})
def _peaks(x, history, taps, oversample, sample_peak, true_peak, chunk, gain):  # pragma: no cover
    """Update per-channel sample peaks and 4x-interpolated peaks of (channels, n) samples."""
    h = history.shape[1]
    n = x.shape[1]
    chunks = (n + chunk - 1) // chunk
    tops = np.empty(chunks, dtype=np.float32)
    out = np.empty(chunk, dtype=np.float32)
    head = np.empty(h + chunk, dtype=np.float32)  # the history, then the first chunk
    for c in range(x.shape[0]):
        row = x[c]
        for j in range(chunks):
            tops[j] = _abs_max(row[j * chunk:min(n, (j + 1) * chunk)])
        sp = max(sample_peak[c], np.float64(_abs_max(tops)))
        tp = true_peak[c]
        if oversample:
            # The result is max(true peak, sample peak): a chunk whose samples cannot beat that
            # is skipped, which leaves the maximum as if every value were computed.
            previous = _abs_max(history[c])
            for j in range(chunks):
                start = j * chunk
                stop = min(n, start + chunk)
                if max(tops[j], previous) * gain > max(tp, sp):
                    if start == 0:
                        head[:h] = history[c]
                        head[h:h + stop] = row[:stop]
                        src = head[:h + stop]
                    else:
                        src = row[start - h:stop]
                    tp = max(tp, np.float64(_interpolated_max(src, taps, out)))
                previous = tops[j]
        sample_peak[c] = sp
        true_peak[c] = tp
        if n >= h:
            history[c] = row[n - h:]
        else:
            history[c, :h - n] = history[c, n:].copy()
            history[c, h - n:] = row
    return None
