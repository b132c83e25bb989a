"""Package a track as VOD HLS: AAC-LC in fragmented MP4 segments, with master and media playlists.

Layout written under ``out_dir``::

    master.m3u8
    <rendition>/index.m3u8
    <rendition>/init.mp4
    <rendition>/seg_00001.m4s, seg_00002.m4s, ...

Every URI in the playlists is relative, so another layer can rewrite them (e.g. to signed URLs).
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from pipeline.errors import NotAudioError, ParameterError
from pipeline.probe import _declared_duration, _decoded_frames, _open_audio

__all__ = ["HlsPackage", "RenditionInfo", "package_hls"]

SAMPLE_RATE = 48_000
AAC_LC = "mp4a.40.2"
MASTER = "master.m3u8"
_PLAYLIST = "index.m3u8"
_INIT = "init.mp4"
_SEGMENT = re.compile(r"seg_\d{5}\.m4s")
_RENDITION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_AAC_FRAME = 1024  # samples per AAC-LC frame
_PROGRESS_STEP = 0.01


@dataclass(frozen=True, slots=True)
class RenditionInfo:
    """One rendition of an HLS package; paths are relative to the package's directory.

    Attributes
    ----------
    name : str
        Rendition name, also its folder, e.g. ``"aac_128k"``.
    codec : str
        RFC 6381 codec string, ``"mp4a.40.2"`` (AAC-LC).
    bitrate : int
        Target bit rate of the encoder, in bits/s.
    bandwidth : int
        Peak bit rate over the segments (segment bytes * 8 / EXTINF duration), in bits/s.
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
    bitrate: int
    bandwidth: int
    average_bandwidth: int
    playlist: str
    init: str
    segments: tuple[str, ...]
    segment_durations: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class HlsPackage:
    """An HLS package written by :func:`package_hls`.

    Attributes
    ----------
    master : str
        Master playlist, relative to the package's directory: ``"master.m3u8"``.
    duration_s : float
        Duration of the decoded source audio, in seconds.
    renditions : tuple of RenditionInfo
        The renditions the master playlist lists.
    """

    master: str
    duration_s: float
    renditions: tuple[RenditionInfo, ...]


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

    The source is decoded, resampled to 48 kHz stereo (mono is duplicated to both channels),
    encoded with FFmpeg's native AAC encoder and cut into segments, frame by frame: memory
    stays flat however long the track is. Files of an earlier run in the rendition's folder
    are replaced.

    Parameters
    ----------
    src_path : str or os.PathLike
        Audio file in any format FFmpeg decodes.
    out_dir : str or os.PathLike
        Folder for the package; created if missing.
    bitrate : int > 0
        Encoder bit rate in bits/s.
    segment_s : float > 0
        Target segment duration in seconds. Segments end on AAC frame boundaries (1024
        samples, 21.3 ms), so they may be a frame longer; the last one may be short.
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
    if isinstance(segment_s, bool) or not isinstance(segment_s, numbers.Real):
        raise ParameterError(f"segment_s must be a number of seconds, got {segment_s!r}")
    if not (math.isfinite(segment_s) and segment_s > 0):
        raise ParameterError(f"segment_s must be a positive number of seconds, got {segment_s!r}")
    name = f"aac_{bitrate // 1000}k" if rendition is None else rendition
    if not _RENDITION.fullmatch(name):
        raise ParameterError(
            f"rendition must be a folder name of letters, digits, '_', '.', '-', got {name!r}"
        )

    out = Path(out_dir)
    rendition_dir = out / name
    rendition_dir.mkdir(parents=True, exist_ok=True)
    _remove_outputs(rendition_dir)
    report = _Progress(progress)
    report.send(0.0)
    try:
        duration_s = _transcode(src_path, rendition_dir, int(bitrate), float(segment_s), report)
        durations, segments = _read_media_playlist(rendition_dir / _PLAYLIST)
        _write_media_playlist(rendition_dir / _PLAYLIST, durations, segments)
        info = _rendition_info(name, int(bitrate), rendition_dir, durations, segments)
        _write_master(out / MASTER, (info,))
    except BaseException:
        # Leave no half-written package behind, nor an older master that points into it.
        _remove_outputs(rendition_dir)
        (out / MASTER).unlink(missing_ok=True)
        raise
    report.send(1.0)
    return HlsPackage(master=MASTER, duration_s=duration_s, renditions=(info,))


