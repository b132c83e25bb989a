"""Decode an audio file once, in blocks, and bring the blocks to 48 kHz stereo for the ladder.

Every later stage (analysis, encoding) consumes the same stream of planar float32 blocks, so
memory stays flat however long the track is::

    with open_source(path) as source:
        resampler = StereoResampler(source.info.sample_rate)
        for block in source.blocks():
            stereo = resampler.process(downmix_to_stereo(block, source.info.channel_names))
            ...
        tail = resampler.flush()

Why one module of ~500 lines: opening, decoding, checking (NaN, length against the header),
converting sample formats, downmixing and resampling are the steps of one stream of blocks,
and the checks depend on state the decoder keeps (samples seen, the first frame's layout).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from pipeline.errors import NotAudioError, ParameterError
from pipeline.probe import (
    check_length,
    check_supported,
    clock,
    counted,
    declared_duration,
    decoded_frames,
    length_slack,
    open_audio,
    too_long,
)

__all__ = ["Source", "SourceInfo", "StereoResampler", "downmix_to_stereo", "open_source"]

# FFmpeg's default layout for a channel count, for files that do not name their channels.
_DEFAULT_LAYOUTS = {
    1: "mono",
    2: "stereo",
    3: "2.1",
    4: "quad",
    5: "5.0(side)",
    6: "5.1(side)",
    7: "6.1",
    8: "7.1",
}

_M3DB = float(np.sqrt(0.5))  # -3 dB, ITU-R BS.775
# (left, right) gain of each FFmpeg channel name in the stereo downmix (ITU-R BS.775-3 Table 2,
# extended to the other common names the same way: centre and surrounds at -3 dB, LFE dropped).
_DOWNMIX: dict[str, tuple[float, float]] = {
    "FL": (1.0, 0.0),
    "FR": (0.0, 1.0),
    "DL": (1.0, 0.0),
    "DR": (0.0, 1.0),
    "FC": (_M3DB, _M3DB),
    "LFE": (0.0, 0.0),
    "LFE2": (0.0, 0.0),
    "BL": (_M3DB, 0.0),
    "BR": (0.0, _M3DB),
    "SL": (_M3DB, 0.0),
    "SR": (0.0, _M3DB),
    "FLC": (_M3DB, 0.0),
    "FRC": (0.0, _M3DB),
    "BC": (0.5, 0.5),
    "TC": (0.5, 0.5),
    "TFL": (_M3DB, 0.0),
    "TFR": (0.0, _M3DB),
    "TFC": (0.5, 0.5),
    "TBL": (_M3DB, 0.0),
    "TBR": (0.0, _M3DB),
    "TBC": (0.5, 0.5),
}
# A channel with any other name is spread equally to both sides at -6 dB (-3 dB in power).
_UNKNOWN = (0.5, 0.5)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The audio stream of an opened source.

    Attributes
    ----------
    format_name : str
        FFmpeg's name of the container format, e.g. ``"wav"``.
    codec : str
        FFmpeg's name of the audio codec, e.g. ``"pcm_s24le"``, ``"mp3"``.
    sample_rate : int
        Sample rate of the blocks, in Hz.
    channels : int
        Number of channels of the blocks.
    channel_names : tuple of str
        FFmpeg's name of each channel, in block order, e.g. ``("FL", "FR", "FC", "LFE", "BL",
        "BR")``. Files that do not name their channels get FFmpeg's default layout.
    duration_s : float or None
        Duration declared by the file's header, in seconds; ``None`` when it does not say.
    bit_rate : int or None
        Declared bit rate in bits/s, ``None`` when unknown.
    duration_counted : bool
        Whether ``duration_s`` counts the samples (FLAC, WAV, MP4, ...) rather than estimates
        them from the bit rate (MP3, ADTS AAC): decoding then holds the data to it.
    """

    format_name: str
    codec: str
    sample_rate: int
    channels: int
    channel_names: tuple[str, ...]
    duration_s: float | None
    bit_rate: int | None
    duration_counted: bool = False


