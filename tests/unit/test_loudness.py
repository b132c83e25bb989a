"""The loudness meter against pyloudnorm and FFmpeg's ebur128 filter on music-like signals."""

from __future__ import annotations

import functools
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from pipeline.loudness import (
    Loudness,
    LoudnessMeter,
    bs1770_weights,
    loudness_of,
    track_gain,
)
from pipeline.synth import music, write_wav

SURROUND_51 = ["FL", "FR", "FC", "LFE", "BL", "BR"]


@functools.cache
def _music(duration_s: float, sample_rate: int, channels: int, seed: int) -> np.ndarray:
    y = music(duration_s=duration_s, sample_rate=sample_rate, channels=channels, seed=seed)
    y.flags.writeable = False
    return y


def _quiet_intro(sample_rate: int = 44100) -> np.ndarray:
    """10 s at -26 dB, then 20 s loud: the intro is gated out and widens the range."""
    intro = _music(10.0, sample_rate, 2, 2) * np.float32(0.05)
    return np.concatenate([intro, _music(20.0, sample_rate, 2, 3)], axis=1)


def _dynamic(sample_rate: int = 44100) -> np.ndarray:
    """Soft, loud, softer, medium: a range of about 20 LU."""
    soft, loud = _music(15.0, sample_rate, 2, 4), _music(20.0, sample_rate, 2, 3)
    parts = [soft * 0.2, loud, soft * 0.1, loud * 0.7]
    return np.concatenate(parts, axis=1).astype(np.float32)


def _ffmpeg(y: np.ndarray, sample_rate: int, tmp_path: Path) -> dict[str, float]:
    """Run ebur128 (peak=true) over a 24-bit WAV of y; return its last I, LRA and true peak."""
    wav, meta = tmp_path / "in.wav", tmp_path / "meta.txt"
    write_wav(wav, y, sample_rate=sample_rate, bits=24)
    # The per-frame metadata carries three decimals; the printed summary only one.
    chain = f"ebur128=peak=true:metadata=1,ametadata=mode=print:file={meta}"
    if y.shape[0] == 6:
        chain = "aformat=channel_layouts=5.1," + chain
    subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-v", "error", "-i", str(wav),
                    "-af", chain, "-f", "null", "-"], check=True, capture_output=True)
    values: dict[str, float] = {}
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("lavfi.r128.I", "lavfi.r128.LRA", "lavfi.r128.true_peak"):
            values[key.removeprefix("lavfi.r128.")] = float(value)
    return {"I": values["I"], "LRA": values["LRA"],
            "TP": 20 * math.log10(values["true_peak"])}


def _pyloudnorm(y: np.ndarray, sample_rate: int, filter_class: str = "K-weighting") -> float:
    data = y.T.astype(np.float64)
    if y.shape[0] == 6:
        # pyloudnorm weighs channels by position, L R C Ls Rs: leave out the LFE.
        data = data[:, [0, 1, 2, 4, 5]]
    meter = pyloudnorm.Meter(sample_rate, filter_class=filter_class)
    return float(meter.integrated_loudness(data))


