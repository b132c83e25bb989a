"""Encode a track in chunks that any worker can make, and stitch them into one HLS package.

A chunk is a run of whole segments: segment ``k`` starts at ``(k - 1) * segment_samples`` on the
48 kHz output timeline in every rung (see :mod:`pipeline.rungs`), so a chunk encoder can write
its segments under the same names, with the same fragment numbers and decode times (``mfhd``,
``tfdt``), as the single pass would.

Boundaries without a click
--------------------------
An AAC encoder started cold spends its first frames on priming and its last on the flush, and a
frame's MDCT overlaps its neighbours. So each AAC rung of a chunk is fed from ``preroll`` samples
before the chunk's first sample to ``postroll`` samples after its last, and only the packets
whose timestamps fall inside the chunk are kept: at a boundary the decoder overlaps the last
packet of one chunk with the first of the next, both encoded from the same warm signal, and the
error stays at the codec's noise floor. FLAC frames are independent; a FLAC rung is fed exactly
its chunk. The source is decoded from a point aligned to the resampler's period
(``rate / gcd(rate, 48000)`` samples), so the 48 kHz samples of the window are exactly those the
single pass computes once the filter has warmed up over a margin that is dropped.

Memory: a chunk's window is held decoded, about 384 kB per second of chunk.

Why one module of ~500 lines: planning chunks, encoding one and stitching them share the
arithmetic of the chunk's window on the output timeline (pre-roll, post-roll, priming, global
segment numbers and decode times); kept together, each step reads the others' conventions.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.decode import Source, StereoResampler, downmix_to_stereo, open_source
from pipeline.errors import ParameterError
from pipeline.fmp4 import FragmentSink, open_muxer, renumber, stereo_frame
from pipeline.playlists import (
    INIT,
    MASTER,
    PLAYLIST,
    HlsPackage,
    RenditionInfo,
    master_playlist,
    media_playlist,
    rendition_info,
    segment_name,
    target_duration,
)
from pipeline.rungs import (
    AAC_PRIMING,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Rung,
    check_ladder,
    timeline_priming,
)

__all__ = [
    "Chunk",
    "ChunkResult",
    "encode_chunk",
    "plan_chunks",
    "stitch",
    "timeline_samples",
]

PREROLL = 8 * 1024  # samples fed to an AAC encoder before a chunk (whole frames)
POSTROLL = 4 * 1024  # and after it
_MARGIN = 1024  # 48 kHz samples the resampler warms up over before a window
_BLOCK = 65_536
# Codecs whose demuxed timestamps are exact after a seek; others are decoded from the start.
_EXACT_SEEK = ("pcm_", "flac", "alac", "wavpack", "tta")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole segments of a track.

    Attributes
    ----------
    index : int
        Position of the chunk, from 0.
    first_segment : int
        Number of its first segment (segments count from 1).
    segment_count : int
        Segments it holds; the last chunk may end with a short segment.
    last : bool
        Whether it runs to the end of the track.
    """

    index: int
    first_segment: int
    segment_count: int
    last: bool

    def start(self, segment_samples: int) -> int:
        """First sample of the chunk on the output timeline."""
        return (self.first_segment - 1) * segment_samples

    def stop(self, segment_samples: int) -> int | None:
        """Sample after the chunk on the output timeline; None for the last chunk."""
        if self.last:
            return None
        return (self.first_segment - 1 + self.segment_count) * segment_samples


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What a chunk encoder wrote.

    Attributes
    ----------
    segments : dict of str to tuple of (str, int, int)
        Per rung: ``(file name, samples, bytes)`` of each segment in play order.
    init : dict of str to bytes
        Per rung: the initialisation segment (the same for every chunk of a track).
    content_end : int
        Where the audio of the chunk ends on the output timeline (48 kHz samples, priming
        included): the chunk's stop, or for the last chunk the end of the track, so that the
        last chunk's ``content_end`` minus the priming is the track's exact length.
    """

    segments: dict[str, tuple[tuple[str, int, int], ...]]
    init: dict[str, bytes]
    content_end: int


def timeline_samples(source_frames: int, source_rate: int, rungs: Sequence[Rung]) -> int:
    """Estimate the length of the output timeline (48 kHz samples, priming included)."""
    return timeline_priming(rungs) + math.ceil(source_frames * SAMPLE_RATE / source_rate)


def plan_chunks(
    total_samples: int, *, segment_samples: int, chunk_segments: int
) -> tuple[Chunk, ...]:
    """Cut a timeline of ``total_samples`` into chunks of ``chunk_segments`` segments.

    A remainder shorter than half a chunk joins the last chunk, so no chunk is tiny.

    Parameters
    ----------
    total_samples : int > 0
        Length of the output timeline (:func:`timeline_samples`).
    segment_samples : int > 0
        Samples per segment (:func:`pipeline.rungs.check_ladder`).
    chunk_segments : int > 0
        Segments per chunk.

    Returns
    -------
    tuple of Chunk
    """
    for name, value in (("total_samples", total_samples), ("segment_samples", segment_samples),
                        ("chunk_segments", chunk_segments)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    segments = math.ceil(total_samples / segment_samples)
    # Whole chunks, plus one for a remainder of at least half a chunk, counted in samples: a
    # tail of a few milliseconds (the encoder's priming past a whole number of chunks) is never
    # a chunk, and therefore a job, of its own.
    chunk_samples = chunk_segments * segment_samples
    count = max(1, (2 * total_samples + chunk_samples) // (2 * chunk_samples))
    chunks = []
    for index in range(count):
        first = index * chunk_segments + 1
        last = index == count - 1
        n = segments - first + 1 if last else chunk_segments
        chunks.append(Chunk(index=index, first_segment=first, segment_count=n, last=last))
    return tuple(chunks)


def encode_chunk(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    chunk: Chunk,
    *,
    rungs: Sequence[Rung],
    segment_s: float = 6.0,
    preroll: int = PREROLL,
    on_file: Callable[[str, Path], None] | None = None,
    stop: threading.Event | None = None,
) -> ChunkResult:
    """Encode one chunk of ``src`` into every rung, as the single pass would have.

    Parameters
    ----------
    src : path
        The original audio file.
    out_dir : path
        Folder for ``<rung>/seg_NNNNN.m4s`` (global numbers) and ``<rung>/init.mp4``.
    chunk : Chunk
        Which segments to make (:func:`plan_chunks`).
    rungs, segment_s
        The ladder, as given to :class:`pipeline.ladder.LadderWriter`.
    preroll : int >= 0
        Samples fed to each AAC encoder before the chunk, a multiple of 1024; 0 leaves the
        encoder's priming at the boundary (a click: only for tests).
    on_file : callable(relative_path, absolute_path), optional
        Called for each segment written, from the encoder threads (one per rung).
    stop : threading.Event, optional
        Set it to make the encoders stop early; the call then raises InterruptedError.

    Returns
    -------
    ChunkResult
    """
    segment_samples = check_ladder(rungs, segment_s, SAMPLE_RATE)
    if not isinstance(chunk, Chunk):
        raise ParameterError(f"chunk must be a Chunk, got {chunk!r}")
    if isinstance(preroll, bool) or not isinstance(preroll, int) or preroll < 0 \
            or preroll % FRAME_SAMPLES["aac"]:
        raise ParameterError(f"preroll must be a non-negative multiple of 1024, got {preroll!r}")
    priming = timeline_priming(rungs)
    t0 = chunk.start(segment_samples)
    t1 = chunk.stop(segment_samples)
    # Indices into the 48 kHz source (timeline minus priming).
    first = max(0, t0 - priming - preroll)
    last = None if t1 is None else t1 - priming + POSTROLL
    window = read_window(src, first, last)
    # The window holds the source up to its end, or past the chunk's stop (post-roll).
    content_end = priming + first + window.shape[1]
    if t1 is not None:
        content_end = min(content_end, t1)
    out = Path(out_dir)
    encoders = [
        _ChunkEncoder(rung, out / rung.name, window, first, chunk, t0, t1,
                      segment_samples=segment_samples, priming=priming, preroll=preroll,
                      on_file=on_file, stop=stop)
        for rung in rungs
    ]
    for encoder in encoders:
        (out / encoder.rung.name).mkdir(parents=True, exist_ok=True)
        encoder.start()
    for encoder in encoders:
        encoder.join()
    for encoder in encoders:
        if encoder.failure is not None:
            raise encoder.failure
    if stop is not None and stop.is_set():
        raise InterruptedError("chunk encoding stopped")
    return ChunkResult(
        segments={e.rung.name: tuple(e.segments) for e in encoders},
        init={e.rung.name: e.init for e in encoders},
        content_end=content_end,
    )


def read_window(src: str | os.PathLike[str], first: int, last: int | None) -> np.ndarray:
    """Decode 48 kHz stereo samples ``[first, last)`` of ``src`` (``last=None``: to the end).

    Returns
    -------
    np.ndarray [shape=(2, n)], float32
        Exactly the samples the single pass computes at those indices.
    """
    with open_source(src) as source:
        info = source.info
        rate = info.sample_rate
        period = rate // math.gcd(rate, SAMPLE_RATE)  # source samples per whole output step
        step = SAMPLE_RATE * period // rate
        begin = max(0, (first - _MARGIN) // step) * period  # source index to start resampling
        origin = begin * SAMPLE_RATE // rate  # its output index
        resampler = StereoResampler(rate, SAMPLE_RATE)
        parts: list[np.ndarray] = []
        have = 0
        need = None if last is None else last - origin
        blocks = _blocks_from(source, begin)
        for block in blocks:
            parts.append(resampler.process(downmix_to_stereo(block, info.channel_names)))
            have += parts[-1].shape[1]
            if need is not None and have >= need:
                break
        else:
            parts.append(resampler.flush())
        stereo = np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.float32)
    return np.ascontiguousarray(stereo[:, first - origin: None if need is None else need])


def _blocks_from(source: Source, begin: int) -> Iterator[np.ndarray]:
    """Yield the source's blocks from sample ``begin``: seek where timestamps are exact."""
    if begin > 0 and source.info.codec.startswith(_EXACT_SEEK):
        seeked = source.seek_blocks(begin)
        if seeked is not None:
            yield from seeked
            return
    at = 0
    for block in source.blocks(block_frames=_BLOCK):
        n = block.shape[1]
        if at + n > begin:
            yield block[:, max(0, begin - at):]
        at += n


