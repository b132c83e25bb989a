"""The renditions of an adaptive-bitrate ladder: what each rung encodes and how segments align.

Every rung is encoded at :data:`SAMPLE_RATE` and cut into segments of the same whole number of
codec frames (1024-sample AAC frames; 4096-sample FLAC frames when a FLAC rung is present), so
segment ``k`` starts at ``(k - 1) * segment_samples`` in every rendition. Every rendition's
timeline starts with the AAC encoder's priming (:data:`AAC_PRIMING`), fed to a FLAC rung as
silence (:func:`timeline_priming`).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import ParameterError

__all__ = [
    "AAC_PRIMING",
    "CODECS",
    "DEFAULT_LADDER",
    "FLAC_RUNG",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "Rung",
    "check_ladder",
    "timeline_priming",
]

SAMPLE_RATE = 48_000  # of every rendition, in Hz
# RFC 6381 codec strings, as the master playlist's CODECS attribute carries them.
CODECS = {"aac": "mp4a.40.2", "flac": "fLaC"}
FRAME_SAMPLES = {"aac": 1024, "flac": 4096}  # samples per codec frame
AAC_PRIMING = 1024  # FFmpeg's AAC encoder delay, in samples
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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
        if self.codec not in CODECS:
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


def timeline_priming(rungs: Sequence[Rung]) -> int:
    """Samples of priming that start every rendition's timeline of a ladder of ``rungs``."""
    return AAC_PRIMING if any(r.codec == "aac" for r in rungs) else 0


def check_ladder(rungs: Sequence[Rung], segment_s: float, sample_rate: int = SAMPLE_RATE) -> int:
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
    quantum = math.lcm(*(FRAME_SAMPLES[r.codec] for r in rungs))
    # Round down (to the frame), so a segment never outlasts the target.
    return max(1, math.floor(float(segment_s) * sample_rate / quantum + 1e-9)) * quantum
