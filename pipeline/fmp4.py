"""Fragmented MP4 (CMAF) for HLS: FFmpeg's mp4 muxer cut into an init segment and fragments.

The muxer runs in fragmented mode (``empty_moov``, CMAF brands) into a :class:`FragmentSink`,
which splits the byte stream at top-level boxes into the init segment (``ftyp`` + ``moov``) and
one segment per fragment (``moof`` + ``mdat``). The muxer cuts a fragment exactly when it reaches
``frag_duration``, set to a whole segment (:func:`pipeline.rungs.check_ladder`). The init segments
carry no edit list (``edts``), so decoders play the AAC priming. A fragment encoded apart from the
others (a chunk) gets its place in the track with :func:`renumber`.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np

from pipeline.rungs import FRAME_SAMPLES, Rung

__all__ = ["FragmentSink", "open_muxer", "renumber", "stereo_frame"]


def stereo_frame(block: np.ndarray, sample_rate: int, pts: int) -> av.AudioFrame:
    """Wrap a planar float32 stereo block as an encoder's input frame starting at sample ``pts``."""
    frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
    frame.sample_rate = sample_rate
    frame.pts = pts
    frame.time_base = Fraction(1, sample_rate)
    return frame


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
                options={"frame_size": str(FRAME_SAMPLES["flac"])},
            )
    except BaseException:
        container.close()
        raise
    return container, stream


class FragmentSink(io.RawIOBase):
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


def renumber(fragment: bytes, *, sequence: int, decode_time: int) -> bytes:
    """Set a fragment's sequence number (``mfhd``) and base media decode time (``tfdt``)."""
    out = bytearray(fragment)
    mfhd = out.find(b"mfhd")
    tfdt = out.find(b"tfdt")
    if mfhd < 4 or tfdt < 4:
        raise RuntimeError("muxer wrote a fragment without mfhd or tfdt")
    struct.pack_into(">I", out, mfhd + 8, sequence)
    if out[tfdt + 4] == 1:
        struct.pack_into(">Q", out, tfdt + 8, decode_time)
    elif decode_time < 2**32:
        struct.pack_into(">I", out, tfdt + 8, decode_time)
    else:
        raise RuntimeError("a 32-bit tfdt cannot hold this decode time")
    return bytes(out)
