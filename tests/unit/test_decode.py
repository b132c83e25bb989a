"""Decoding in blocks, BS.775 downmix and streaming resampling, checked against the ffmpeg CLI."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipeline.decode import StereoResampler, downmix_to_stereo, open_source
from pipeline.errors import EmptyAudioError, NotAudioError, ParameterError
from pipeline.synth import music, write_wav

SECONDS = 4.0
C = float(np.sqrt(0.5))
FIVE_ONE = ("FL", "FR", "FC", "LFE", "BL", "BR")
FIVE_ONE_SIDE = ("FL", "FR", "FC", "LFE", "SL", "SR")


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    codec: str
    rate: int
    channels: int
    lossless: bool


CASES = [
    Case("s16.wav", ("-c:a", "pcm_s16le"), "pcm_s16le", 44100, 2, True),
    Case("u8.wav", ("-c:a", "pcm_u8"), "pcm_u8", 44100, 2, True),
    Case("s24.wav", ("-c:a", "pcm_s24le"), "pcm_s24le", 44100, 2, True),
    Case("s32.wav", ("-c:a", "pcm_s32le"), "pcm_s32le", 44100, 2, True),
    Case("f32.wav", ("-c:a", "pcm_f32le"), "pcm_f32le", 44100, 2, True),
    Case("8k_mono.wav", ("-ar", "8000", "-ac", "1"), "pcm_s16le", 8000, 1, True),
    Case("96k_s24.wav", ("-ar", "96000", "-c:a", "pcm_s24le"), "pcm_s24le", 96000, 2, True),
    Case("s16.aiff", (), "pcm_s16be", 44100, 2, True),
    Case("s16.flac", (), "flac", 44100, 2, True),
    Case("s24_96k.flac", ("-ar", "96000", "-sample_fmt", "s32"), "flac", 96000, 2, True),
    Case("22k_mono.flac", ("-ar", "22050", "-ac", "1"), "flac", 22050, 1, True),
    Case(
        "5.1.flac", ("-af", "pan=5.1|c0=c0|c1=c1|c2=c0|c3=c1|c4=c0|c5=c1"), "flac", 44100, 6, True
    ),
    Case("cbr.mp3", ("-b:a", "192k"), "mp3", 44100, 2, False),
    Case("32k_mono.mp3", ("-ar", "32000", "-ac", "1"), "mp3", 32000, 1, False),
    Case("vorbis.ogg", ("-c:a", "libvorbis"), "vorbis", 44100, 2, False),
    Case("mono.opus", ("-c:a", "libopus", "-ac", "1"), "opus", 48000, 1, False),
    Case("stereo.opus", ("-c:a", "libopus"), "opus", 48000, 2, False),
    Case("aac.m4a", ("-c:a", "aac", "-b:a", "160k"), "aac", 44100, 2, False),
    Case("5.1.m4a", ("-c:a", "aac", "-ac", "6", "-ar", "48000"), "aac", 48000, 6, False),
]


@pytest.fixture(scope="session")
def source_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("decode") / "music.wav"
    write_wav(path, music(duration_s=SECONDS, sample_rate=44100, seed=2), sample_rate=44100)
    return path


@pytest.fixture(scope="session")
def encoded(source_wav: Path) -> dict[str, Path]:
    """Every case, made from the same WAV by the ffmpeg CLI."""
    files = {}
    for case in CASES:
        dst = source_wav.with_name(case.name)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(source_wav), *case.args, str(dst)],
            check=True,
            timeout=60,
        )
        files[case.name] = dst
    return files


def _cli_decode(path: Path, channels: int, *args: str) -> np.ndarray:
    """Decode with the ffmpeg CLI to planar float32 [shape=(channels, n)]."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), *args, "-f", "f32le", "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).T