class _ChunkEncoder(threading.Thread):
    """Encode one rung of a chunk; keep the packets inside it, with global numbers and times."""

    def __init__(
        self,
        rung: Rung,
        folder: Path,
        window: np.ndarray,
        window_first: int,
        chunk: Chunk,
        t0: int,
        t1: int | None,
        *,
        segment_samples: int,
        priming: int,
        preroll: int,
        on_file: Callable[[str, Path], None] | None,
        stop: threading.Event | None,
    ) -> None:
        super().__init__(name=f"chunk-{chunk.index}-{rung.name}", daemon=True)
        self.rung = rung
        self.folder = folder
        self.chunk = chunk
        self.segments: list[tuple[str, int, int]] = []
        self.init = b""
        self.failure: BaseException | None = None
        self._t0, self._t1 = t0, t1
        self._segment_samples = segment_samples
        self._on_file = on_file
        self._halt = stop or threading.Event()
        self._end = 0  # end of the last packet kept, on the timeline
        self._closing = False
        self._checked = False
        if rung.codec == "aac":
            # Local packet times, once the priming is shifted to 0, plus the first source index
            # fed give timeline times (the timeline holds source sample s at s + priming).
            feed_from = max(0, t0 - priming - preroll)
            self._offset = feed_from
            self._lead_in = 0
            self._shift = AAC_PRIMING
            feed_to = None if t1 is None else t1 - priming + POSTROLL
        else:
            feed_from = max(0, t0 - priming)
            self._lead_in = priming if t0 == 0 else 0
            self._offset = t0
            self._shift = 0
            feed_to = None if t1 is None else t1 - priming
        lo = feed_from - window_first
        self._feed = window[:, lo: None if feed_to is None else feed_to - window_first]

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # raised again by encode_chunk
            self.failure = exc

    def _run(self) -> None:
        sink = FragmentSink(self._on_init, self._on_fragment)
        container, stream = open_muxer(sink, self.rung, SAMPLE_RATE, self._segment_samples)
        try:
            feed = self._feed
            if self._lead_in:
                feed = np.concatenate([np.zeros((2, self._lead_in), np.float32), feed], axis=1)
            for at in range(0, feed.shape[1], _BLOCK):
                if self._halt.is_set():
                    return
                block = np.ascontiguousarray(feed[:, at: at + _BLOCK])
                frame = stereo_frame(block, SAMPLE_RATE, at)
                for packet in stream.encode(frame):
                    self._mux(container, packet)
            for packet in stream.encode(None):
                self._mux(container, packet)
            self._closing = True
        finally:
            container.close()

    def _mux(self, container: av.container.OutputContainer, packet: av.Packet) -> None:
        if packet.size == 0:
            return  # the FLAC encoder's final STREAMINFO update
        if packet.pts is None or packet.dts is None:
            raise RuntimeError("encoder returned a packet without timestamps")
        if not self._checked:
            self._checked = True
            if -packet.pts != self._shift:
                raise RuntimeError(f"{self.rung.name}: encoder delay {-packet.pts} samples, "
                                   f"expected {self._shift}")
        at = packet.pts + self._shift + self._offset  # on the timeline
        if at < self._t0 or (self._t1 is not None and at >= self._t1):
            return  # pre-roll, post-roll, priming or flush of another chunk
        # The muxer sees the chunk from 0; fragments get their global times in _on_fragment.
        packet.pts = packet.dts = at - self._t0
        self._end = max(self._end, at + (packet.duration or 0))
        container.mux(packet)

    def _on_init(self, data: bytes) -> None:
        self.init = data
        if self.chunk.first_segment == 1:
            path = self.folder / INIT
            path.write_bytes(data)
            if self._on_file is not None:
                self._on_file(f"{self.rung.name}/{INIT}", path)

    def _on_fragment(self, data: bytes, start: int) -> None:
        number = self.chunk.first_segment + len(self.segments)
        expected = len(self.segments) * self._segment_samples
        if start != expected:
            raise RuntimeError(
                f"{self.rung.name}: chunk fragment starts at sample {start}, expected {expected}"
            )
        begin = self._t0 + start
        samples = self._end - begin if self._closing else self._segment_samples
        if not 0 < samples <= self._segment_samples:
            raise RuntimeError(f"{self.rung.name}: fragment of {samples} samples")
        data = renumber(data, sequence=number, decode_time=begin)
        path = self.folder / segment_name(number)
        path.write_bytes(data)
        self.segments.append((path.name, samples, len(data)))
        if self._on_file is not None:
            self._on_file(f"{self.rung.name}/{path.name}", path)


