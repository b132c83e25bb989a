"""Decode once, and feed the same blocks to every analyser and to the ABR ladder.

This is the whole pipeline for one track: `veza ingest` and the worker both run it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cues import CueDetector, Cues
from pipeline.decode import SourceInfo, StereoResampler, downmix_to_stereo, open_source
from pipeline.errors import ParameterError
from pipeline.key import Key, KeyDetector
from pipeline.ladder import LadderWriter
from pipeline.loudness import Loudness, LoudnessMeter, bs1770_weights, track_gain
from pipeline.monomix import MonoSpectrogram
from pipeline.playlists import HlsPackage
from pipeline.rhythm import Tempo, TempoTracker
from pipeline.rungs import DEFAULT_LADDER, SAMPLE_RATE, Rung
from pipeline.waveform import Waveform, WaveformBuilder

BLOCK_FRAMES = 65_536


@dataclass(frozen=True)
class Analysed:
    """What the analysers found in one pass over a track."""

    source: SourceInfo
    duration_s: float
    loudness: Loudness
    gain_db: float | None
    tempo: Tempo
    key: Key
    cues: Cues
    waveform: Waveform
    timings: dict[str, float] = field(default_factory=dict)
    # Momentary (400 ms) and short-term (3 s) loudness every 100 ms, LUFS; for plots.
    momentary_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    short_term_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Samples per channel decoded, at the source's rate.
    frames: int = 0

    def analysis(self) -> dict[str, Any]:
        """Return the analysis as plain JSON values (what analysis.json holds)."""
        return {
            "duration_s": round(self.duration_s, 4),
            "sample_rate": self.source.sample_rate,
            "channels": self.source.channels,
            "codec": self.source.codec,
            "loudness": {k: _finite(v) for k, v in self.loudness.as_json().items()},
            "gain_db": _finite(self.gain_db),
            "tempo_bpm": _finite(self.tempo.bpm, 2),
            "beats_s": [round(float(b), 3) for b in self.tempo.beats_s],
            "key": self.key.name,
            "key_confidence": None if self.key.name is None else _finite(self.key.confidence, 3),
            "cue_in_s": round(self.cues.cue_in_s, 3),
            "cue_out_s": round(self.cues.cue_out_s, 3),
        }

    def session_data(self) -> dict[str, str]:
        """Return the EXT-X-SESSION-DATA values the master playlist carries."""
        return session_data(self.loudness, self.gain_db)


@dataclass(frozen=True)
class Processed(Analysed):
    """Everything one pass over a track produced: the analysis and the HLS package."""

    package: HlsPackage = field(kw_only=True)

    def summary(self) -> dict[str, Any]:
        """Return the analysis without the beat list, plus renditions and timings."""
        out = self.analysis()
        del out["beats_s"]
        out["renditions"] = [
            {"name": r.name, "codec": r.codec, "bitrate": r.bitrate, "segments": len(r.segments),
             "bandwidth": r.bandwidth, "average_bandwidth": r.average_bandwidth}
            for r in self.package.renditions
        ]
        out["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return out


def _finite(value: float | None, digits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def session_data(loudness: Loudness, gain_db: float | None) -> dict[str, str]:
    """Return the EXT-X-SESSION-DATA values the master playlist carries."""
    # A quoted-string VALUE cannot hold a double quote, so no JSON: key=value pairs.
    data = loudness.as_json()
    pairs = ",".join(
        f"{name}={'null' if data[name] is None else format(data[name], '.2f')}"
        for name in ("integrated_lufs", "range_lu", "true_peak_dbtp", "sample_peak_dbfs")
    )
    return {
        "com.veza.loudness": pairs,
        "com.veza.gain": "null" if gain_db is None else f"{gain_db:.2f}",
    }


def _analysers(rate: int, channels: int, weights: np.ndarray | None) -> dict[str, Any]:
    """Return one of each analyser, fed block by block in this order."""
    front_end = MonoSpectrogram(sample_rate=rate, channels=channels)
    return {
        "loudness": LoudnessMeter(sample_rate=rate, channels=channels, weights=weights),
        "waveform": WaveformBuilder(sample_rate=rate, channels=channels),
        # Tempo and key share one mono mix, resampler and spectrogram.
        "tempo": TempoTracker(sample_rate=rate, channels=channels, front_end=front_end),
        "key": KeyDetector(sample_rate=rate, channels=channels, front_end=front_end),
        "cues": CueDetector(sample_rate=rate, channels=channels),
    }


def process(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    rungs: Sequence[Rung] = DEFAULT_LADDER,
    segment_s: float = 6.0,
    target_lufs: float = -14.0,
    ceiling_dbtp: float = -1.0,
    on_file: Callable[[str, Path], None] | None = None,
    progress: Callable[[float], None] | None = None,
    max_duration_s: float | None = None,
    stop: threading.Event | None = None,
) -> Processed:
    """Analyse ``src`` and package it as HLS under ``out_dir`` in one decoding pass.

    Parameters
    ----------
    src : path
        Any audio file FFmpeg decodes.
    out_dir : path
        Where master.m3u8, the rendition folders, analysis.json and waveform.json go.
    rungs : sequence of Rung
        The ladder; every rung is fed from the same decoded blocks.
    segment_s : float > 0
        Target segment duration in seconds.
    target_lufs, ceiling_dbtp : float
        The loudness the track gain aims at, and the true peak it must not push past.
    on_file : callable(relative_path, absolute_path), optional
        Called as each output file is complete (segments, init, playlists, analysis).
    progress : callable(fraction), optional
        Called with 0..1 as decoding advances.
    max_duration_s : float > 0, optional
        Longest audio processed, in seconds: decoding stops there, whatever the header says
        (UnsupportedAudioError, code ``too_long``).
    stop : threading.Event, optional
        Checked before every block: once it is set, the pass stops within one block, removes
        what it wrote and raises InterruptedError.

    Returns
    -------
    Processed
    """
    if not segment_s > 0:
        raise ParameterError(f"segment_s must be positive, got {segment_s!r}")
    if not rungs:
        raise ParameterError("the ladder needs at least one rung")
    result = _guarded(src, out_dir, rungs=rungs, segment_s=segment_s, target_lufs=target_lufs,
                      ceiling_dbtp=ceiling_dbtp, on_file=on_file, progress=progress,
                      max_duration_s=max_duration_s, stop=stop)
    assert isinstance(result, Processed)
    return result


def analyse(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    target_lufs: float = -14.0,
    ceiling_dbtp: float = -1.0,
    on_file: Callable[[str, Path], None] | None = None,
    progress: Callable[[float], None] | None = None,
    max_duration_s: float | None = None,
    stop: threading.Event | None = None,
) -> Analysed:
    """Analyse ``src`` in one decoding pass, without encoding: :func:`process` without the
    ladder, for a track whose chunks are encoded elsewhere (:mod:`pipeline.chunks`).

    Parameters are those of :func:`process`; ``out_dir`` receives analysis.json and the
    waveform files only.

    Returns
    -------
    Analysed
    """
    return _guarded(src, out_dir, rungs=(), segment_s=0.0, target_lufs=target_lufs,
                    ceiling_dbtp=ceiling_dbtp, on_file=on_file, progress=progress,
                    max_duration_s=max_duration_s, stop=stop)


def _guarded(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    **options: Any,
) -> Analysed:
    out = Path(out_dir)
    created = not out.exists()
    try:
        return _process(src, out, **options)
    except BaseException:
        # Nothing half-made is left behind: the folder goes if this call made it.
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _process(
    src: str | os.PathLike[str],
    out: Path,
    *,
    rungs: Sequence[Rung],
    segment_s: float,
    target_lufs: float,
    ceiling_dbtp: float,
    on_file: Callable[[str, Path], None] | None,
    progress: Callable[[float], None] | None,
    max_duration_s: float | None,
    stop: threading.Event | None,
) -> Analysed:
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    package: HlsPackage | None = None
    with open_source(src) as source:
        out.mkdir(parents=True, exist_ok=True)
        info = source.info
        rate, channels = info.sample_rate, info.channels
        try:
            weights = bs1770_weights(info.channel_names)
        except ParameterError:
            weights = None  # unnamed channels: the meter's default weights for this count
        analysers = _analysers(rate, channels, weights)
        meter: LoudnessMeter = analysers["loudness"]
        spent = dict.fromkeys(analysers, 0.0)
        spent.update(decode=0.0, resample=0.0, encode_feed=0.0)
        resampler = StereoResampler(rate, SAMPLE_RATE)
        # Leaving the block without finish() (an error) stops the encoder threads and removes
        # what they wrote.
        with (LadderWriter(out, rungs=rungs, segment_s=segment_s, sample_rate=SAMPLE_RATE,
                           on_file=on_file) if rungs else nullcontext()) as ladder:
            frames = 0
            expected = (info.duration_s or 0.0) * rate
            blocks = source.blocks(block_frames=BLOCK_FRAMES, max_duration_s=max_duration_s)
            while True:
                if stop is not None and stop.is_set():
                    raise InterruptedError("processing stopped")
                t0 = time.perf_counter()
                block = next(blocks, None)
                spent["decode"] += time.perf_counter() - t0
                if block is None:
                    break
                frames += block.shape[1]
                if ladder is not None:
                    t0 = time.perf_counter()
                    stereo = resampler.process(downmix_to_stereo(block, info.channel_names))
                    spent["resample"] += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    # The encoders run on their own threads; feeding them first lets them work
                    # while the analysers below hold this one.
                    ladder.write(stereo)
                    spent["encode_feed"] += time.perf_counter() - t0
                for name, analyser in analysers.items():
                    t0 = time.perf_counter()
                    analyser.process(block)
                    spent[name] += time.perf_counter() - t0
                if progress is not None and expected > 0:
                    progress(min(frames / expected, 0.99))
            if ladder is not None:
                tail = resampler.flush()
                if tail.shape[1]:
                    ladder.write(tail)
            results = {}
            for name, analyser in analysers.items():
                t0 = time.perf_counter()
                results[name] = analyser.result()
                spent[name] += time.perf_counter() - t0
            loudness: Loudness = results["loudness"]
            gain = track_gain(loudness, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
            if ladder is not None:
                t0 = time.perf_counter()
                package = ladder.finish(session_data=session_data(loudness, gain))
                spent["encode_finish"] = time.perf_counter() - t0
    duration = frames / rate if rate else 0.0
    fields: dict[str, Any] = dict(
        source=info, duration_s=duration, loudness=loudness, gain_db=gain,
        tempo=results["tempo"], key=results["key"], cues=results["cues"],
        waveform=results["waveform"], timings=timings,
        momentary_lufs=meter.momentary_series(), short_term_lufs=meter.short_term_series(),
        frames=frames,
    )
    result = Analysed(**fields) if package is None else Processed(**fields, package=package)
    _write_analysis(result, out, on_file)
    timings.update(spent)
    timings["total"] = time.perf_counter() - t_start
    if progress is not None:
        progress(1.0)
    return result


def _write_analysis(p: Analysed, out: Path, on_file: Callable[[str, Path], None] | None) -> None:
    files = {"analysis.json": p.analysis()}
    levels = [level.samples_per_pixel for level in p.waveform.levels]
    if levels:
        files["waveform.json"] = p.waveform.to_audiowaveform(levels[0])
        for spp in levels[1:]:
            files[f"waveform_{spp}.json"] = p.waveform.to_audiowaveform(spp)
    for name, body in files.items():
        path = out / name
        path.write_text(json.dumps(body, separators=(",", ":"), allow_nan=False))
        if on_file is not None:
            on_file(name, path)


def warm_up(*, sample_rate: int = 44_100) -> float:
    """Compile and load every analyser once, so the first real track pays nothing; return the
    seconds it took. Long-lived workers call it at start."""
    from pipeline.synth import music

    t0 = time.perf_counter()
    y = np.ascontiguousarray(music(duration_s=6.0, sample_rate=sample_rate, channels=2))
    analysers = _analysers(sample_rate, 2, None).values()
    for analyser in analysers:
        analyser.process(y)
    for analyser in analysers:
        analyser.result()
    return time.perf_counter() - t0