CASES = {
    "stereo-8k": lambda: (_music(20.0, 8000, 2, 1), 8000),
    "stereo-22k": lambda: (_music(20.0, 22050, 2, 5), 22050),
    "stereo-44k": lambda: (_music(20.0, 44100, 2, 1), 44100),
    "stereo-48k-quieter": lambda: (_music(20.0, 48000, 2, 7) * np.float32(0.3), 48000),
    "stereo-96k": lambda: (_music(12.0, 96000, 2, 3), 96000),
    "mono-44k": lambda: (_music(20.0, 44100, 1, 5), 44100),
    "quiet-intro": lambda: (_quiet_intro(), 44100),
    "dynamic": lambda: (_dynamic(), 44100),
    "5.1-48k": lambda: (_music(15.0, 48000, 6, 6), 48000),
}


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_ffmpeg_and_pyloudnorm(case: str, tmp_path: Path) -> None:
    y, sr = CASES[case]()
    weights = bs1770_weights(SURROUND_51) if y.shape[0] == 6 else None
    ours = loudness_of(y, sample_rate=sr, weights=weights)
    ffmpeg = _ffmpeg(y, sr, tmp_path)

    assert ours.integrated_lufs == pytest.approx(ffmpeg["I"], abs=0.1)
    assert ours.range_lu == pytest.approx(ffmpeg["LRA"], abs=max(0.5, 0.1 * ffmpeg["LRA"]))
    assert ours.true_peak_dbtp == pytest.approx(ffmpeg["TP"], abs=0.3)
    assert ours.sample_peak_dbfs == pytest.approx(20 * np.log10(np.abs(y).max()), abs=1e-4)
    assert ours.true_peak_dbtp >= ours.sample_peak_dbfs
    assert ours.momentary_max_lufs >= ours.short_term_max_lufs >= ours.integrated_lufs - 3
    # pyloudnorm's "DeMan" filters are the same analogue design as ours: equal at every rate.
    assert ours.integrated_lufs == pytest.approx(_pyloudnorm(y, sr, "DeMan"), abs=1e-6)
    # Its default filters are a cookbook approximation tuned at 48 kHz that drifts at low
    # rates (-0.09 LU at 22.05 kHz, -0.25 LU at 8 kHz), so the 0.1 LU bound holds from 44.1 kHz.
    if sr >= 44100:
        assert ours.integrated_lufs == pytest.approx(_pyloudnorm(y, sr), abs=0.1)


def test_k_weighting_at_48k_is_the_bs1770_table() -> None:
    # BS.1770-4 Tables 1 and 2 (b0, b1, b2, a1, a2 of the shelf, then of the high pass).
    from pipeline.loudness import _k_weighting

    table = [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241,
             0.73248077421585, 1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621]
    np.testing.assert_allclose(_k_weighting(48000), table, atol=1e-8)


def _feed(y: np.ndarray, sample_rate: int, sizes: list[int]) -> LoudnessMeter:
    meter = LoudnessMeter(sample_rate=sample_rate, channels=y.shape[0])
    start, i = 0, 0
    while start < y.shape[1]:
        meter.process(y[:, start:start + sizes[i % len(sizes)]])
        start += sizes[i % len(sizes)]
        i += 1
    return meter


@pytest.mark.parametrize("sizes", [[777], [4096], [65536], [1, 777, 4096, 65536, 3]])
def test_block_size_does_not_change_the_result(sizes: list[int]) -> None:
    y = _quiet_intro()
    whole = _feed(y, 44100, [y.shape[1]])
    blocks = _feed(y, 44100, sizes)
    expected, got = whole.result(), blocks.result()
    for name, value in got.as_json().items():
        assert value == pytest.approx(expected.as_json()[name], abs=1e-6), name
    np.testing.assert_array_equal(blocks.momentary_series(), whole.momentary_series())
    np.testing.assert_array_equal(blocks.short_term_series(), whole.short_term_series())


def test_one_sample_at_a_time_gives_the_same_result() -> None:
    y = _music(4.0, 8000, 2, 9)
    whole = loudness_of(y, sample_rate=8000)
    assert _feed(y, 8000, [1]).result() == whole


def test_series_every_100_ms() -> None:
    y, sr = _dynamic(), 44100
    meter = _feed(y, sr, [y.shape[1]])
    momentary, short_term = meter.momentary_series(), meter.short_term_series()
    blocks = y.shape[1] // (sr // 10)
    assert momentary.shape == short_term.shape == (blocks,)
    assert np.isnan(momentary[:3]).all() and np.isfinite(momentary[3:]).all()
    assert np.isnan(short_term[:29]).all() and np.isfinite(short_term[29:]).all()
    result = meter.result()
    assert np.nanmax(momentary) == result.momentary_max_lufs
    assert np.nanmax(short_term) == result.short_term_max_lufs
    # The soft first 15 s (at -14 dB) read about 14 LU below the loud part that follows.
    assert np.nanmedian(momentary[50:140]) == pytest.approx(np.median(momentary[200:340]) - 14,
                                                            abs=1.5)


def test_intersample_peak_of_a_sine_at_a_quarter_of_the_rate() -> None:
    sr = 48000
    n = np.arange(sr * 2)
    sine = np.sin(np.pi / 2 * n + np.pi / 4)
    sine *= np.minimum(1.0, n / 4800)  # fade in: an abrupt start would ring
    y = np.stack([sine, sine]).astype(np.float32)
    result = loudness_of(y, sample_rate=sr)
    assert result.sample_peak_dbfs == pytest.approx(-3.0103, abs=1e-3)
    assert result.true_peak_dbtp == pytest.approx(0.0, abs=0.1)


