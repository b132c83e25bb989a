"""Encode an adaptive-bitrate ladder into aligned fMP4 HLS, publishing files as they complete.

Layout written under ``out_dir``::

    master.m3u8
    <rung>/index.m3u8
    <rung>/init.mp4
    <rung>/seg_00001.m4s, seg_00002.m4s, ...

Design
------
Every rung gets its own thread, holding an encoder and FFmpeg's mp4 muxer in fragmented mode
(``empty_moov``, CMAF brands) that writes into a small Python sink; the sink splits the byte
stream at top-level boxes into the init segment (``ftyp`` + ``moov``) and one file per fragment
(``moof`` + ``mdat``). PyAV releases the GIL while encoding, so the rungs encode in parallel;
each thread takes blocks from a short bounded queue, so memory stays flat.

Alignment: the muxer cuts a fragment exactly when it reaches ``frag_duration``, which is set to a
whole number of codec frames common to every rung (1024-sample AAC frames; 4096-sample FLAC
frames when a FLAC rung is present). Every rung's timeline starts with the AAC encoder's priming
(1024 samples): AAC packets are shifted so the priming starts at 0, as FFmpeg's hls muxer does,
and the FLAC rung is fed the same 1024 samples of silence first, so the same media time holds the
same source sample in every rendition, and segment ``k`` starts at ``(k - 1) * segment_samples``
everywhere. Each fragment's ``tfdt`` is checked against that. The init segments carry no edit
list (``edts``), so decoders play the priming; :class:`HlsPackage` says how long it is and
exactly how many samples of audio follow it, for a gapless player to cut the priming and the
padding of the last AAC frame itself.

Files are published on the thread that calls :meth:`LadderWriter.write` or
:meth:`LadderWriter.finish`, in an order that is always safe for a player.
"""

from __future__ import annotations

import io
import math
import numbers
import os
import queue
import re
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from pipeline.decode import StereoResampler, downmix_to_stereo, open_source
from pipeline.errors import ParameterError

__all__ = [
    "DEFAULT_LADDER",
    "FLAC_RUNG",
    "HlsPackage",
    "LadderWriter",
    "RenditionInfo",
    "Rung",
    "package_ladder",
    "timeline_priming",
]

MASTER = "master.m3u8"
PLAYLIST = "index.m3u8"
INIT = "init.mp4"
SEGMENT = re.compile(r"seg_\d{5}\.m4s")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DATA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CODECS = {"aac": "mp4a.40.2", "flac": "fLaC"}
_FRAME = {"aac": 1024, "flac": 4096}  # samples per codec frame
_AAC_PRIMING = 1024  # FFmpeg's AAC encoder delay, in samples
_QUEUE_BLOCKS = 4  # blocks waiting per rung
_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Rung:
    """One rendition of the ladder.

    Attributes
    ----------
    name : str
        Folder and rendition name, e.g. ``"aac_128k"``.
    codec : {"aac", "flac"}
        FFmpeg's native AAC-LC encoder, or FLAC (16-bit, lossless from the 48 kHz stream).
    bitrate : int or None
        AAC bit rate in bits/s; ``None`` for FLAC.
    """

    name: str
    codec: str
    bitrate: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ParameterError(
                f"rendition must be a folder name of letters, digits, '_', '.', '-', "
                f"got {self.name!r}"
            )
        if self.codec not in _CODECS:
            raise ParameterError(f"rung codec must be 'aac' or 'flac', got {self.codec!r}")
        if self.codec == "aac":
            rate = self.bitrate
            if isinstance(rate, bool) or not isinstance(rate, numbers.Integral) or rate <= 0:
                raise ParameterError(f"bitrate must be a positive integer (bits/s), got {rate!r}")
        elif self.bitrate is not None:
            raise ParameterError(f"a FLAC rung takes no bitrate, got {self.bitrate!r}")


DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung("aac_64k", "aac", 64_000),
    Rung("aac_128k", "aac", 128_000),
    Rung("aac_256k", "aac", 256_000),
)
FLAC_RUNG = Rung("flac", "flac", None)


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


