"""Streaming front end shared by the analysers: block checks, mono mix, resampling, spectrogram.

``MonoSpectrogram`` turns planar blocks at the source rate into power-spectrogram frames of the
mono mix at an analysis rate, exactly the frames ``librosa.stft(librosa.resample(to_mono(y)),
center=True)`` gives (``soxr`` HQ resampling, as librosa's default, carried across blocks). Several
analysers can share one instance through ``tap()`` so the mixing, resampling and FFTs happen once.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.signal
import soxr

from pipeline.errors import ParameterError

__all__ = [
    "MonoResampler",
    "MonoSpectrogram",
    "SpectrogramTap",
    "check_block",
    "front_end_for",
    "check_rate",
]


def check_rate(name: str, value: object) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_block(block: object, channels: int) -> np.ndarray:
    """Check one block of planar samples and return it.

    Parameters
    ----------
    block : np.ndarray [shape=(channels, n)], float32, C-contiguous
        Samples at the source rate; ``n`` may be 0.
    channels : int
        Number of channels the analyser was built for.

    Returns
    -------
    block : np.ndarray [shape=(channels, n)], float32
        The same array.

    Raises
    ------
    ParameterError
        If ``block`` is not a C-contiguous float32 array of shape ``(channels, n)``.
    """
    if not isinstance(block, np.ndarray):
        raise ParameterError(f"block must be a numpy array, got {type(block).__name__}")
    if block.dtype != np.float32:
        raise ParameterError(f"block must have dtype float32, got {block.dtype}")
    if block.ndim != 2 or block.shape[0] != channels:
        raise ParameterError(
            f"block must have shape (channels={channels}, n), got {block.shape}"
        )
    if not block.flags.c_contiguous:
        raise ParameterError("block must be C-contiguous (planar, one row per channel)")
    return block


def _mono(block: np.ndarray) -> np.ndarray:
    """Mean over channels, as ``librosa.to_mono``; (channels, n) float32 -> (n,) float32."""
    if block.shape[0] == 1:
        return block[0]
    return np.asarray(block.mean(axis=0, dtype=np.float32))


class MonoResampler:
    """Mix planar blocks to mono and resample them, carrying the filter state between blocks.

    The output equals ``librosa.resample(librosa.to_mono(y), orig_sr=sample_rate,
    target_sr=target_rate)`` (soxr HQ) for the whole signal, whatever the block lengths.

    Parameters
    ----------
    sample_rate : int > 0
        Source sample rate in Hz.
    channels : int > 0
        Number of source channels.
    target_rate : int > 0
        Output sample rate in Hz.
    """

    def __init__(self, *, sample_rate: int, channels: int, target_rate: int) -> None:
        self.sample_rate = check_rate("sample_rate", sample_rate)
        self.channels = check_rate("channels", channels)
        self.target_rate = check_rate("target_rate", target_rate)
        self._stream = (
            None
            if self.sample_rate == self.target_rate
            else soxr.ResampleStream(self.sample_rate, self.target_rate, 1, dtype="float32")
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        """Mix and resample one block.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, n)], float32, C-contiguous

        Returns
        -------
        y : np.ndarray [shape=(m,)], float32
            The next ``m`` mono samples at ``target_rate`` (``m`` may be 0; the resampler lags).
        """
        mono = _mono(check_block(block, self.channels))
        if self._stream is None:
            return mono.copy()
        return self._stream.resample_chunk(np.ascontiguousarray(mono))

    def flush(self) -> np.ndarray:
        """Return the samples still held by the resampler at the end of the input, (m,) float32."""
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)


class MonoSpectrogram:
    """Streaming power spectrogram of the mono mix at an analysis rate.

    Frames match ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, center=True,
    pad_mode="constant")) ** 2`` of the mixed and resampled signal ``y``: frame ``t`` is centred
    on analysis sample ``t * hop_length``, and there are ``1 + len(y) // hop_length`` in all.
    Only the last ``n_fft - hop_length`` samples are kept between blocks.

    Parameters
    ----------
    sample_rate : int > 0
        Source sample rate in Hz.
    channels : int > 0
        Number of source channels.
    analysis_rate : int > 0
        Rate in Hz the mono mix is resampled to before the STFT.
    n_fft : int > 0
        FFT length (and Hann window length) in analysis samples; even.
    hop_length : int > 0
        Hop between frames in analysis samples, at most ``n_fft``.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        analysis_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
    ) -> None:
        self.n_fft = check_rate("n_fft", n_fft)
        self.hop_length = check_rate("hop_length", hop_length)
        if self.n_fft % 2 or self.hop_length > self.n_fft:
            raise ParameterError(
                f"n_fft must be even and at least hop_length, got n_fft={n_fft!r}, "
                f"hop_length={hop_length!r}"
            )
        self._resampler = MonoResampler(
            sample_rate=sample_rate,
            channels=channels,
            target_rate=check_rate("analysis_rate", analysis_rate),
        )
        self.sample_rate = self._resampler.sample_rate
        self.channels = self._resampler.channels
        self.analysis_rate = self._resampler.target_rate
        self._window = scipy.signal.get_window("hann", self.n_fft, fftbins=True).astype(np.float32)
        self._buffer = np.zeros(self.n_fft // 2, np.float32)  # centre padding
        self.samples = 0  # analysis samples seen
        self.frames = 0  # frames produced
        self._blocks = 0
        self._last: np.ndarray | None = None
        self._last_shape: tuple[int, ...] = ()
        self._tail: np.ndarray | None = None

    def process(self, block: np.ndarray) -> np.ndarray:
        """Consume one block; return the frames it completes.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, n)], float32, C-contiguous

        Returns
        -------
        power : np.ndarray [shape=(1 + n_fft // 2, k)], float32
            Power spectra of the next ``k`` frames (``k`` may be 0).
        """
        if self._tail is not None:
            raise ParameterError("the spectrogram is already finished; no more blocks")
        return self._frames(self._resampler.process(block))

    def flush(self) -> np.ndarray:
        """Finish the input: return the remaining frames (``center=True`` zero padding).

        Returns
        -------
        power : np.ndarray [shape=(1 + n_fft // 2, k)], float32
        """
        if self._tail is None:
            tail = self._resampler.flush()
            self._tail = self._frames(tail, final=True)
        return self._tail

    def tap(self) -> SpectrogramTap:
        """Return a consumer handle; every tap is fed the same blocks and shares the frames."""
        return SpectrogramTap(self)

    def _frames(self, y: np.ndarray, *, final: bool = False) -> np.ndarray:
        self.samples += len(y)
        parts = [self._buffer, y]
        if final:
            parts.append(np.zeros(self.n_fft // 2, np.float32))
        buf = np.concatenate(parts)
        k = (len(buf) - self.n_fft) // self.hop_length + 1 if len(buf) >= self.n_fft else 0
        if final:
            # centre=True gives 1 + n // hop frames in all; the padded tail can hold one more.
            k = max(0, min(k, 1 + self.samples // self.hop_length - self.frames))
        self._buffer = buf[k * self.hop_length :].copy()
        self.frames += k
        if k == 0:
            return np.zeros((self.n_fft // 2 + 1, 0), np.float32)
        framed = np.lib.stride_tricks.sliding_window_view(buf, self.n_fft)[:: self.hop_length][:k]
        spectrum = np.fft.rfft(framed * self._window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        return np.ascontiguousarray(power.T, dtype=np.float32)


class SpectrogramTap:
    """One analyser's view of a shared ``MonoSpectrogram``.

    The first tap to be given block ``i`` computes its frames; the others get the same frames.
    Every tap must be fed the same blocks in the same order.
    """

    def __init__(self, source: MonoSpectrogram) -> None:
        self.source = source
        self._blocks = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Return the frames completed by this tap's next block, (1 + n_fft // 2, k) float32."""
        src = self.source
        if self._blocks == src._blocks:
            frames = src.process(block)
            src._blocks += 1
            src._last, src._last_shape = frames, block.shape
        elif self._blocks == src._blocks - 1 and src._last is not None:
            check_block(block, src.channels)
            if block.shape != src._last_shape:
                raise ParameterError(
                    f"analysers sharing a spectrogram must get the same blocks: got {block.shape}"
                    f", the others got {src._last_shape}"
                )
            frames = src._last
        else:
            raise ParameterError("analysers sharing a spectrogram must be fed blocks in step")
        self._blocks += 1
        return frames

    def flush(self) -> np.ndarray:
        """Return the final frames (computed once for all taps)."""
        if self._blocks != self.source._blocks:
            raise ParameterError("analysers sharing a spectrogram must be fed blocks in step")
        return self.source.flush()


def front_end_for(
    front_end: object | None,
    *,
    sample_rate: int,
    channels: int,
    analysis_rate: int,
    n_fft: int,
    hop_length: int,
) -> MonoSpectrogram:
    """Return the front end an analyser reads: a new one when ``front_end`` is None, else the
    shared one, after checking it has the settings the analyser asks for (ParameterError)."""
    if front_end is None:
        front_end = MonoSpectrogram(sample_rate=sample_rate, channels=channels,
                                    analysis_rate=analysis_rate, n_fft=n_fft,
                                    hop_length=hop_length)
    if not isinstance(front_end, MonoSpectrogram):
        raise ParameterError(
            f"front_end must be a MonoSpectrogram, got {type(front_end).__name__}"
        )
    wanted = {
        "sample_rate": check_rate("sample_rate", sample_rate),
        "channels": check_rate("channels", channels),
        "analysis_rate": check_rate("analysis_rate", analysis_rate),
        "n_fft": n_fft,
        "hop_length": check_rate("hop_length", hop_length),
    }
    for name, value in wanted.items():
        if getattr(front_end, name) != value:
            raise ParameterError(
                f"front_end has {name}={getattr(front_end, name)}, the analyser wants {value}"
            )
    return front_end
