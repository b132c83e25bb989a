"""Package audio as HLS: the pipeline's public face for packaging, from one call to the parts.

One call decodes a file once and writes the whole package: :func:`package_ladder` (any ladder)
or :func:`package_hls` (one AAC-LC rendition). The parts, for callers that feed or split the
work themselves, are re-exported from the modules that do each job:

- :mod:`pipeline.rungs`: what each rendition encodes and how segments align (:class:`Rung`).
- :mod:`pipeline.playlists`: the package's file names, the playlists' text, :class:`HlsPackage`.
- :mod:`pipeline.fmp4`: the fragmented MP4 muxer and its segments.
- :mod:`pipeline.ladder`: :class:`LadderWriter`, every rung encoded at once from 48 kHz blocks.
- :mod:`pipeline.chunks`: a track encoded in chunks by any worker, and stitched.

Layout under ``out_dir``::

    master.m3u8
    <rendition>/index.m3u8
    <rendition>/init.mp4
    <rendition>/seg_00001.m4s, seg_00002.m4s, ...
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.chunks import Chunk, ChunkResult, encode_chunk, plan_chunks, stitch, timeline_samples
from pipeline.decode import StereoResampler, downmix_to_stereo, open_source
from pipeline.errors import ParameterError
from pipeline.ladder import LadderWriter
from pipeline.playlists import INIT, MASTER, PLAYLIST, HlsPackage, RenditionInfo, check_session_data
from pipeline.rungs import (
    CODECS,
    DEFAULT_LADDER,
    FLAC_RUNG,
    SAMPLE_RATE,
    Rung,
    check_ladder,
    timeline_priming,
)

__all__ = [
    "CODECS",
    "DEFAULT_LADDER",
    "FLAC_RUNG",
    "INIT",
    "MASTER",
    "PLAYLIST",
    "SAMPLE_RATE",
    "Chunk",
    "ChunkResult",
    "HlsPackage",
    "LadderWriter",
    "RenditionInfo",
    "Rung",
    "check_ladder",
    "encode_chunk",
    "package_hls",
    "package_ladder",
    "plan_chunks",
    "stitch",
    "timeline_priming",
    "timeline_samples",
]


def package_hls(
    src_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    bitrate: int = 128_000,
    segment_s: float = 6.0,
    rendition: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> HlsPackage:
    """Transcode an audio file to one AAC-LC rendition and write it as VOD HLS (fMP4).

    The source is decoded in blocks, mixed down to stereo (mono is duplicated to both
    channels, surround mixed by ITU-R BS.775), resampled to 48 kHz, encoded with FFmpeg's
    native AAC encoder and cut into segments: memory stays flat however long the track is.
    Files of an earlier run in the rendition's folder are replaced.

    Parameters
    ----------
    src_path, out_dir : str or os.PathLike
        As for :func:`package_ladder`.
    bitrate : int > 0
        Encoder bit rate in bits/s.
    segment_s : float > 0
        Target segment duration in seconds. Segments hold a whole number of AAC frames (1024
        samples, 21.3 ms) and never outlast it; the last one may be short.
    rendition : str, optional
        Rendition name and folder; default ``f"aac_{bitrate // 1000}k"``.
    progress : callable, optional
        Called with the fraction decoded so far, from 0.0 to 1.0 (in steps of about 1 %
        when the source's duration is known, otherwise only 0.0 and 1.0).

    Returns
    -------
    HlsPackage
        Relative paths of the master playlist and of every file of the rendition, segment
        durations (s), measured bandwidths (bits/s) and the source duration (s).

    Raises
    ------
    ParameterError
        If ``bitrate``, ``segment_s`` or ``rendition`` is invalid (checked before any work).
    EmptyAudioError
        The source file has 0 bytes.
    NotAudioError
        The source has no audio stream, or it cannot be decoded (truncated or corrupt).
    """
    if isinstance(bitrate, bool) or not isinstance(bitrate, numbers.Integral) or bitrate <= 0:
        raise ParameterError(f"bitrate must be a positive integer (bits/s), got {bitrate!r}")
    name = f"aac_{int(bitrate) // 1000}k" if rendition is None else rendition
    rung = Rung(name, "aac", int(bitrate))
    check_ladder((rung,), segment_s)
    return package_ladder(src_path, out_dir, rungs=(rung,), segment_s=segment_s, progress=progress)


def package_ladder(
    src_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    rungs: Sequence[Rung] = DEFAULT_LADDER,
    segment_s: float = 6.0,
    progress: Callable[[float], None] | None = None,
    on_file: Callable[[str, Path], None] | None = None,
    session_data: dict[str, str] | None = None,
) -> HlsPackage:
    """Decode a file once and package it as a 48 kHz stereo HLS ladder.

    Decode -> :func:`~pipeline.decode.downmix_to_stereo` -> 48 kHz
    (:class:`~pipeline.decode.StereoResampler`) -> :class:`LadderWriter`, in blocks.

    Parameters
    ----------
    src_path : str or os.PathLike
        Audio file in any format FFmpeg decodes.
    out_dir : str or os.PathLike
        Folder for the package; created if missing.
    rungs, segment_s, on_file, session_data
        As for :class:`LadderWriter`.
    progress : callable, optional
        Called with the fraction decoded so far, from 0.0 to 1.0 (about every 1 % when the
        source declares its duration, otherwise only 0.0 and 1.0).

    Returns
    -------
    HlsPackage
        With ``duration_s`` the duration of the decoded source and ``samples`` the number of
        its samples once resampled to 48 kHz.

    Raises
    ------
    ParameterError
        If a parameter is invalid (checked before any work).
    EmptyAudioError
        The source file has 0 bytes.
    NotAudioError
        The source has no audio stream, or it cannot be decoded (truncated or corrupt).
    """
    check_ladder(rungs, segment_s)
    session = check_session_data(session_data)
    report = _Progress(progress)
    report.send(0.0)
    with open_source(src_path) as source:
        info = source.info
        expected = info.duration_s
        resampler = StereoResampler(info.sample_rate, SAMPLE_RATE)
        decoded = 0
        with LadderWriter(
            out_dir, rungs=rungs, segment_s=segment_s, on_file=on_file, session_data=session
        ) as writer:
            for block in source.blocks():
                decoded += block.shape[1]
                writer.write(resampler.process(downmix_to_stereo(block, info.channel_names)))
                if expected:
                    report.send(decoded / info.sample_rate / expected)
            writer.write(resampler.flush())
            package = writer.finish()
    report.send(1.0)
    return HlsPackage(
        master=package.master,
        duration_s=decoded / info.sample_rate,
        renditions=package.renditions,
        priming_samples=package.priming_samples,
        samples=package.samples,
    )


class _Progress:
    """Forward fractions to the caller's callback, at most once per percent."""

    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self._callback = callback
        self._last = -1.0

    def send(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self._callback is None:
            return
        ends = fraction in (0.0, 1.0) and fraction != self._last
        if ends or fraction >= self._last + 0.01:
            self._last = fraction
            self._callback(fraction)
