"""Bad blocks and parameters raise ParameterError naming the problem; silence and tiny inputs
give empty results, never exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pipeline.cues import CueDetector, Cues
from pipeline.errors import ParameterError
from pipeline.key import KeyDetector
from pipeline.monomix import MonoSpectrogram
from pipeline.rhythm import TempoTracker
from pipeline.synth import music
from pipeline.waveform import WaveformBuilder

ANALYSERS: list[Callable[..., Any]] = [WaveformBuilder, TempoTracker, KeyDetector, CueDetector]
GOOD = np.zeros((2, 1000), np.float32)
SHAPE = r"block must have shape \(channels=2, n\), got "


@pytest.mark.parametrize("make", ANALYSERS)
@pytest.mark.parametrize(
    ("block", "message"),
    [
        (GOOD.astype(np.float64), "block must have dtype float32, got float64"),
        (GOOD.astype(np.int16), "block must have dtype float32, got int16"),
        (GOOD[0], SHAPE + r"\(1000,\)"),
        (np.zeros((1, 1000), np.float32), SHAPE + r"\(1, 1000\)"),
        (np.zeros((1000, 2), np.float32), SHAPE + r"\(1000, 2\)"),
        (np.zeros((2, 2000), np.float32)[:, ::2], "block must be C-contiguous"),
        (GOOD.tolist(), "block must be a numpy array, got list"),
    ],
)
def test_bad_blocks(make: Callable[..., Any], block: object, message: str) -> None:
    analyser = make(sample_rate=44100, channels=2)
    with pytest.raises(ParameterError, match=message):
        analyser.process(block)


@pytest.mark.parametrize("make", ANALYSERS)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0, "channels": 2}, "sample_rate must be a positive integer, got 0"),
        ({"sample_rate": 44100.5, "channels": 2}, "sample_rate must be a positive integer"),
        ({"sample_rate": True, "channels": 2}, "sample_rate must be a positive integer, got True"),
        ({"sample_rate": 44100, "channels": -1}, "channels must be a positive integer, got -1"),
    ],
)
def test_bad_rates_and_channels(make: Callable[..., Any], kwargs: dict[str, Any],
                                message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        make(**kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=(1,)),
         "samples_per_pixel must be distinct integers >= 2"),
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=(256, 256)),
         "samples_per_pixel must be distinct integers >= 2"),
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=()),
         "samples_per_pixel must be distinct integers >= 2"),
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=256),
         "samples_per_pixel must be a sequence of ints, got 256"),
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, bits=12),
         "bits must be 8 or 16, got 12"),
        (lambda: WaveformBuilder(sample_rate=8000, channels=1, split_channels="yes"),
         "split_channels must be True or False"),
        (lambda: CueDetector(sample_rate=8000, channels=1, threshold_dbfs=3.0),
         r"threshold_dbfs must be a finite number <= 0 dBFS, got 3.0"),
        (lambda: CueDetector(sample_rate=8000, channels=1, threshold_dbfs=float("nan")),
         "threshold_dbfs must be a finite number"),
        (lambda: TempoTracker(sample_rate=8000, channels=1, analysis_rate=0),
         "analysis_rate must be a positive integer, got 0"),
        (lambda: TempoTracker(sample_rate=8000, channels=1, hop_length=4096),
         "n_fft must be even and at least hop_length"),
        (lambda: KeyDetector(sample_rate=8000, channels=1,
                             front_end=MonoSpectrogram(sample_rate=8000, channels=2)),
         "front_end has channels=2, the analyser wants 1"),
        (lambda: TempoTracker(sample_rate=8000, channels=1, front_end="shared"),
         "front_end must be a MonoSpectrogram, got str"),
    ],
)
def test_bad_parameters(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        make()


def test_level_that_was_not_built() -> None:
    builder = WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=(256,))
    with pytest.raises(ParameterError, match=r"no level with samples_per_pixel=300; have \[256\]"):
        builder.result().to_audiowaveform(300)


@pytest.mark.parametrize("make", ANALYSERS)
def test_no_blocks_after_result(make: Callable[..., Any]) -> None:
    analyser = make(sample_rate=44100, channels=2)
    analyser.result()
    with pytest.raises(ParameterError, match="result\\(\\) was already called"):
        analyser.process(GOOD)


def test_shared_front_end_fed_out_of_step() -> None:
    front = MonoSpectrogram(sample_rate=44100, channels=2)
    tempo = TempoTracker(sample_rate=44100, channels=2, front_end=front)
    key = KeyDetector(sample_rate=44100, channels=2, front_end=front)
    tempo.process(GOOD)
    tempo.process(GOOD)
    with pytest.raises(ParameterError, match="must be fed blocks in step"):
        key.process(GOOD)


def _run(y: np.ndarray) -> tuple[Any, Any, Any, Any]:
    analysers = [make(sample_rate=44100, channels=y.shape[0]) for make in ANALYSERS]
    for start in range(0, max(y.shape[1], 1), 65536):
        for analyser in analysers:
            analyser.process(np.ascontiguousarray(y[:, start : start + 65536]))
    waveform, tempo, key, cues = (analyser.result() for analyser in analysers)
    return waveform, tempo, key, cues


@pytest.mark.parametrize(
    "y",
    [
        np.zeros((2, 10 * 44100), np.float32),
        np.zeros((2, 0), np.float32),
        np.zeros((2, 1), np.float32),
    ],
    ids=["10s-silence", "empty", "one-sample"],
)
def test_silence_gives_empty_results(y: np.ndarray) -> None:
    waveform, tempo, key, cues = _run(y)
    assert tempo.bpm is None and len(tempo.beats_s) == 0 and tempo.confidence == 0.0
    assert (key.name, key.tonic, key.mode, key.confidence) == (None, None, None, 0.0)
    assert cues == Cues(0.0, 0.0)
    doc = waveform.to_audiowaveform(256)
    assert doc["length"] == -(-y.shape[1] // 256)
    assert set(doc["data"]) <= {0}


def test_music_shorter_than_four_seconds_has_no_tempo() -> None:
    y = music(duration_s=3.5, sample_rate=44100, bpm=120.0)
    waveform, tempo, key, cues = _run(y)
    assert tempo.bpm is None and len(tempo.beats_s) == 0
    assert key.mode in ("major", "minor")  # a key needs no minimum length
    assert cues.cue_out_s == pytest.approx(3.5, abs=0.02)