def _decode(path: Path, block_frames: int = 65536) -> tuple[np.ndarray, list[np.ndarray]]:
    with open_source(path) as source:
        blocks = list(source.blocks(block_frames=block_frames))
    return np.concatenate(blocks, axis=1), blocks


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_format_decodes_to_planar_float32_blocks(
    case: Case, encoded: dict[str, Path]
) -> None:
    path = encoded[case.name]
    with open_source(path) as source:
        info = source.info
        blocks = list(source.blocks(block_frames=30000))
    assert (info.codec, info.sample_rate, info.channels) == (case.codec, case.rate, case.channels)
    assert len(info.channel_names) == case.channels
    assert info.duration_s == pytest.approx(SECONDS, abs=0.1)
    for block in blocks:
        assert block.dtype == np.float32 and block.flags.c_contiguous
        assert block.shape[0] == case.channels
    assert all(b.shape[1] == 30000 for b in blocks[:-1])
    assert 0 < blocks[-1].shape[1] <= 30000
    ours = np.concatenate(blocks, axis=1)
    assert ours.shape[1] / case.rate == pytest.approx(SECONDS, abs=0.06 if case.lossless else 0.1)

    reference = _cli_decode(path, case.channels)
    if case.lossless:
        # Integer PCM is exact in float32 up to 24 bits; s32 and u8 scale the same way FFmpeg does.
        assert ours.shape == reference.shape
        np.testing.assert_allclose(ours, reference, atol=1e-6)
    else:
        # The CLI's FFmpeg differs from PyAV's: compare level and shape, not samples.
        n = min(ours.shape[1], reference.shape[1])
        rms = np.sqrt(np.mean(ours[:, :n] ** 2))
        assert 20 * np.log10(rms / np.sqrt(np.mean(reference[:, :n] ** 2))) == pytest.approx(
            0, abs=0.2
        )


def test_block_size_does_not_change_the_samples(encoded: dict[str, Path]) -> None:
    whole, _ = _decode(encoded["cbr.mp3"])
    small, blocks = _decode(encoded["cbr.mp3"], block_frames=777)
    assert len(blocks) > 100
    np.testing.assert_array_equal(small, whole)


def test_a_source_is_decoded_once(encoded: dict[str, Path]) -> None:
    with open_source(encoded["s16.wav"]) as source:
        list(source.blocks())
        with pytest.raises(RuntimeError, match="once"):
            source.blocks()


@pytest.mark.parametrize("frames", [0, -1, 1.5, True])
def test_block_frames_must_be_a_positive_integer(encoded: dict[str, Path], frames: object) -> None:
    with open_source(encoded["s16.wav"]) as source, pytest.raises(ParameterError, match="block_"):
        source.blocks(block_frames=frames)  # type: ignore[arg-type]


def test_bad_inputs_raise_our_errors(tmp_path: Path, source_wav: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudioError):
        open_source(empty)
    text = tmp_path / "notes.txt"
    text.write_text("not a song\n" * 50)
    with pytest.raises(NotAudioError, match="no audio stream"):
        open_source(text)
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(source_wav.read_bytes()[:44])
    with pytest.raises(NotAudioError, match="truncated or corrupt"):  # noqa: PT012
        with open_source(header_only) as source:
            list(source.blocks())


def _distinct_channels(n: int, rate: int) -> np.ndarray:
    """Six sines of different pitch and level, one per channel [shape=(6, n)]."""
    t = np.arange(n) / rate
    freqs = [220.0, 330.0, 440.0, 55.0, 660.0, 880.0]
    levels = [0.3, 0.25, 0.2, 0.4, 0.15, 0.1]
    return np.stack(
        [a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, levels, strict=True)]
    ).astype(np.float32)


@pytest.fixture(scope="module")
def surround(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    folder = tmp_path_factory.mktemp("surround")
    y = _distinct_channels(48000 * 2, 48000)
    plain = folder / "plain.wav"
    write_wav(plain, y, sample_rate=48000, bits=24)
    tagged = folder / "tagged.flac"  # channels named 5.1 (back)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(plain),
            "-af",
            "aformat=channel_layouts=5.1",
            "-c:a",
            "flac",
            "-sample_fmt",
            "s32",
            str(tagged),
        ],
        check=True,
        timeout=60,
    )
    return y, tagged


