"""The files of an HLS package: their names, the playlists' text, the records that describe them.

Layout under a package's folder::

    master.m3u8
    <rung>/index.m3u8
    <rung>/init.mp4
    <rung>/seg_00001.m4s, seg_00002.m4s, ...

Every URI in the playlists is relative, so another layer can rewrite them (e.g. to signed URLs).
Media playlists are EVENT playlists while segments are still coming and VOD playlists with
``EXT-X-ENDLIST`` once the last one is written; bandwidths are measured from the real segments.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ParameterError
from pipeline.rungs import CODECS, Rung

__all__ = [
    "INIT",
    "MASTER",
    "PLAYLIST",
    "SEGMENT",
    "HlsPackage",
    "RenditionInfo",
    "check_session_data",
    "master_playlist",
    "media_playlist",
    "remove_outputs",
    "rendition_info",
    "segment_name",
    "target_duration",
    "write_text",
]

MASTER = "master.m3u8"
PLAYLIST = "index.m3u8"
INIT = "init.mp4"
SEGMENT = re.compile(r"seg_\d{5}\.m4s")
_DATA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def segment_name(number: int) -> str:
    """File name of segment ``number`` (segments count from 1): ``seg_00001.m4s``."""
    return f"seg_{number:05d}.m4s"


@dataclass(frozen=True, slots=True)
class RenditionInfo:
    """One rendition of an HLS package; paths are relative to the package's directory.

    Attributes
    ----------
    name : str
        Rendition name, also its folder, e.g. ``"aac_128k"``.
    codec : str
        RFC 6381 codec string: ``"mp4a.40.2"`` (AAC-LC) or ``"fLaC"``.
    bitrate : int or None
        Target bit rate of the encoder, in bits/s; ``None`` for FLAC.
    bandwidth : int
        Peak bit rate (bits/s): the highest of any run of consecutive segments lasting 0.5 to
        1.5 target durations (RFC 8216bis), never below ``average_bandwidth``.
    average_bandwidth : int
        Total segment bytes * 8 / total duration, in bits/s.
    playlist : str
        Media playlist, e.g. ``"aac_128k/index.m3u8"``.
    init : str
        Initialisation segment, e.g. ``"aac_128k/init.mp4"``.
    segments : tuple of str
        Media segments in play order, e.g. ``("aac_128k/seg_00001.m4s", ...)``.
    segment_durations : tuple of float
        Duration of each segment in seconds, as written in the playlist (EXTINF).
    """

    name: str
    codec: str
    bitrate: int | None
    bandwidth: int
    average_bandwidth: int
    playlist: str
    init: str
    segments: tuple[str, ...]
    segment_durations: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class HlsPackage:
    """An HLS package.

    Attributes
    ----------
    master : str
        Master playlist, relative to the package's directory: ``"master.m3u8"``.
    duration_s : float
        Duration of the audio (s): the decoded source for :func:`package_ladder`, the samples
        written for :meth:`LadderWriter.finish`.
    renditions : tuple of RenditionInfo
        The renditions the master playlist lists, in ladder order.
    priming_samples : int
        Samples (at the renditions' rate, 48 kHz) before the first sample of the audio on every
        rendition's timeline: the AAC encoder's priming, which a FLAC rung is fed as silence
        (:func:`timeline_priming`).
    samples : int or None
        Samples of the audio that follow the priming, exactly; what comes after them is the
        padding of the last AAC frame. ``None`` when unknown (a package stitched from chunks
        that did not report where their audio ends).
    """

    master: str
    duration_s: float
    renditions: tuple[RenditionInfo, ...]
    priming_samples: int
    samples: int | None


def target_duration(segment_samples: int, sample_rate: int) -> int:
    """The playlists' EXT-X-TARGETDURATION (s) for segments of ``segment_samples``."""
    return math.ceil(round(segment_samples / sample_rate, 6))


def rendition_info(
    rung: Rung, segments: Sequence[tuple[str, int, int]], *, sample_rate: int, target_s: int
) -> RenditionInfo:
    """Describe a rendition from its segments: ``(file name, samples, bytes)`` in play order."""
    name = rung.name
    durations = [samples / sample_rate for _, samples, _ in segments]
    sizes = [size for _, _, size in segments]
    average = sum(sizes) * 8 / sum(durations)
    peak = max(average, _peak_bit_rate(sizes, durations, target_s))
    return RenditionInfo(
        name=name,
        codec=CODECS[rung.codec],
        bitrate=rung.bitrate,
        bandwidth=math.ceil(peak),
        average_bandwidth=math.ceil(average),
        playlist=f"{name}/{PLAYLIST}",
        init=f"{name}/{INIT}",
        segments=tuple(f"{name}/{s}" for s, _, _ in segments),
        segment_durations=tuple(round(d, 6) for d in durations),
    )


def media_playlist(
    segments: Sequence[tuple[str, int, int]], *, sample_rate: int, target_s: int, final: bool
) -> str:
    """Return a media playlist: EVENT while segments are still coming, VOD when ``final``."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target_s}",
        "#EXT-X-MEDIA-SEQUENCE:1",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if final else 'EVENT'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{INIT}"',
    ]
    for name, samples, _ in segments:
        lines += [f"#EXTINF:{samples / sample_rate:.6f},", name]
    if final:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(
    renditions: Sequence[RenditionInfo], *, session_data: dict[str, str] | None = None
) -> str:
    """Return the master playlist listing ``renditions`` with their measured bandwidths."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for data_id, value in check_session_data(session_data).items():
        lines.append(f'#EXT-X-SESSION-DATA:DATA-ID="{data_id}",VALUE="{value}"')
    for r in renditions:
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},"
            f'AVERAGE-BANDWIDTH={r.average_bandwidth},CODECS="{r.codec}"',
            r.playlist,
        ]
    return "\n".join(lines) + "\n"


def _peak_bit_rate(sizes: list[int], durations: list[float], target_s: int) -> float:
    """Highest bit rate of a run of consecutive segments lasting 0.5-1.5 target durations."""
    peak = 0.0
    for i in range(len(sizes)):
        total_bytes = 0
        total_s = 0.0
        for j in range(i, len(sizes)):
            total_bytes += sizes[j]
            total_s += durations[j]
            if total_s > 1.5 * target_s:
                break
            if total_s >= 0.5 * target_s:
                peak = max(peak, total_bytes * 8 / total_s)
    return peak


def check_session_data(data: dict[str, str] | None) -> dict[str, str]:
    """Validate DATA-IDs; make each VALUE a legal quoted string (no '"', CR or LF)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"session_data must be a dict of str to str, got {data!r}")
    checked = {}
    for key, value in data.items():
        if not isinstance(key, str) or not _DATA_ID.fullmatch(key):
            raise ParameterError(
                f"session_data DATA-ID must be letters, digits, '_', '.', '-' "
                f"(e.g. 'com.veza.loudness'), got {key!r}"
            )
        if not isinstance(value, str):
            raise ParameterError(f"session_data[{key!r}] must be a str, got {value!r}")
        checked[key] = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return checked


def write_text(path: Path, text: str) -> None:
    """Write via a temporary file so a reader never sees half a playlist."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def remove_outputs(folder: Path) -> None:
    """Delete a package's files from a rendition folder, leaving anything else alone."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name in (PLAYLIST, INIT, PLAYLIST + ".tmp") or SEGMENT.fullmatch(child.name):
            child.unlink()