def timeline_priming(rungs: Sequence[Rung]) -> int:
    """Samples of priming that start every rendition's timeline of a ladder of ``rungs``."""
    return _AAC_PRIMING if any(r.codec == "aac" for r in rungs) else 0


def check_ladder(rungs: Sequence[Rung], segment_s: float, sample_rate: int = 48_000) -> int:
    """Validate ladder parameters; return the segment length in samples."""
    if isinstance(segment_s, bool) or not isinstance(segment_s, numbers.Real):
        raise ParameterError(f"segment_s must be a number of seconds, got {segment_s!r}")
    if not (math.isfinite(segment_s) and segment_s > 0):
        raise ParameterError(f"segment_s must be a positive number of seconds, got {segment_s!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    rungs = tuple(rungs)
    if not rungs or not all(isinstance(r, Rung) for r in rungs):
        raise ParameterError(f"rungs must be a non-empty sequence of Rung, got {rungs!r}")
    names = [r.name for r in rungs]
    if len(set(names)) != len(names):
        raise ParameterError(f"rung names must be unique, got {names}")
    quantum = math.lcm(*(_FRAME[r.codec] for r in rungs))
    # Round down (to the frame), so a segment never outlasts the target.
    return max(1, math.floor(float(segment_s) * sample_rate / quantum + 1e-9)) * quantum


class LadderWriter:
    """Encode 48 kHz stereo blocks into every rung of a ladder and package them as HLS.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder for the package; created if missing. This module's files of an earlier run in
        the rung folders, and the master playlist, are removed first.
    rungs : sequence of Rung
        The renditions, in the order the master playlist lists them.
    segment_s : float > 0
        Target segment duration (s). Segments hold a whole number of codec frames, the same
        in every rung (5.995 s for 6 s with AAC only, 5.973 s with a FLAC rung); the last one
        may be short.
    sample_rate : int > 0
        Rate of the blocks and of every rendition, in Hz.
    on_file : callable, optional
        ``on_file(relative_path, absolute_path)`` is called once a file is complete: each init
        and segment (once; they never change), each media playlist after every new segment,
        and the master. The order is safe for a player: a segment before the playlist that
        lists it, the init before the first playlist, the master after the playlists it lists.
        It runs on the thread that calls :meth:`write` or :meth:`finish`; an exception it
        raises propagates from there.
    session_data : dict of str to str, optional
        ``EXT-X-SESSION-DATA`` entries (``DATA-ID`` to ``VALUE``) for the master playlist.

    Notes
    -----
    Use it as a context manager: leaving the block without :meth:`finish` (e.g. on an error)
    stops the encoders and removes the files written so far. Media playlists are EVENT
    playlists while writing and become VOD playlists with ``EXT-X-ENDLIST`` at finish; a first
    master playlist, with bandwidths estimated from the first segments, is published as soon as
    every rung has a segment.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        rungs: Sequence[Rung] = DEFAULT_LADDER,
        segment_s: float = 6.0,
        sample_rate: int = 48_000,
        on_file: Callable[[str, Path], None] | None = None,
        session_data: dict[str, str] | None = None,
    ) -> None:
        self.segment_samples = check_ladder(rungs, segment_s, sample_rate)
        self._session = _check_session_data(session_data)
        self.rungs = tuple(rungs)
        self.sample_rate = sample_rate
        self.out_dir = Path(out_dir)
        self._on_file = on_file
        self._events: queue.Queue[_Event] = queue.Queue()
        self._written = 0
        self._finished = self._closed = False
        self._master_published = False
        self.priming_samples = priming = timeline_priming(self.rungs)
        self._target = target_duration(self.segment_samples, sample_rate)
        self._state = {r.name: _RungState(r) for r in self.rungs}
        for rung in self.rungs:
            folder = self.out_dir / rung.name
            folder.mkdir(parents=True, exist_ok=True)
            _remove_outputs(folder)
        (self.out_dir / MASTER).unlink(missing_ok=True)
        self._workers = [
            _RungWorker(
                r, self.out_dir / r.name, sample_rate, self.segment_samples, priming, self._events
            )
            for r in self.rungs
        ]
        for worker in self._workers:
            worker.start()

    def __enter__(self) -> LadderWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._finished:
            self.abort()

    @property
    def duration_s(self) -> float:
        """Audio written so far, in seconds."""
        return self._written / self.sample_rate

    def write(self, block: np.ndarray) -> None:
        """Encode one block into every rung; publish the files completed meanwhile.

        Parameters
        ----------
        block : np.ndarray [shape=(2, n)], float32
            Planar stereo at ``sample_rate``; it is copied, so the caller may reuse it.
        """
        self._check_open()
        if not isinstance(block, np.ndarray) or block.ndim != 2 or block.shape[0] != 2:
            raise ParameterError("block must be a float32 array of shape (2, n)")
        if block.dtype != np.float32:
            raise ParameterError(f"block must be float32, got {block.dtype}")
        if block.shape[1]:
            block = np.array(block, dtype=np.float32, order="C", copy=True)
            self._written += block.shape[1]
            for worker in self._workers:
                self._put(worker, block)
        self._publish(wait=False)

    def finish(self, *, session_data: dict[str, str] | None = None) -> HlsPackage:
        """Flush the encoders, publish the last segments, VOD playlists and the final master.

        Parameters
        ----------
        session_data : dict of str to str, optional
            Entries added to (or replacing) those given to the constructor, e.g. loudness
            figures known only once the whole track has been analysed.

        Returns
        -------
        HlsPackage
            Relative paths, segment durations and bandwidths measured from the real segments;
            ``samples`` is the number of samples written.
        """
        self._check_open()
        if session_data:
            self._session.update(_check_session_data(session_data))
        if self._written == 0:
            raise ParameterError("no audio was written: a package needs at least one sample")
        for worker in self._workers:
            self._put(worker, None)
        self._publish(wait=True)
        for worker in self._workers:
            worker.join()
        renditions = []
        for rung in self.rungs:
            state = self._state[rung.name]
            self._write_playlist(state, final=True)
            renditions.append(state.info(self.sample_rate, self._target))
        self._write_master(renditions)
        self._finished = self._closed = True
        return HlsPackage(master=MASTER, duration_s=self.duration_s, renditions=tuple(renditions),
                          priming_samples=self.priming_samples, samples=self._written)

    def abort(self) -> None:
        """Stop the encoders and remove every file written; the writer cannot be used again."""
        if self._closed and self._finished:
            return
        self._closed = True
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.join()
        for rung in self.rungs:
            _remove_outputs(self.out_dir / rung.name)
        (self.out_dir / MASTER).unlink(missing_ok=True)

    # -- internals ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this LadderWriter is finished or aborted")

    def _put(self, worker: _RungWorker, item: np.ndarray | None) -> None:
        while True:
            worker.raise_failure()
            try:
                worker.blocks.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                # Publish while waiting, so uploads overlap with encoding.
                self._publish(wait=False)

    def _publish(self, *, wait: bool) -> None:
        """Publish completed files; with ``wait``, until every worker has finished."""
        while True:
            try:
                event = self._events.get(timeout=_POLL_S) if wait else self._events.get_nowait()
            except queue.Empty:
                for worker in self._workers:
                    worker.raise_failure()
                if wait and any(w.is_alive() for w in self._workers):
                    continue
                if wait and not self._events.empty():
                    continue
                return
            state = self._state[event.rung]
            self._notify(event.path)
            if event.kind == "segment":
                state.segments.append((event.path.name, event.samples, event.size))
                self._write_playlist(state, final=False)
                if not self._master_published and all(s.segments for s in self._state.values()):
                    infos = [s.info(self.sample_rate, self._target) for s in self._state.values()]
                    self._write_master(infos)
                    self._master_published = True

    def _write_playlist(self, state: _RungState, *, final: bool) -> None:
        path = self.out_dir / state.rung.name / PLAYLIST
        _write_text(path, media_playlist(state.segments, sample_rate=self.sample_rate,
                                         target_s=self._target, final=final))
        self._notify(path)

    def _write_master(self, renditions: Sequence[RenditionInfo]) -> None:
        path = self.out_dir / MASTER
        _write_text(path, master_playlist(renditions, session_data=self._session))
        self._notify(path)

    def _notify(self, path: Path) -> None:
        if self._on_file is not None:
            self._on_file(path.relative_to(self.out_dir).as_posix(), path)


@dataclass(frozen=True, slots=True)
class _Event:
    kind: str  # "init" or "segment"
    rung: str
    path: Path
    samples: int = 0
    size: int = 0


@dataclass
class _RungState:
    """What the publishing thread knows of one rung."""

    rung: Rung
    segments: list[tuple[str, int, int]] = field(default_factory=list)  # name, samples, bytes

    def info(self, sample_rate: int, target_s: int) -> RenditionInfo:
        return rendition_info(self.rung, self.segments, sample_rate=sample_rate,
                              target_s=target_s)


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
        codec=_CODECS[rung.codec],
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
    for data_id, value in _check_session_data(session_data).items():
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


class _RungWorker(threading.Thread):
    """Encode and mux one rung on its own thread; report finished files as events."""

    def __init__(
        self,
        rung: Rung,
        folder: Path,
        sample_rate: int,
        segment_samples: int,
        priming: int,
        events: queue.Queue[_Event],
    ) -> None:
        super().__init__(name=f"ladder-{rung.name}", daemon=True)
        self.rung = rung
        self.blocks: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=_QUEUE_BLOCKS)
        self._folder = folder
        self._rate = sample_rate
        self._segment_samples = segment_samples
        self._priming = priming
        self._events = events
        self._failure: BaseException | None = None
        self._stopping = threading.Event()
        self._shift: int | None = None  # added to packet timestamps so priming starts at 0
        self._end = 0  # end of the last packet, in samples
        self._closing = False
        self._segments = 0

    def stop(self) -> None:
        self._stopping.set()
        while True:  # unblock a put() and make room for the sentinel
            try:
                self.blocks.get_nowait()
            except queue.Empty:
                break
        try:
            self.blocks.put_nowait(None)
        except queue.Full:
            pass

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"encoding rung {self.rung.name} failed") from self._failure

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported to the writer's thread
            self._failure = exc

    def _run(self) -> None:
        sink = _FragmentSink(self._on_init, self._on_fragment)
        container, stream = open_muxer(sink, self.rung, self._rate, self._segment_samples)
        try:
            lead_in = self._priming if self.rung.codec == "flac" else 0
            time_base = Fraction(1, self._rate)
            pts = 0
            pending: np.ndarray | None = np.zeros((2, lead_in), np.float32) if lead_in else None
            while not self._stopping.is_set():
                block = self.blocks.get()
                if block is None or self._stopping.is_set():
                    break
                if pending is not None:
                    block = np.concatenate([pending, block], axis=1)
                    pending = None
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                frame.sample_rate = self._rate
                frame.pts = pts
                frame.time_base = time_base
                pts += block.shape[1]
                for packet in stream.encode(frame):
                    self._mux(container, packet)
            if self._stopping.is_set():
                return
            for packet in stream.encode(None):
                self._mux(container, packet)
            self._closing = True
        finally:
            if self._stopping.is_set():
                try:
                    container.close()
                except Exception:  # noqa: S110 - aborting: the files are removed anyway
                    pass
            else:
                container.close()

    def _mux(self, container: av.container.OutputContainer, packet: av.Packet) -> None:
        if packet.size == 0:
            return  # the FLAC encoder's final STREAMINFO update: nowhere to put it in a stream
        if packet.pts is None or packet.dts is None:
            raise RuntimeError("encoder returned a packet without timestamps")
        if self._shift is None:
            self._shift = -packet.pts
            expected = self._priming if self.rung.codec == "aac" else 0
            if self._shift != expected:
                raise RuntimeError(
                    f"{self.rung.name}: encoder delay {self._shift} samples, expected {expected}"
                )
        packet.pts += self._shift
        packet.dts += self._shift
        self._end = max(self._end, packet.pts + (packet.duration or 0))
        container.mux(packet)

    def _on_init(self, data: bytes) -> None:
        path = self._folder / INIT
        path.write_bytes(data)
        self._events.put(_Event("init", self.rung.name, path))

    def _on_fragment(self, data: bytes, start: int) -> None:
        expected = self._segments * self._segment_samples
        if start != expected:
            raise RuntimeError(
                f"{self.rung.name}: fragment starts at sample {start}, expected {expected}"
            )
        samples = self._end - start if self._closing else self._segment_samples
        if not 0 < samples <= self._segment_samples:
            raise RuntimeError(f"{self.rung.name}: fragment of {samples} samples")
        self._segments += 1
        path = self._folder / f"seg_{self._segments:05d}.m4s"
        path.write_bytes(data)
        self._events.put(_Event("segment", self.rung.name, path, samples, len(data)))


def open_muxer(
    sink: io.RawIOBase, rung: Rung, sample_rate: int, segment_samples: int
) -> tuple[av.container.OutputContainer, av.audio.stream.AudioStream]:
    """Open FFmpeg's fragmented mp4 muxer on ``sink`` with one encoder stream for ``rung``."""
    options = {
        "movflags": "empty_moov+default_base_moof+skip_trailer+cmaf",
        # Cut exactly at each segment boundary (µs, rounded down: the comparison is exact).
        "frag_duration": str(segment_samples * 1_000_000 // sample_rate),
    }
    container = av.open(sink, "w", format="mp4", options=options)
    try:
        if rung.codec == "aac":
            stream = container.add_stream("aac", rate=sample_rate, layout="stereo")
            stream.bit_rate = int(rung.bitrate or 0)
        else:
            stream = container.add_stream(
                "flac",
                rate=sample_rate,
                layout="stereo",
                format="s16",
                options={"frame_size": str(_FRAME["flac"])},
            )
    except BaseException:
        container.close()
        raise
    return container, stream


class _FragmentSink(io.RawIOBase):
    """Receive the muxer's bytes; hand over the init segment and each fragment when complete."""

    def __init__(
        self, on_init: Callable[[bytes], None], on_fragment: Callable[[bytes, int], None]
    ) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._parsed = 0  # bytes of _buffer that are whole boxes
        self._init_done = False
        self._on_init = on_init
        self._on_fragment = on_fragment

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) - self._parsed >= 8:
            size, kind = struct.unpack_from(">I4s", self._buffer, self._parsed)
            header = 8
            if size == 1:
                if len(self._buffer) - self._parsed < 16:
                    break
                (size,) = struct.unpack_from(">Q", self._buffer, self._parsed + 8)
                header = 16
            if size < header:
                raise RuntimeError(f"muxer wrote a box of invalid size {size}")
            if len(self._buffer) - self._parsed < size:
                break
            box_start = self._parsed
            self._parsed += size
            if kind == b"moof" and not self._init_done:
                self._init_done = True
                self._on_init(bytes(self._buffer[:box_start]))
                del self._buffer[:box_start]
                self._parsed -= box_start
            elif kind == b"mdat" and self._init_done:
                fragment = bytes(self._buffer[: self._parsed])
                del self._buffer[: self._parsed]
                self._parsed = 0
                self._on_fragment(fragment, _tfdt(fragment))
        return len(data)


def _tfdt(fragment: bytes) -> int:
    """The base media decode time of a fragment's first track, in its timescale's units."""
    at = fragment.find(b"tfdt")
    if at < 4:
        raise RuntimeError("muxer wrote a fragment without a tfdt box")
    version = fragment[at + 4]
    if version == 1:
        return int(struct.unpack_from(">Q", fragment, at + 8)[0])
    return int(struct.unpack_from(">I", fragment, at + 8)[0])


def _check_session_data(data: dict[str, str] | None) -> dict[str, str]:
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


def _write_text(path: Path, text: str) -> None:
    """Write via a temporary file so a reader never sees half a playlist."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _remove_outputs(folder: Path) -> None:
    """Delete this module's files from a rendition folder, leaving anything else alone."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name in (PLAYLIST, INIT, PLAYLIST + ".tmp") or SEGMENT.fullmatch(child.name):
            child.unlink()


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
    session = _check_session_data(session_data)
    report = _Progress(progress)
    report.send(0.0)
    with open_source(src_path) as source:
        info = source.info
        expected = info.duration_s
        resampler = StereoResampler(info.sample_rate, 48_000)
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
