"""Cue points: constructed leading/trailing silence, and the kernel against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.cues import CueDetector, _first_last_above
from pipeline.synth import music

SR = 44100


def _cues(y: np.ndarray, block: int, **kwargs: float) -> tuple[float, float]:
    detector = CueDetector(sample_rate=SR, channels=y.shape[0], **kwargs)
    for start in range(0, y.shape[1], block):
        detector.process(np.ascontiguousarray(y[:, start : start + block]))
    cues = detector.result()
    return cues.cue_in_s, cues.cue_out_s


def _padded(lead_s: float, body_s: float, tail_s: float, rng: np.random.Generator) -> np.ndarray:
    """Music between stretches of dithered digital silence (about -90 dBFS)."""
    body = music(duration_s=body_s, sample_rate=SR, seed=5)
    lead = rng.uniform(-3e-5, 3e-5, (2, round(lead_s * SR))).astype(np.float32)
    tail = rng.uniform(-3e-5, 3e-5, (2, round(tail_s * SR))).astype(np.float32)
    return np.ascontiguousarray(np.concatenate([lead, body, tail], axis=1))


@pytest.mark.parametrize("block", [777, 65536])
def test_cues_find_the_constructed_silence(block: int, rng: np.random.Generator) -> None:
    y = _padded(1.5, 6.0, 2.25, rng)
    cue_in, cue_out = _cues(y, block)
    assert abs(cue_in - 1.5) < 0.020
    assert abs(cue_out - 7.5) < 0.020


def test_one_sample_blocks_give_the_same_cues(rng: np.random.Generator) -> None:
    y = _padded(0.05, 0.2, 0.1, rng)
    assert _cues(y, 1) == _cues(y, y.shape[1])


def test_a_sound_on_one_channel_counts(rng: np.random.Generator) -> None:
    y = np.zeros((2, SR), np.float32)
    y[1, 1000] = 0.01  # -40 dBFS on the right channel only
    y[1, 30000] = -0.01
    assert _cues(y, 4096) == (1000 / SR, 30001 / SR)
    assert _cues(y, 4096, threshold_dbfs=-30.0) == (0.0, 0.0)


def test_all_silence_gives_zero_cues() -> None:
    assert _cues(np.zeros((2, 3 * SR), np.float32), 65536) == (0.0, 0.0)


@pytest.mark.parametrize("want_first", [True, False])
def test_kernel_matches_numpy(want_first: bool, rng: np.random.Generator) -> None:
    threshold = np.float32(10 ** (-60 / 20))
    for density in (0.0, 1e-4, 0.01, 0.5):
        y = rng.uniform(-5e-4, 5e-4, (3, 20000)).astype(np.float32)
        spikes = rng.random(y.shape) < density
        y[spikes] = rng.choice([-0.5, 0.5], int(spikes.sum()))
        above = np.flatnonzero((np.abs(y) > threshold).any(axis=0))
        first, last = _first_last_above(y, threshold, want_first)
        expected_first = int(above[0]) if len(above) and want_first else -1
        assert (first, last) == (expected_first, int(above[-1]) if len(above) else -1)
