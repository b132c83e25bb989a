"""probe() on real audio of many formats, and the synthetic music generator behind the tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.probe import probe
from pipeline.synth import music, write_wav


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dst)],
        check=True,
        timeout=60,
    )
    return dst


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "short.wav"
    write_wav(path, music(duration_s=3.0, seed=2), sample_rate=44100)
    return path


def test_probe_describes_generated_wav(demo_wav: Path) -> None:
    info = probe(demo_wav)
    assert info.format_name == "wav"
    assert info.codec == "pcm_s16le"
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert info.duration_s == pytest.approx(30.0, abs=1e-3)
    assert info.bit_rate == 44100 * 2 * 16
    assert info.extension == "wav"


def test_probe_reads_24_bit_mono(tmp_path: Path) -> None:
    path = tmp_path / "mono24.wav"
    write_wav(
        path, music(duration_s=2.0, sample_rate=22050, channels=1), sample_rate=22050, bits=24
    )
    info = probe(path)
    assert (info.codec, info.sample_rate, info.channels) == ("pcm_s24le", 22050, 1)
    assert info.duration_s == pytest.approx(2.0, abs=1e-3)


@pytest.mark.parametrize(
    ("name", "args", "codec", "extension"),
    [
        ("a.mp3", ("-b:a", "128k"), "mp3", "mp3"),
        ("a.flac", (), "flac", "flac"),
        ("a.ogg", ("-c:a", "libvorbis"), "vorbis", "ogg"),
        ("a.opus", ("-c:a", "libopus"), "opus", "opus"),
        ("a.m4a", ("-c:a", "aac"), "aac", "m4a"),
        ("a.aiff", (), "pcm_s16be", "aiff"),
    ],
)
def test_probe_recognises_common_formats(
    short_wav: Path, tmp_path: Path, name: str, args: tuple[str, ...], codec: str, extension: str
) -> None:
    info = probe(_ffmpeg(short_wav, tmp_path / name, *args))
    assert info.codec == codec
    assert info.extension == extension
    assert info.channels == 2
    assert info.sample_rate in (44100, 48000)  # Opus always decodes at 48 kHz
    assert info.duration_s == pytest.approx(3.0, abs=0.1)


def test_probe_extension_ignores_the_file_name(short_wav: Path, tmp_path: Path) -> None:
    path = _ffmpeg(short_wav, tmp_path / "upload.bin", "-c:a", "flac", "-f", "flac")
    assert probe(path).extension == "flac"


def test_probe_accepts_mp3_with_cover_art(short_wav: Path, tmp_path: Path) -> None:
    mp3 = _ffmpeg(short_wav, tmp_path / "plain.mp3")
    cover = tmp_path / "cover.png"
    command = "ffmpeg -v error -y -f lavfi -i testsrc=s=64x64 -frames:v 1".split()
    subprocess.run([*command, str(cover)], check=True, timeout=60)
    tagged = tmp_path / "tagged.mp3"
    attach = "-map 0 -map 1 -c copy -id3v2_version 3 -disposition:v attached_pic".split()
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(mp3), "-i", str(cover), *attach]
    subprocess.run([*command, str(tagged)], check=True, timeout=60)
    with av.open(str(tagged)) as container:
        assert container.streams.video, "the test file should carry a cover image"
    info = probe(tagged)
    assert (info.codec, info.extension, info.channels) == ("mp3", "mp3", 2)


def test_music_is_deterministic_and_seeded() -> None:
    a = music(duration_s=2.0, seed=3)
    assert np.array_equal(a, music(duration_s=2.0, seed=3))
    assert not np.array_equal(a, music(duration_s=2.0, seed=4))


def test_music_shape_level_and_stereo() -> None:
    y = music(duration_s=4.0, sample_rate=32000, channels=2)
    assert y.shape == (2, 128000)
    assert y.dtype == np.float32
    assert 20 * np.log10(np.max(np.abs(y))) == pytest.approx(-3.0, abs=0.05)
    # The channels are alike but not identical.
    assert not np.array_equal(y[0], y[1])
    assert np.corrcoef(y[0], y[1])[0, 1] > 0.8


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_music_pulses_at_the_requested_tempo(bpm: float) -> None:
    sr = 22050
    y = music(duration_s=12.0, sample_rate=sr, channels=1, bpm=bpm)[0]
    hop = sr // 200  # 5 ms energy frames
    energy = np.add.reduceat(y.astype(np.float64) ** 2, np.arange(0, y.size, hop))
    onset = np.maximum(np.diff(energy), 0)
    onset -= onset.mean()
    ac = np.correlate(onset, onset, mode="full")[onset.size - 1 :]
    beat_hops = 60.0 / bpm * 200
    lo, hi = int(beat_hops * 0.75), int(beat_hops * 1.4)  # around one beat, away from half-beats
    best = lo + int(np.argmax(ac[lo:hi]))
    assert best / 200 == pytest.approx(60.0 / bpm, abs=0.011)


@pytest.mark.parametrize("bits", [16, 24])
def test_write_wav_round_trips_through_a_decoder(tmp_path: Path, bits: int) -> None:
    y = music(duration_s=1.0, sample_rate=8000, channels=2, seed=5)
    path = tmp_path / f"rt{bits}.wav"
    write_wav(path, y, sample_rate=8000, bits=bits)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    interleaved = np.concatenate(frames, axis=1).reshape(-1, 2).T
    decoded = interleaved / (2.0 ** (31 if bits == 24 else 15))  # FFmpeg widens s24 to s32
    assert decoded.shape == y.shape
    # Within rounding plus the 2**(bits-1) - 1 vs 2**(bits-1) full-scale difference.
    assert np.max(np.abs(decoded - y)) < 1.5 * 2.0 ** -(bits - 1)
