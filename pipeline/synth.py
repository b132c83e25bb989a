"""Deterministic music-like signals for tests and demos, and a plain WAV writer."""

from __future__ import annotations

import os
import wave

import numpy as np

from pipeline.errors import ParameterError

__all__ = ["music", "write_wav"]

_PEAK = 10 ** (-3 / 20)  # -3 dBFS

# Chord progressions as semitone offsets of the chord roots from the key's tonic (one bar each).
_PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 5), (9, 5, 0, 7), (0, 9, 5, 7))
_MAJOR, _MINOR = (0, 4, 7), (0, 3, 7)


def music(
    *,
    duration_s: float,
    sample_rate: int = 44100,
    channels: int = 2,
    bpm: float = 120.0,
    seed: int = 0,
) -> np.ndarray:
    """Synthesise a short piece of music: chords, bass, kick and hi-hat at a steady tempo.

    The same arguments always give the same samples. Each bar of four beats plays one chord of
    a four-chord progression (three voices with a few harmonics), a plucked bass on every beat,
    a kick on every beat and a hi-hat on every off-beat. Channels differ slightly (detuning and
    hi-hat panning). The peak is -3 dBFS.

    Parameters
    ----------
    duration_s : float > 0
        Length in seconds.
    sample_rate : int > 0
        Sample rate in Hz.
    channels : int > 0
        Number of channels.
    bpm : float > 0
        Tempo in beats per minute.
    seed : int
        Chooses the key, the progression and the hi-hat noise.

    Returns
    -------
    y : np.ndarray [shape=(channels, n)], float32
        Planar samples in [-1, 1], ``n = round(duration_s * sample_rate)``.

    Raises
    ------
    ParameterError
        If an argument is out of range.
    """
    if not duration_s > 0 or not np.isfinite(duration_s):
        raise ParameterError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    if int(channels) != channels or channels <= 0:
        raise ParameterError(f"channels must be a positive integer, got {channels!r}")
    if not bpm > 0 or not np.isfinite(bpm):
        raise ParameterError(f"bpm must be a positive number, got {bpm!r}")
    n = round(duration_s * sample_rate)
    if n == 0:
        raise ParameterError(f"duration_s={duration_s!r} is shorter than one sample")
    return _render(n, int(sample_rate), int(channels), float(bpm), int(seed))


def _render(n: int, sr: int, channels: int, bpm: float, seed: int) -> np.ndarray:
    """Render the piece: phases accumulate in float64, samples are float32."""
    rng = np.random.default_rng(seed)
    tonic = 220.0 * 2 ** (int(rng.integers(-4, 5)) / 12)  # A3 give or take a fourth
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]

    t = np.arange(n) / sr
    beat = 60.0 / bpm
    bar = np.minimum((t // (4 * beat)).astype(np.int64) % 4, 3)
    roots = tonic * 2 ** (np.asarray(progression, dtype=np.float64) / 12)
    root = roots[bar]
    # Chords on the 6th degree (9 semitones) are minor, the rest major.
    minor = (np.asarray(progression) == 9)[bar]
    t_beat = t % beat
    t_off = (t - beat / 2) % beat
    pluck = np.exp(-t_beat / 0.25).astype(np.float32)
    # Kick: a sine sweeping down from 150 Hz to 50 Hz; its phase is the integral of that sweep.
    kick_phase = 2 * np.pi * (50 * t_beat + 100 * 0.03 * (1 - np.exp(-t_beat / 0.03)))
    kick = np.sin(_wrap(kick_phase)) * np.exp(-t_beat / 0.12).astype(np.float32)
    hat_noise = np.diff(rng.standard_normal(n + 1, dtype=np.float32))  # a crude high-pass
    hat = hat_noise * (np.exp(-t_off / 0.025) * (t >= beat / 2)).astype(np.float32)

    pad = np.zeros(n, dtype=np.float32)
    for k in range(3):
        interval = np.where(minor, _MINOR[k], _MAJOR[k]) if k == 1 else _MAJOR[k]
        phase = _phase(root * 2 ** (np.asarray(interval) / 12), sr)
        s1, c1 = np.sin(phase), np.cos(phase)
        # Harmonics 2 and 3 by the multiple-angle formulas, cheaper than more sin() calls.
        pad += s1 + 0.4 * (2 * s1 * c1) + 0.2 * (3 * s1 - 4 * s1**3)
    phase = _phase(root / 2, sr)
    bass = (np.sin(phase) + 0.3 * np.sin(2 * phase)) * pluck

    out = np.empty((channels, n), dtype=np.float32)
    delay = max(1, round(0.0004 * sr))
    for c in range(channels):
        # Each further channel hears the chords a fraction of a millisecond later and the hi-hat
        # a little louder or softer: a slight, stable stereo image.
        d = min(c * delay, n)
        shifted = np.concatenate([np.zeros(d, np.float32), pad[: n - d]])
        hat_gain = 0.12 if c % 2 else 0.08
        out[c] = 0.08 * shifted + 0.35 * bass + 0.6 * kick + hat_gain * hat
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= np.float32(_PEAK / peak)
    return out


def _phase(freq: np.ndarray, sr: int) -> np.ndarray:
    """Running phase (rad) of a tone whose frequency (Hz) may change per sample, as float32."""
    return _wrap(2 * np.pi * np.cumsum(freq) / sr)


def _wrap(phase: np.ndarray) -> np.ndarray:
    """Reduce a float64 phase to [0, 2*pi) before float32, which would lose precision."""
    return np.mod(phase, 2 * np.pi).astype(np.float32)


def write_wav(
    path: str | os.PathLike[str], y: np.ndarray, *, sample_rate: int, bits: int = 16
) -> None:
    """Write planar float samples to a PCM WAV file.

    Parameters
    ----------
    path : str or os.PathLike
        File to create or overwrite.
    y : np.ndarray [shape=(channels, n) or (n,)], floating point
        Samples in [-1, 1]; values outside are clipped. A 1-D array is written as mono.
    sample_rate : int > 0
        Sample rate in Hz.
    bits : {16, 24}
        Bits per sample of the integer PCM written.

    Raises
    ------
    ParameterError
        If ``y`` is not a finite 1-D or 2-D float array, or ``sample_rate``/``bits`` is invalid.
    """
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if y.ndim != 2 or y.shape[0] == 0:
        raise ParameterError(f"y must have shape (channels, n) or (n,), got {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"y must hold floating-point samples, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y holds NaN or infinite samples")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    if bits not in (16, 24):
        raise ParameterError(f"bits must be 16 or 24, got {bits!r}")

    full_scale = 2 ** (bits - 1) - 1
    ints = np.round(np.clip(y, -1.0, 1.0) * full_scale).astype("<i4").T  # interleave: (n, ch)
    if bits == 16:
        data = ints.astype("<i2").tobytes()
    else:
        # Little-endian int32 -> keep the low three bytes of each sample.
        data = np.ascontiguousarray(ints).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(y.shape[0])
        w.setsampwidth(bits // 8)
        w.setframerate(int(sample_rate))
        w.writeframes(data)
