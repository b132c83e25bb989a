"""Package a track as VOD HLS with one AAC-LC rendition in fragmented MP4 segments.

A one-rung ladder (see :mod:`pipeline.ladder`, which writes the files). Layout under ``out_dir``::

    master.m3u8
    <rendition>/index.m3u8
    <rendition>/init.mp4
    <rendition>/seg_00001.m4s, seg_00002.m4s, ...

Every URI in the playlists is relative, so another layer can rewrite them (e.g. to signed URLs).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable

from pipeline.errors import ParameterError
from pipeline.ladder import HlsPackage, RenditionInfo, Rung, check_ladder, package_ladder

__all__ = ["HlsPackage", "RenditionInfo", "package_hls"]

SAMPLE_RATE = 48_000
AAC_LC = "mp4a.40.2"
MASTER = "master.m3u8"


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
    src_path : str or os.PathLike
        Audio file in any format FFmpeg decodes.
    out_dir : str or os.PathLike
        Folder for the package; created if missing.
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