class Source:
    """An opened audio file; use :func:`open_source` to make one, as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._container, self._stream = open_audio(path)
        try:
            self.info, self._layout = _describe(self._container, self._stream)
        except BaseException:
            self._container.close()
            raise
        self._started = False

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; blocks() cannot be read afterwards."""
        self._container.close()

    def blocks(self, *, block_frames: int = 65536, max_duration_s: float | None = None
               ) -> Iterator[np.ndarray]:
        """Decode the whole audio stream, in blocks.

        Whatever the header says, decoding stops as soon as the data passes ``max_duration_s``;
        where the header counts the samples (``info.duration_counted``), data that goes on well
        past the declared length, or ends well before it, is refused as damaged.

        Parameters
        ----------
        block_frames : int > 0
            Samples per channel in each block; only the last block may be shorter.
        max_duration_s : float > 0, optional
            Longest audio decoded, in seconds.

        Yields
        ------
        block : np.ndarray [shape=(channels, n)], float32
            C-contiguous planar samples at ``info.sample_rate`` in ``info.channel_names``
            order, nominally in [-1, 1]. A stream that changes rate or layout midway (e.g.
            joined MP3s) is converted to the first rate and layout.

        Raises
        ------
        ParameterError
            If ``block_frames`` is not a positive integer.
        NotAudioError
            If the stream cannot be decoded, holds no sound at all, holds NaN or infinite
            samples (a broken float export), or breaks its header's count; the message says
            where.
        UnsupportedAudioError
            If the audio goes on past ``max_duration_s`` (code ``too_long``).
        RuntimeError
            If called a second time: a source is decoded once.
        """
        if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames <= 0:
            raise ParameterError(f"block_frames must be a positive integer, got {block_frames!r}")
        if max_duration_s is not None and not max_duration_s > 0:
            raise ParameterError(f"max_duration_s must be positive, got {max_duration_s!r}")
        if self._started:
            raise RuntimeError("a Source is decoded once: blocks() was already called")
        self._started = True
        return self._blocks(block_frames, max_duration_s)

    def seek_blocks(self, begin: int) -> Iterator[np.ndarray] | None:
        """Seek to sample ``begin`` and yield planar blocks from exactly there.

        Returns None where the demuxer cannot land at or before ``begin`` with an exact
        timestamp (the caller then decodes from the start). The blocks are the decoder's own
        frames, at the source's rate and layout, without the checks of :meth:`blocks`.
        """
        container = self._container
        stream = self._stream
        rate = self.info.sample_rate
        channels = self.info.channels
        base = stream.time_base
        start_pts = stream.start_time or 0
        if base is None:
            return None
        try:
            container.seek(start_pts + int(Fraction(begin, rate) / base), stream=stream,
                           backward=True)
        except av.FFmpegError:
            return None
        frames = container.decode(stream)
        first = next(frames, None)
        if first is None or first.pts is None or first.samples == 0:
            return None
        at = round((first.pts - start_pts) * base * rate)
        if at > begin or first.layout.nb_channels != channels or first.sample_rate != rate:
            return None

        def blocks() -> Iterator[np.ndarray]:
            position = at
            frame: av.AudioFrame | None = first
            while frame is not None:
                planar = _planar_float32(frame)
                n = planar.shape[1]
                if position + n > begin:
                    yield np.ascontiguousarray(planar[:, max(0, begin - position):])
                position += n
                frame = next(frames, None)

        return blocks()

    def _blocks(self, block_frames: int, max_duration_s: float | None) -> Iterator[np.ndarray]:
        info = self.info
        layout = self._layout
        rate = info.sample_rate
        declared = info.duration_s if info.duration_counted else None
        # Samples past which decoding stops: the limit, and a counted header's promise.
        limit = np.inf if max_duration_s is None else max_duration_s * rate
        promised = np.inf if declared is None else (declared + length_slack(declared)) * rate
        block = np.empty((info.channels, block_frames), np.float32)
        filled = 0
        total = 0
        for chunk in self._planar_chunks(layout):
            n = chunk.shape[1]
            # A sum is finite exactly when every sample is (audio never nears float32's
            # range), so the common case costs one pass; locate the bad sample only on failure.
            if not np.isfinite(chunk.sum(dtype=np.float64)):
                bad = int(np.flatnonzero(~np.isfinite(chunk).all(axis=0))[0])
                raise NotAudioError(f"the audio holds NaN or infinite samples at "
                                    f"{clock((total + bad) / info.sample_rate)}")
            total += n
            if total > promised:
                assert declared is not None
                check_length(declared, total / rate, ended=False)
            if total > limit:
                assert max_duration_s is not None
                raise too_long(max_duration_s)
            start = 0
            while start < n:
                take = min(block_frames - filled, n - start)
                block[:, filled : filled + take] = chunk[:, start : start + take]
                filled += take
                start += take
                if filled == block_frames:
                    yield block
                    block = np.empty((info.channels, block_frames), np.float32)
                    filled = 0
        if total == 0:
            raise NotAudioError("truncated or corrupt audio: the audio stream holds no sound")
        if declared is not None:
            check_length(declared, total / rate, ended=True)
        if filled:
            yield np.ascontiguousarray(block[:, :filled])

    def _planar_chunks(self, layout: str) -> Iterator[np.ndarray]:
        """Yield each decoded frame as planar float32 at the source's rate and layout."""
        rate = self.info.sample_rate
        resampler: av.AudioResampler | None = None
        shape: tuple[str, int] | None = None
        for frame in decoded_frames(self._container, self._stream):
            planar = _planar_float32(frame)
            frame_layout = _named_layout(frame.layout)
            if frame_layout == layout and frame.sample_rate == rate:
                yield planar
                continue
            # A stream may change rate or layout midway (e.g. joined MP3s): convert to the first.
            if resampler is None or (frame_layout, frame.sample_rate) != shape:
                if resampler is not None:
                    yield from _arrays(resampler.resample(None))
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                shape = (frame_layout, frame.sample_rate)
            named = av.AudioFrame.from_ndarray(planar, format="fltp", layout=frame_layout)
            named.sample_rate = frame.sample_rate
            yield from _arrays(resampler.resample(named))
        if resampler is not None:
            yield from _arrays(resampler.resample(None))


