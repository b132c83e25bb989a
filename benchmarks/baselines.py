"""What a user would run instead of Veza, and Veza itself, each as commands for the harness.

The ffmpeg ladders use the settings Veza's packager uses: FFmpeg's native AAC encoder at its
defaults, 48 kHz stereo, fMP4 HLS segments of ``segment_s`` seconds, a VOD playlist per rung.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BITRATES = (64_000, 128_000, 256_000)
PEER_ANALYSIS = Path(__file__).resolve().parent / "peer_analysis.py"
_FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]

StrPath = str | os.PathLike[str]


def _hls(out_dir: StrPath, rung: str, segment_s: float) -> list[str]:
    """HLS muxer options writing ``out_dir/rung/{index.m3u8,init*.mp4,seg_NNNNN.m4s}``."""
    folder = Path(out_dir) / rung
    return ["-f", "hls", "-hls_time", f"{segment_s:g}", "-hls_playlist_type", "vod",
            "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
            "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", f"{folder}/seg_%05d.m4s", f"{folder}/index.m3u8"]


def ffmpeg_ladder_varstream(src: StrPath, out_dir: StrPath,
                            bitrates: Sequence[int] = BITRATES, segment_s: float = 6) -> list[str]:
    """One ffmpeg process encoding every rung, with a master playlist (var_stream_map)."""
    cmd = [*_FFMPEG, "-i", os.fspath(src)]
    for _ in bitrates:
        cmd += ["-map", "0:a"]
    cmd += ["-c:a", "aac"]
    for i, rate in enumerate(bitrates):
        cmd += [f"-b:a:{i}", str(rate)]
    cmd += ["-ar", "48000", "-ac", "2"]
    stream_map = " ".join(f"a:{i},name:{rate // 1000}k" for i, rate in enumerate(bitrates))
    return [*cmd, "-master_pl_name", "master.m3u8", "-var_stream_map", stream_map,
            *_hls(out_dir, "aac_%v", segment_s)]


def ffmpeg_ladder_per_rung(src: StrPath, out_dir: StrPath, bitrates: Sequence[int] = BITRATES,
                           segment_s: float = 6) -> list[list[str]]:
    """One ffmpeg process per rung, to be run concurrently (no master playlist).

    Creates the rung folders, which ffmpeg's HLS muxer does not do without ``%v``.
    """
    for rate in bitrates:
        (Path(out_dir) / f"aac_{rate // 1000}k").mkdir(parents=True, exist_ok=True)
    return [[*_FFMPEG, "-i", os.fspath(src), "-map", "0:a", "-c:a", "aac", "-b:a", str(rate),
             "-ar", "48000", "-ac", "2", *_hls(out_dir, f"aac_{rate // 1000}k", segment_s)]
            for rate in bitrates]


def peer_layout() -> str:
    """The ffmpeg layout a peer would pick: a process per rung when there are CPUs to spare."""
    return "per_rung" if (os.cpu_count() or 1) > 1 else "varstream"


def peer_script(src: StrPath, out_dir: StrPath, *, layout: str | None = None,
                bitrates: Sequence[int] = BITRATES, segment_s: float = 6,
                python: str = sys.executable) -> list[str]:
    """The shell script a peer would write: the ffmpeg ladder, then a Python analysis script.

    ``layout`` is "per_rung" (the rungs run together, then ``wait``) or "varstream"; by default
    `peer_layout()`.
    """
    layout = peer_layout() if layout is None else layout
    if layout == "per_rung":
        rungs = ffmpeg_ladder_per_rung(src, out_dir, bitrates, segment_s)
        # `wait` on each pid, so that with `set -e` a failed rung fails the script.
        folders = [os.fspath(Path(out_dir) / f"aac_{rate // 1000}k") for rate in bitrates]
        ladder = shlex.join(["mkdir", "-p", *folders]) + "\n"
        ladder += "".join(f"{shlex.join(c)} & p{i}=$!\n" for i, c in enumerate(rungs))
        ladder += "; ".join(f"wait $p{i}" for i in range(len(rungs))) + "\n"
    elif layout == "varstream":
        ladder = shlex.join(ffmpeg_ladder_varstream(src, out_dir, bitrates, segment_s)) + "\n"
    else:
        raise ValueError(f"layout must be 'per_rung' or 'varstream', got {layout!r}")
    analysis = shlex.join([python, os.fspath(PEER_ANALYSIS), os.fspath(src)])
    return ["/bin/sh", "-c", f"set -e\n{ladder}{analysis}\n"]


def veza_ingest(src: StrPath, out_dir: StrPath) -> list[str]:
    """Veza's own command: decode once, analyse and package the ladder, print JSON."""
    exe = Path(sys.executable).with_name("veza")
    return [str(exe) if exe.exists() else "veza", "ingest", os.fspath(src),
            "--out", os.fspath(out_dir), "--json"]


def veza_summary(stdout: str) -> dict[str, Any] | None:
    """The JSON object `veza ingest --json` printed last, or None if there is none."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None
