"""Waveform peaks: the Numba kernel against numpy reshape + min/max; the audiowaveform format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.synth import music
from pipeline.waveform import WaveformBuilder, quantize

LEVELS = (256, 512, 1024, 2048, 4096)


def _reference(y: np.ndarray, spp: int, bits: int, split: bool) -> np.ndarray:
    """Peaks by numpy: pad to whole pixels with NaN, reshape, nanmin/nanmax, interleave."""
    x = y if split else (y.sum(axis=0, dtype=np.float32) / np.float32(y.shape[0]))[np.newaxis]
    n = x.shape[1]
    length = -(-n // spp)
    padded = np.full((x.shape[0], length * spp), np.nan, np.float32)
    padded[:, :n] = x
    pixels = padded.reshape(x.shape[0], length, spp)
    pairs = np.stack([np.nanmin(pixels, axis=2), np.nanmax(pixels, axis=2)], axis=-1)
    return quantize(pairs.transpose(1, 0, 2).reshape(-1), bits)


def _build(y: np.ndarray, block: int, **kwargs: object) -> WaveformBuilder:
    builder = WaveformBuilder(sample_rate=44100, channels=y.shape[0], **kwargs)  # type: ignore[arg-type]
    for start in range(0, y.shape[1], block):
        builder.process(np.ascontiguousarray(y[:, start : start + block]))
    return builder


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("block", [777, 65536])
def test_every_level_equals_numpy_reference(split: bool, bits: int, block: int) -> None:
    y = music(duration_s=12.345, sample_rate=44100, channels=3, seed=2)
    waveform = _build(y, block, bits=bits, split_channels=split).result()
    assert [lv.samples_per_pixel for lv in waveform.levels] == list(LEVELS)
    assert waveform.channels == (3 if split else 1)
    for level in waveform.levels:
        expected = _reference(y, level.samples_per_pixel, bits, split)
        assert level.data.dtype == (np.int8 if bits == 8 else np.int16)
        np.testing.assert_array_equal(level.data, expected)


def test_one_sample_blocks_match_whole_blocks() -> None:
    y = music(duration_s=0.3, sample_rate=44100, seed=4)
    one = _build(y, 1, samples_per_pixel=(300, 1000)).result()
    whole = _build(y, y.shape[1], samples_per_pixel=(300, 1000)).result()
    for a, b in zip(one.levels, whole.levels, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.data, _reference(y, a.samples_per_pixel, 8, False))


def test_audiowaveform_json_version_2() -> None:
    y = music(duration_s=5.0, sample_rate=44100, seed=1)
    waveform = _build(y, 4096, split_channels=True).result()
    doc = json.loads(json.dumps(waveform.to_audiowaveform(512)))
    assert set(doc) == {"version", "channels", "sample_rate", "samples_per_pixel", "bits",
                        "length", "data"}
    assert (doc["version"], doc["channels"], doc["sample_rate"]) == (2, 2, 44100)
    assert (doc["samples_per_pixel"], doc["bits"]) == (512, 8)
    assert doc["length"] == -(-y.shape[1] // 512)
    assert len(doc["data"]) == doc["length"] * 2 * doc["channels"]
    assert all(isinstance(v, int) and -128 <= v <= 127 for v in doc["data"])
    # min <= max in every pair, and the loudest pixel reaches the -3 dBFS peak (0.708 * 128).
    data = np.array(doc["data"]).reshape(-1, 2)
    assert np.all(data[:, 0] <= data[:, 1])
    assert np.abs(data).max() in (90, 91)


def test_full_scale_maps_to_the_ends_of_the_range() -> None:
    y = np.array([[1.0, -1.0, 0.5, -0.5, 0.0, 0.0]], np.float32)
    expected = {8: [-128, 127, -64, 64, 0, 0], 16: [-32768, 32767, -16384, 16384, 0, 0]}
    for bits, values in expected.items():
        builder = WaveformBuilder(sample_rate=8000, channels=1, samples_per_pixel=(2,), bits=bits)
        builder.process(y)
        assert builder.result().levels[0].data.tolist() == values