def open_source(path: str | os.PathLike[str]) -> Source:
    """Open an audio file for decoding in blocks.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file in any format FFmpeg decodes (mp3, flac, wav, aiff, ogg, opus, m4a, ...).

    Returns
    -------
    Source
        ``.info`` describes the stream; ``.blocks()`` decodes it. Use it as a context manager.

    Raises
    ------
    EmptyAudioError
        The file has 0 bytes.
    NotAudioError
        The file has no audio stream or an unrecognised format.
    FileNotFoundError
        The file does not exist.
    """
    return Source(path)


def downmix_to_stereo(block: np.ndarray, channel_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Mix a block down to stereo with the ITU-R BS.775 coefficients.

    Left = FL + 0.7071 FC + 0.7071 (BL or SL), right likewise; LFE is dropped. Mono is copied
    to both channels; stereo is returned unchanged. Channels without a known position are
    spread to both sides at 0.5. The result is not normalised, as FFmpeg's float downmix
    (``-ac 2``) is not: a loud 5.1 mix may exceed 1.0, which float AAC carries without
    clipping and the track gain (never above -1 dBTP) brings down at playback; normalising
    per block would pump, and per track would need a second pass.

    Parameters
    ----------
    block : np.ndarray [shape=(channels, n)], float32
        Planar samples.
    channel_names : sequence of str
        FFmpeg's name of each channel (``SourceInfo.channel_names``).

    Returns
    -------
    stereo : np.ndarray [shape=(2, n)], float32
        C-contiguous planar stereo.

    Raises
    ------
    ParameterError
        If the block is not 2-D float32 or does not have one row per channel name.
    """
    if not isinstance(block, np.ndarray) or block.ndim != 2 or block.dtype != np.float32:
        raise ParameterError("block must be a float32 array of shape (channels, n)")
    names = tuple(channel_names)
    if block.shape[0] != len(names) or not names:
        raise ParameterError(
            f"block has {block.shape[0]} channels but channel_names names {len(names)}"
        )
    if len(names) == 1:
        return np.ascontiguousarray(np.broadcast_to(block, (2, block.shape[1])))
    if [_DOWNMIX.get(name) for name in names] == [(1.0, 0.0), (0.0, 1.0)]:
        return np.ascontiguousarray(block)
    matrix = np.array([_DOWNMIX.get(name, _UNKNOWN) for name in names], np.float32).T
    return np.ascontiguousarray(matrix @ block)


class StereoResampler:
    """Resample planar stereo blocks, keeping the filter state between blocks.

    Uses FFmpeg's swresample with its default settings (as ``ffmpeg -ar``), so the output
    does not depend on how the input is cut into blocks.

    Parameters
    ----------
    in_rate : int > 0
        Sample rate of the input blocks, in Hz.
    out_rate : int > 0
        Sample rate of the output blocks, in Hz.
    """

    def __init__(self, in_rate: int, out_rate: int = 48_000) -> None:
        for name, value in (("in_rate", in_rate), ("out_rate", out_rate)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ParameterError(f"{name} must be a positive integer (Hz), got {value!r}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._resampler = (
            None
            if in_rate == out_rate
            else av.AudioResampler(format="fltp", layout="stereo", rate=out_rate)
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample one block.

        Parameters
        ----------
        block : np.ndarray [shape=(2, n)], float32
            Planar stereo at ``in_rate``.

        Returns
        -------
        np.ndarray [shape=(2, m)], float32
            Planar stereo at ``out_rate``; ``m`` may be 0 while the filter fills.
        """
        if not isinstance(block, np.ndarray) or block.shape[:1] != (2,) or block.ndim != 2:
            raise ParameterError("block must be a float32 array of shape (2, n)")
        if block.dtype != np.float32:
            raise ParameterError(f"block must be float32, got {block.dtype}")
        if self._resampler is None:
            return np.ascontiguousarray(block)
        if block.shape[1] == 0:
            return np.empty((2, 0), np.float32)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block), format="fltp", layout="stereo"
        )
        frame.sample_rate = self.in_rate
        return _joined(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """Return the samples still held in the filter; call once, after the last block."""
        if self._resampler is None:
            return np.empty((2, 0), np.float32)
        return _joined(self._resampler.resample(None))


def _describe(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> tuple[SourceInfo, str]:
    """Describe the stream; also return the FFmpeg layout name of its channels."""
    ctx = stream.codec_context
    channels = int(ctx.channels or 0)
    rate = int(ctx.sample_rate or 0)
    if channels <= 0 or rate <= 0:
        raise NotAudioError("audio stream cannot be decoded: no sample rate or channel count")
    check_supported(sample_rate=rate, channels=channels)
    if ctx.layout.nb_channels == channels:
        layout_name = _named_layout(ctx.layout)
    elif channels in _DEFAULT_LAYOUTS:
        layout_name = _DEFAULT_LAYOUTS[channels]
    else:
        raise NotAudioError(f"audio stream cannot be decoded: {channels} unnamed channels")
    bit_rate = ctx.bit_rate or container.bit_rate or None
    names = tuple(c.name for c in av.AudioLayout(layout_name).channels)
    info = SourceInfo(
        format_name=container.format.name,
        codec=ctx.codec.canonical_name,
        sample_rate=rate,
        channels=channels,
        channel_names=names,
        duration_s=declared_duration(container, stream),
        bit_rate=int(bit_rate) if bit_rate else None,
        duration_counted=counted(container.format.name),
    )
    return info, layout_name


def _named_layout(layout: av.AudioLayout) -> str:
    """FFmpeg's name of a layout; FFmpeg's default for one whose channels have no names."""
    if not any(c.name in ("NONE", "") or c.name.startswith("USR") for c in layout.channels):
        return str(layout.name)
    if layout.nb_channels not in _DEFAULT_LAYOUTS:
        raise NotAudioError(
            f"audio stream cannot be decoded: {layout.nb_channels} channels without names"
        )
    return _DEFAULT_LAYOUTS[layout.nb_channels]


# Full scale of each integer sample format, for the conversion to float.
_SCALES = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


def _planar_float32(frame: av.AudioFrame) -> np.ndarray:
    """The frame's samples as C-contiguous float32 [shape=(channels, n)], whatever the format."""
    array = frame.to_ndarray()
    fmt = frame.format
    if not fmt.is_planar:
        # Packed samples come as one row of interleaved values.
        array = array.reshape(-1, frame.layout.nb_channels).T
    name = fmt.name.rstrip("p")
    if name == "u8":
        out = (array.astype(np.float32) - 128.0) / 128.0
    elif name in _SCALES:
        out = array.astype(np.float32) * np.float32(1.0 / _SCALES[name])
    else:
        out = array.astype(np.float32, copy=False)
    return np.ascontiguousarray(out)


def _arrays(frames: list[av.AudioFrame]) -> Iterator[np.ndarray]:
    for frame in frames:
        if frame.samples:
            yield frame.to_ndarray()


def _joined(frames: list[av.AudioFrame]) -> np.ndarray:
    arrays = [frame.to_ndarray() for frame in frames if frame.samples]
    if not arrays:
        return np.empty((2, 0), np.float32)
    if len(arrays) == 1:
        return np.ascontiguousarray(arrays[0])
    return np.concatenate(arrays, axis=1)
