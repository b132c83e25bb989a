"""Encode 48 kHz stereo blocks into every rung of a ladder at once, publishing files as they come.

Every rung gets its own thread, holding an encoder and the fragmented mp4 muxer
(:mod:`pipeline.fmp4`). PyAV releases the GIL while encoding, so the rungs encode in parallel;
each thread takes blocks from a short bounded queue, so memory stays flat.

Alignment: AAC packets are shifted so the encoder's priming starts at 0, as FFmpeg's hls muxer
does, and the FLAC rung is fed the same 1024 samples of silence first, so the same media time
holds the same source sample in every rendition, and segment ``k`` starts at
``(k - 1) * segment_samples`` everywhere (:mod:`pipeline.rungs`). Each fragment's ``tfdt`` is
checked against that. :class:`~pipeline.playlists.HlsPackage` says how long the priming is and
exactly how many samples of audio follow it, for a gapless player to cut the priming and the
padding of the last AAC frame itself.

Files are published on the thread that calls :meth:`LadderWriter.write` or
:meth:`LadderWriter.finish`, in an order that is always safe for a player.

At ~400 lines: the writer, its per-rung threads and the events between them share one
protocol (queues, stop, failure hand-over), which reads best in one place.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from pipeline.errors import ParameterError
from pipeline.fmp4 import FragmentSink, open_muxer, stereo_frame
from pipeline.playlists import (
    INIT,
    MASTER,
    PLAYLIST,
    HlsPackage,
    RenditionInfo,
    check_session_data,
    master_playlist,
    media_playlist,
    remove_outputs,
    rendition_info,
    segment_name,
    target_duration,
    write_text,
)
from pipeline.rungs import DEFAULT_LADDER, SAMPLE_RATE, Rung, check_ladder, timeline_priming

__all__ = ["LadderWriter"]

_QUEUE_BLOCKS = 4  # blocks waiting per rung
_POLL_S = 0.1


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
        sample_rate: int = SAMPLE_RATE,
        on_file: Callable[[str, Path], None] | None = None,
        session_data: dict[str, str] | None = None,
    ) -> None:
        self.segment_samples = check_ladder(rungs, segment_s, sample_rate)
        self._session = check_session_data(session_data)
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
            remove_outputs(folder)
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
            self._session.update(check_session_data(session_data))
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
            remove_outputs(self.out_dir / rung.name)
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
        write_text(path, media_playlist(state.segments, sample_rate=self.sample_rate,
                                         target_s=self._target, final=final))
        self._notify(path)

    def _write_master(self, renditions: Sequence[RenditionInfo]) -> None:
        path = self.out_dir / MASTER
        write_text(path, master_playlist(renditions, session_data=self._session))
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
        sink = FragmentSink(self._on_init, self._on_fragment)
        container, stream = open_muxer(sink, self.rung, self._rate, self._segment_samples)
        try:
            lead_in = self._priming if self.rung.codec == "flac" else 0
            pts = 0
            pending: np.ndarray | None = np.zeros((2, lead_in), np.float32) if lead_in else None
            while not self._stopping.is_set():
                block = self.blocks.get()
                if block is None or self._stopping.is_set():
                    break
                if pending is not None:
                    block = np.concatenate([pending, block], axis=1)
                    pending = None
                frame = stereo_frame(block, self._rate, pts)
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
        path = self._folder / segment_name(self._segments)
        path.write_bytes(data)
        self._events.put(_Event("segment", self.rung.name, path, samples, len(data)))
