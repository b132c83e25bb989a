"""Bad arguments to the loudness meter raise ParameterError naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ParameterError
from pipeline.loudness import Loudness, LoudnessMeter, bs1770_weights, loudness_of, track_gain


@pytest.fixture
def meter() -> LoudnessMeter:
    return LoudnessMeter(sample_rate=44100, channels=2)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (np.zeros(100, dtype=np.float32), r"block must have shape \(2, n\), got \(100,\)"),
        (np.zeros((2, 3, 100), dtype=np.float32),
         r"block must have shape \(2, n\), got \(2, 3, 100\)"),
        (np.zeros((1, 100), dtype=np.float32), r"block must have shape \(2, n\), got \(1, 100\)"),
        (np.zeros((100, 2), dtype=np.float32), r"block must have shape \(2, n\), got \(100, 2\)"),
        (np.zeros((2, 100), dtype=np.int16), "block must hold float32 samples, got dtype int16"),
        ([[0.0], [0.0]], "block must be a numpy array, got list"),
    ],
)
def test_bad_block(meter: LoudnessMeter, block: np.ndarray, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        meter.process(block)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_leave_the_meter_unchanged(meter: LoudnessMeter, bad: float) -> None:
    good = (np.random.default_rng(1).standard_normal((2, 44100)) * 0.1).astype(np.float32)
    meter.process(good)
    before = meter.result()
    block = np.zeros((2, 4410), dtype=np.float32)
    block[1, 17] = bad
    with pytest.raises(ParameterError, match="block holds NaN or infinite samples"):
        meter.process(block)
    assert meter.result() == before


@pytest.mark.parametrize("rate", [0, -44100, 44100.5, True])
def test_bad_sample_rate(rate: float) -> None:
    with pytest.raises(ParameterError, match="sample_rate must be a positive integer"):
        LoudnessMeter(sample_rate=rate, channels=2)  # type: ignore[arg-type]


def test_sample_rate_too_low_for_k_weighting() -> None:
    with pytest.raises(ParameterError, match="sample_rate must be at least 4000 Hz, got 2000"):
        LoudnessMeter(sample_rate=2000, channels=1)


@pytest.mark.parametrize("channels", [0, -1, 1.5])
def test_bad_channel_count(channels: float) -> None:
    with pytest.raises(ParameterError, match="channels must be a positive integer"):
        LoudnessMeter(sample_rate=44100, channels=channels)  # type: ignore[arg-type]


def test_weights_length_mismatch() -> None:
    with pytest.raises(ParameterError, match=r"weights must have shape \(6,\) for 6 channels, "
                                             r"got \(2,\)"):
        LoudnessMeter(sample_rate=48000, channels=6, weights=np.ones(2))


def test_negative_weight() -> None:
    with pytest.raises(ParameterError, match="weights must be finite and >= 0"):
        LoudnessMeter(sample_rate=48000, channels=2, weights=np.array([1.0, -1.0]))


def test_no_default_weights_beyond_eight_channels() -> None:
    with pytest.raises(ParameterError, match="weights must be given for 10 channels"):
        LoudnessMeter(sample_rate=48000, channels=10)


def test_unknown_channel_name() -> None:
    with pytest.raises(ParameterError, match="unknown channel name 'Left'"):
        bs1770_weights(["Left", "FR"])
    with pytest.raises(ParameterError, match="channel_names must be a non-empty sequence"):
        bs1770_weights("FL")


def test_loudness_of_needs_planar_samples() -> None:
    with pytest.raises(ParameterError, match=r"y must have shape \(channels, n\), got \(10,\)"):
        loudness_of(np.zeros(10, dtype=np.float32), sample_rate=44100)


def test_track_gain_bad_target() -> None:
    loudness = Loudness(-20.0, 5.0, -17.0, -18.0, -3.0, -2.9)
    with pytest.raises(ParameterError, match="target_lufs must be a finite number, got nan"):
        track_gain(loudness, target_lufs=float("nan"))
    with pytest.raises(ParameterError, match="ceiling_dbtp must be a finite number, got inf"):
        track_gain(loudness, ceiling_dbtp=float("inf"))