def test_five_one_downmix_follows_bs775(surround: tuple[np.ndarray, Path]) -> None:
    y, tagged = surround
    with open_source(tagged) as source:
        names = source.info.channel_names
        decoded = np.concatenate(list(source.blocks()), axis=1)
    assert names == FIVE_ONE
    np.testing.assert_allclose(decoded, y, atol=1e-6)  # 24-bit FLAC: exact to 2**-23
    stereo = downmix_to_stereo(decoded, names)
    assert stereo.shape == (2, y.shape[1]) and stereo.dtype == np.float32
    fl, fr, fc, _lfe, bl, br = y
    np.testing.assert_allclose(stereo[0], fl + C * fc + C * bl, atol=1e-5)
    np.testing.assert_allclose(stereo[1], fr + C * fc + C * br, atol=1e-5)
    # FFmpeg's own float downmix (-ac 2) uses the same matrix, unnormalised.
    cli = _cli_decode(tagged, 2, "-ac", "2")
    np.testing.assert_allclose(stereo, cli, atol=1e-4)


def test_unnamed_six_channels_are_read_as_five_one_side(
    surround: tuple[np.ndarray, Path], tmp_path: Path
) -> None:
    y, _ = surround
    plain = tmp_path / "plain.wav"
    write_wav(plain, y, sample_rate=48000, bits=24)
    with open_source(plain) as source:
        assert source.info.channel_names == FIVE_ONE_SIDE
        stereo = downmix_to_stereo(
            np.concatenate(list(source.blocks()), axis=1), source.info.channel_names
        )
    np.testing.assert_allclose(stereo[0], y[0] + C * y[2] + C * y[4], atol=1e-5)


def test_mono_is_copied_and_stereo_left_alone(rng: np.random.Generator) -> None:
    mono = rng.standard_normal((1, 1000)).astype(np.float32)
    np.testing.assert_array_equal(downmix_to_stereo(mono, ("FC",)), np.repeat(mono, 2, axis=0))
    stereo = rng.standard_normal((2, 1000)).astype(np.float32)
    np.testing.assert_array_equal(downmix_to_stereo(stereo, ("FL", "FR")), stereo)


def test_downmix_checks_its_input(rng: np.random.Generator) -> None:
    with pytest.raises(ParameterError, match="channel"):
        downmix_to_stereo(np.zeros((6, 10), np.float32), FIVE_ONE[:5])
    with pytest.raises(ParameterError, match="float32"):
        downmix_to_stereo(np.zeros((2, 10)), ("FL", "FR"))


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_resampler_length_and_block_independence(rate: int) -> None:
    y = music(duration_s=3.0, sample_rate=rate, seed=4)

    def run(block: int) -> np.ndarray:
        resampler = StereoResampler(rate)
        parts = [resampler.process(y[:, i : i + block]) for i in range(0, y.shape[1], block)]
        return np.concatenate([*parts, resampler.flush()], axis=1)

    whole = run(y.shape[1])
    pieces = run(4099)
    assert whole.dtype == np.float32 and whole.shape[0] == 2
    assert abs(whole.shape[1] - 3 * 48000) <= 1
    assert pieces.shape == whole.shape
    np.testing.assert_allclose(pieces, whole, atol=1e-5)
    # Same level as the input: a resampler, not a filter.
    assert np.sqrt(np.mean(whole**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=0.02)


def test_resampler_at_48k_passes_blocks_through(rng: np.random.Generator) -> None:
    resampler = StereoResampler(48000)
    y = rng.standard_normal((2, 500)).astype(np.float32)
    np.testing.assert_array_equal(resampler.process(y), y)
    assert resampler.flush().shape == (2, 0)


def test_resampler_checks_its_parameters() -> None:
    with pytest.raises(ParameterError, match="in_rate"):
        StereoResampler(0)
    with pytest.raises(ParameterError, match="shape"):
        StereoResampler(44100).process(np.zeros((1, 10), np.float32))