def test_silence_is_minus_infinity_not_an_error() -> None:
    result = loudness_of(np.zeros((2, 44100 * 5), dtype=np.float32), sample_rate=44100)
    assert result.integrated_lufs == -math.inf
    assert result.momentary_max_lufs == result.short_term_max_lufs == -math.inf
    assert result.sample_peak_dbfs == result.true_peak_dbtp == -math.inf
    assert result.range_lu == 0.0
    as_json = result.as_json()
    assert json.loads(json.dumps(as_json)) == {
        "integrated_lufs": None, "range_lu": 0.0, "momentary_max_lufs": None,
        "short_term_max_lufs": None, "sample_peak_dbfs": None, "true_peak_dbtp": None}
    assert track_gain(result) is None


def test_input_below_the_absolute_gate_has_peaks_but_no_loudness(
        rng: np.random.Generator) -> None:
    y = (rng.standard_normal((2, 44100 * 4)) * 1e-4).astype(np.float32)  # about -80 dBFS
    result = loudness_of(y, sample_rate=44100)
    assert result.integrated_lufs == -math.inf
    assert result.range_lu == 0.0
    assert math.isfinite(result.sample_peak_dbfs) and result.sample_peak_dbfs < -60


def test_input_shorter_than_a_gating_block() -> None:
    y = _music(0.3, 44100, 2, 1)
    result = loudness_of(y, sample_rate=44100)
    assert result.integrated_lufs == result.momentary_max_lufs == -math.inf
    assert result.sample_peak_dbfs == pytest.approx(-3.0, abs=0.5)
    assert loudness_of(np.zeros((2, 0), dtype=np.float32), sample_rate=44100).as_json()[
        "true_peak_dbtp"] is None


def test_surround_weights() -> None:
    np.testing.assert_array_equal(bs1770_weights(SURROUND_51), [1, 1, 1, 0, 1.41, 1.41])
    np.testing.assert_array_equal(bs1770_weights(["FC"]), [1.0])
    np.testing.assert_array_equal(bs1770_weights(["FL", "FR", "SL", "SR", "TFL", "LFE2"]),
                                  [1, 1, 1.41, 1.41, 1, 0])


def test_surround_channels_count_more_and_lfe_not_at_all() -> None:
    front = _music(8.0, 48000, 1, 2)[0]
    silent = np.zeros_like(front)

    def level(position: int) -> float:
        y = np.stack([front if c == position else silent for c in range(6)])
        return loudness_of(y, sample_rate=48000,
                           weights=bs1770_weights(SURROUND_51)).integrated_lufs

    assert level(4) - level(0) == pytest.approx(10 * np.log10(1.41), abs=1e-9)
    assert level(3) == -math.inf


def _loudness(integrated: float, true_peak: float) -> Loudness:
    return Loudness(integrated_lufs=integrated, range_lu=5.0, momentary_max_lufs=integrated + 3,
                    short_term_max_lufs=integrated + 2, sample_peak_dbfs=true_peak - 0.2,
                    true_peak_dbtp=true_peak)


def test_track_gain_reaches_the_target_under_the_ceiling() -> None:
    assert track_gain(_loudness(-20.0, -3.0)) == pytest.approx(2.0)  # +6 would peak at +3
    assert track_gain(_loudness(-8.0, -0.1)) == pytest.approx(-6.0)
    assert track_gain(_loudness(-20.0, -10.0)) == pytest.approx(6.0)
    assert track_gain(_loudness(-20.0, -3.0), target_lufs=-23.0) == pytest.approx(-3.0)
    assert track_gain(_loudness(-20.0, -3.0), ceiling_dbtp=0.0) == pytest.approx(3.0)


def test_track_gain_keeps_a_measured_track_under_the_ceiling() -> None:
    y = _music(10.0, 44100, 2, 4) * np.float32(0.1)
    gain = track_gain(loudness_of(y, sample_rate=44100))
    assert gain is not None
    louder = (y * np.float32(10 ** (gain / 20))).astype(np.float32)
    assert loudness_of(louder, sample_rate=44100).true_peak_dbtp <= -1.0 + 1e-3