class _Progress:
    """Forward fractions to the caller's callback, at most once per step."""

    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self._callback = callback
        self._last = -1.0

    def send(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self._callback is None:
            return
        ends = fraction in (0.0, 1.0) and fraction != self._last
        if ends or fraction >= self._last + _PROGRESS_STEP:
            self._last = fraction
            self._callback(fraction)


def _transcode(
    src_path: str | os.PathLike[str],
    rendition_dir: Path,
    bitrate: int,
    segment_s: float,
    report: _Progress,
) -> float:
    """Decode, resample, encode and segment; return the decoded source duration in seconds."""
    container, stream = _open_audio(src_path)
    with container:
        expected = _declared_duration(container, stream)
        # '%' in the folder name would be read as a sequence-number pattern by the muxer.
        segment_pattern = str(rendition_dir).replace("%", "%%") + "/seg_%05d.m4s"
        options = {
            "hls_time": f"{segment_s:.6f}",
            "hls_list_size": "0",
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": _INIT,
            "hls_segment_filename": segment_pattern,
            "hls_flags": "independent_segments",
            "start_number": "1",
        }
        with av.open(str(rendition_dir / _PLAYLIST), "w", format="hls", options=options) as muxer:
            encoder = muxer.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
            encoder.bit_rate = bitrate
            time_base = Fraction(1, SAMPLE_RATE)
            resampler: av.AudioResampler | None = None
            resampler_input: tuple[str, str, int] | None = None
            decoded_s = 0.0  # running, for progress
            samples_by_rate: dict[int, int] = {}  # exact, for the returned duration
            written = 0

            # The encoder takes exactly 1024 samples per frame (only the last may be shorter),
            # whatever the resampler hands out.
            fifo = av.AudioFifo()

            def encode(frames: list[av.AudioFrame], *, last: bool = False) -> None:
                nonlocal written
                for frame in frames:
                    frame.pts = None
                    fifo.write(frame)
                while (chunk := fifo.read(_AAC_FRAME, partial=last)) is not None:
                    # Number samples ourselves: source timestamps can jump or be missing.
                    chunk.pts = written
                    chunk.time_base = time_base
                    written += chunk.samples
                    for packet in encoder.encode(chunk):
                        muxer.mux(packet)

            for frame in _decoded_frames(container, stream):
                shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                if resampler is None or shape != resampler_input:
                    # A stream may change rate or layout midway (e.g. joined MP3s).
                    if resampler is not None:
                        encode(resampler.resample(None))
                    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
                    resampler_input = shape
                decoded_s += frame.samples / frame.sample_rate
                rate = frame.sample_rate
                samples_by_rate[rate] = samples_by_rate.get(rate, 0) + frame.samples
                frame.pts = None
                encode(resampler.resample(frame))
                if expected:
                    report.send(decoded_s / expected)
            if resampler is None or decoded_s == 0:
                raise NotAudioError("truncated or corrupt audio: the audio stream holds no sound")
            encode(resampler.resample(None), last=True)
            for packet in encoder.encode(None):
                muxer.mux(packet)
    return sum(n / rate for rate, n in samples_by_rate.items())


def _read_media_playlist(path: Path) -> tuple[list[float], list[str]]:
    """Read the muxer's EXTINF durations (s) and segment URIs."""
    durations: list[float] = []
    segments: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            durations.append(float(line[len("#EXTINF:") :].split(",")[0]))
        elif line and not line.startswith("#"):
            if not _SEGMENT.fullmatch(line):
                raise RuntimeError(f"HLS muxer wrote an unexpected segment URI {line!r}")
            segments.append(line)
    if not segments or len(segments) != len(durations):
        raise RuntimeError(f"HLS muxer wrote an unreadable playlist {path}")
    return durations, segments


def _write_media_playlist(path: Path, durations: list[float], segments: list[str]) -> None:
    """Rewrite the media playlist: the muxer rounds TARGETDURATION down (6 s for 6.016 s)."""
    target = max(math.ceil(round(d, 6)) for d in durations)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{_INIT}"',
    ]
    for duration, segment in zip(durations, segments, strict=True):
        lines += [f"#EXTINF:{duration:.6f},", segment]
    lines.append("#EXT-X-ENDLIST")
    _write_text(path, "\n".join(lines) + "\n")


def _rendition_info(
    name: str, bitrate: int, rendition_dir: Path, durations: list[float], segments: list[str]
) -> RenditionInfo:
    sizes = [(rendition_dir / s).stat().st_size for s in segments]
    peak = max(size * 8 / d for size, d in zip(sizes, durations, strict=True) if d > 0)
    average = sum(sizes) * 8 / sum(durations)
    return RenditionInfo(
        name=name,
        codec=AAC_LC,
        bitrate=bitrate,
        bandwidth=math.ceil(peak),
        average_bandwidth=math.ceil(average),
        playlist=f"{name}/{_PLAYLIST}",
        init=f"{name}/{_INIT}",
        segments=tuple(f"{name}/{s}" for s in segments),
        segment_durations=tuple(durations),
    )


def _write_master(path: Path, renditions: tuple[RenditionInfo, ...]) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in renditions:
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},"
            f'AVERAGE-BANDWIDTH={r.average_bandwidth},CODECS="{r.codec}"',
            r.playlist,
        ]
    _write_text(path, "\n".join(lines) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write via a temporary file so a reader never sees half a playlist."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _remove_outputs(rendition_dir: Path) -> None:
    """Delete this module's files from a rendition folder, leaving anything else alone."""
    for child in rendition_dir.iterdir():
        if child.name in (_PLAYLIST, _INIT, _PLAYLIST + ".tmp") or _SEGMENT.fullmatch(child.name):
            child.unlink()