def stitch(
    out_dir: str | os.PathLike[str],
    results: Sequence[dict[str, Sequence[Sequence[object]]]],
    *,
    rungs: Sequence[Rung],
    segment_s: float = 6.0,
    session_data: dict[str, str] | None = None,
    on_file: Callable[[str, Path], None] | None = None,
    content_ends: Sequence[int | None] | None = None,
) -> HlsPackage:
    """Write the VOD media playlists and the master of a track made of chunks.

    Parameters
    ----------
    out_dir : path
        Folder for ``master.m3u8`` and ``<rung>/index.m3u8``.
    results : sequence of dict
        For each chunk in order, :attr:`ChunkResult.segments` (lists are accepted, as JSON
        gives them back).
    rungs, segment_s
        The ladder the chunks were encoded with.
    session_data : dict of str to str, optional
        ``EXT-X-SESSION-DATA`` of the master playlist.
    on_file : callable(relative_path, absolute_path), optional
        Called for each playlist written, media playlists before the master.
    content_ends : sequence of int or None, optional
        For each chunk in order, :attr:`ChunkResult.content_end`; ``None`` for a chunk whose
        result does not say (recorded before chunks reported it).

    Returns
    -------
    HlsPackage
        Bandwidths measured over the segments of every chunk; ``duration_s`` is the length
        of the longest rendition's segments; ``samples`` is ``None`` unless every chunk's
        ``content_ends`` is given.
    """
    segment_samples = check_ladder(rungs, segment_s, SAMPLE_RATE)
    target = target_duration(segment_samples, SAMPLE_RATE)
    out = Path(out_dir)
    if content_ends is not None and len(content_ends) != len(results):
        raise ParameterError(f"content_ends must give one end per chunk ({len(results)}), "
                             f"got {len(content_ends)}")
    renditions: list[RenditionInfo] = []
    total = 0
    shortest: int | None = None
    for rung in rungs:
        segments: list[tuple[str, int, int]] = []
        for result in results:
            if rung.name not in result:
                raise ParameterError(f"a chunk has no segments for rendition {rung.name!r}")
            segments += [(str(n), int(s), int(b)) for n, s, b in result[rung.name]]  # type: ignore[call-overload, misc]
        expected = [segment_name(k) for k in range(1, len(segments) + 1)]
        if [name for name, _, _ in segments] != expected:
            raise ParameterError(f"rendition {rung.name!r}: the chunks' segments are not "
                                 "consecutive from 1")
        path = out / rung.name / PLAYLIST
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(media_playlist(segments, sample_rate=SAMPLE_RATE, target_s=target,
                                       final=True))
        if on_file is not None:
            on_file(f"{rung.name}/{PLAYLIST}", path)
        renditions.append(rendition_info(rung, segments, sample_rate=SAMPLE_RATE,
                                         target_s=target))
        length = sum(s for _, s, _ in segments)
        total = max(total, length)
        shortest = length if shortest is None else min(shortest, length)
    priming = timeline_priming(rungs)
    samples = None
    if content_ends and all(end is not None for end in content_ends):
        end = content_ends[-1]
        if isinstance(end, bool) or not isinstance(end, int) \
                or not priming < end <= (shortest or 0):
            raise ParameterError(f"the last chunk's audio must end inside the timeline "
                                 f"({priming}, {shortest}], got {end!r}")
        samples = end - priming
    master = out / MASTER
    master.write_text(master_playlist(renditions, session_data=session_data))
    if on_file is not None:
        on_file(MASTER, master)
    return HlsPackage(master=MASTER, duration_s=total / SAMPLE_RATE,
                      renditions=tuple(renditions), priming_samples=priming, samples=samples)
