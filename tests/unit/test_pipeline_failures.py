"""Bad inputs and bad parameters: the exact error class, and a message a person can act on."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import (
    AudioError,
    EmptyAudioError,
    NotAudioError,
    ParameterError,
    UnsupportedAudioError,
)
from pipeline.hls import package_hls
from pipeline.probe import probe
from pipeline.synth import music, write_wav

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _wav_bytes(tmp_path: Path, seconds: float = 3.0) -> bytes:
    path = tmp_path / "good.wav"
    write_wav(path, music(duration_s=seconds, sample_rate=44100), sample_rate=44100)
    return path.read_bytes()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _empty(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _write(tmp_path / "empty.wav", b"")


def _random_bytes(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _write(tmp_path / "noise.mp3", rng.bytes(8192))


def _text(tmp_path: Path, rng: np.random.Generator) -> Path:
    lyrics = "Verse 1\nThis is not a song, it is a text file about a song.\n" * 20
    return _write(tmp_path / "lyrics.txt", lyrics.encode())


def _png_junk(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _write(tmp_path / "cover.png", PNG_SIGNATURE + rng.bytes(4096))


def _real_png(tmp_path: Path, rng: np.random.Generator) -> Path:
    path = tmp_path / "cover.png"
    command = "ffmpeg -v error -y -f lavfi -i testsrc=s=64x64 -frames:v 1".split()
    subprocess.run([*command, str(path)], check=True, timeout=60)
    return path


def _video_only(tmp_path: Path, rng: np.random.Generator) -> Path:
    path = tmp_path / "clip.mp4"
    command = "ffmpeg -v error -y -f lavfi -i testsrc=s=64x64:d=1 -c:v mpeg4".split()
    subprocess.run([*command, str(path)], check=True, timeout=60)
    return path


def _truncated_header(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _write(tmp_path / "cut.wav", _wav_bytes(tmp_path)[:30])


def _header_only(tmp_path: Path, rng: np.random.Generator) -> Path:
    return _write(tmp_path / "header.wav", _wav_bytes(tmp_path)[:44])


def _lying_length(tmp_path: Path, rng: np.random.Generator) -> Path:
    # The header announces 3 s of audio; the file stops after about a tenth of a second.
    return _write(tmp_path / "short.wav", _wav_bytes(tmp_path)[: 44 + 4 * 4410])


BAD_INPUTS: list[tuple[Callable[[Path, np.random.Generator], Path], type[AudioError], str, str]] = [
    (_empty, EmptyAudioError, "empty", "empty"),
    (_random_bytes, NotAudioError, "not_audio", "not an audio file: unrecognised format"),
    (_text, NotAudioError, "not_audio", "not an audio file: no audio stream found"),
    (_png_junk, NotAudioError, "not_audio", "not an audio file"),
    (_real_png, NotAudioError, "not_audio", "no audio stream"),
    (_video_only, NotAudioError, "not_audio", "no audio stream"),
    (_truncated_header, NotAudioError, "not_audio", "truncated or corrupt audio"),
    (_header_only, NotAudioError, "not_audio", "truncated or corrupt audio"),
    (_lying_length, NotAudioError, "not_audio", "header says 3.0 s"),
]
# Packaging plays what a file holds; probe() at upload is the gate for a header that lies.
PACKAGING_BAD_INPUTS = [bad for bad in BAD_INPUTS if bad[0] is not _lying_length]


def _ids(cases: list) -> list[str]:
    return [make.__name__.strip("_") for make, *_ in cases]


@pytest.mark.parametrize(("make", "error", "code", "message"), BAD_INPUTS, ids=_ids(BAD_INPUTS))
def test_probe_rejects_bad_input(
    tmp_path: Path,
    rng: np.random.Generator,
    make: Callable[[Path, np.random.Generator], Path],
    error: type[AudioError],
    code: str,
    message: str,
) -> None:
    path = make(tmp_path, rng)
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert type(caught.value) is error
    assert caught.value.code == code
    assert message in str(caught.value)
    assert str(tmp_path) not in str(caught.value)  # no server paths in what a user reads


@pytest.mark.parametrize(
    ("make", "error", "code", "message"), PACKAGING_BAD_INPUTS, ids=_ids(PACKAGING_BAD_INPUTS)
)
def test_package_hls_rejects_bad_input_and_leaves_nothing(
    tmp_path: Path,
    rng: np.random.Generator,
    make: Callable[[Path, np.random.Generator], Path],
    error: type[AudioError],
    code: str,
    message: str,
) -> None:
    path = make(tmp_path, rng)
    out = tmp_path / "out"
    with pytest.raises(AudioError) as caught:
        package_hls(path, out)
    assert type(caught.value) is error
    assert caught.value.code == code
    assert message in str(caught.value)
    assert not (out / "master.m3u8").exists()
    assert not list(out.glob("*/*"))


def test_probe_of_a_missing_file_is_not_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "nothing.wav")


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"bitrate": 0}, "bitrate"),
        ({"bitrate": -128_000}, "bitrate"),
        ({"bitrate": 128.5}, "bitrate"),
        ({"bitrate": True}, "bitrate"),
        ({"segment_s": 0}, "segment_s"),
        ({"segment_s": -6.0}, "segment_s"),
        ({"segment_s": float("nan")}, "segment_s"),
        ({"segment_s": float("inf")}, "segment_s"),
        ({"segment_s": "6"}, "segment_s"),
        ({"rendition": "../escape"}, "rendition"),
        ({"rendition": "a/b"}, "rendition"),
        ({"rendition": ""}, "rendition"),
    ],
)
def test_package_hls_checks_parameters_before_any_work(
    tmp_path: Path, kwargs: dict, named: str
) -> None:
    out = tmp_path / "out"
    # The source does not even exist: the parameter check must come first.
    with pytest.raises(ParameterError, match=named):
        package_hls(tmp_path / "missing.wav", out, **kwargs)
    assert not out.exists()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": float("nan")}, "duration_s"),
        ({"duration_s": 1.0, "sample_rate": 0}, "sample_rate"),
        ({"duration_s": 1.0, "channels": 0}, "channels"),
        ({"duration_s": 1.0, "bpm": -1}, "bpm"),
    ],
)
def test_music_rejects_bad_parameters(kwargs: dict, named: str) -> None:
    with pytest.raises(ParameterError, match=named):
        music(**kwargs)


@pytest.mark.parametrize(
    ("y", "kwargs", "named"),
    [
        (np.zeros((2, 10), np.float32), {"sample_rate": 44100, "bits": 8}, "bits"),
        (np.zeros((2, 10), np.float32), {"sample_rate": 0}, "sample_rate"),
        (np.zeros((2, 10), np.int16), {"sample_rate": 44100}, "dtype"),
        (np.full((2, 10), np.nan, np.float32), {"sample_rate": 44100}, "NaN"),
        (np.zeros((1, 2, 10), np.float32), {"sample_rate": 44100}, "shape"),
    ],
)
def test_write_wav_rejects_bad_input(
    tmp_path: Path, y: np.ndarray, kwargs: dict, named: str
) -> None:
    with pytest.raises(ParameterError, match=named):
        write_wav(tmp_path / "x.wav", y, **kwargs)
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a"])
def test_corruption_mid_stream_names_where_decoding_stopped(
    tmp_path: Path, rng: np.random.Generator, fmt: str
) -> None:
    """A file that probes fine but is garbage from its middle on fails with the position."""
    from pipeline.decode import open_source

    wav = tmp_path / "good.wav"
    write_wav(wav, music(duration_s=30.0, sample_rate=44100, seed=3), sample_rate=44100)
    encoded = tmp_path / f"good.{fmt}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(encoded)], check=True)
    data = bytearray(encoded.read_bytes())
    start, length = len(data) // 2, len(data) // 3
    data[start:start + length] = rng.bytes(length)
    bad = _write(tmp_path / f"bad.{fmt}", bytes(data))

    probe(bad)  # the damage is past what the upload check reads
    with pytest.raises(NotAudioError) as info, open_source(bad) as source:
        for _ in source.blocks():
            pass
    message = str(info.value)
    position = message.split("decoder error at ", 1)[1][:5]
    minutes, seconds = (int(part) for part in position.split(":"))
    # Half the bytes in means about half the 30 s in; the message says where, as mm:ss.
    assert minutes == 0 and 10 <= seconds <= 20, message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_bad_audio_named_by_position(tmp_path: Path, bad: float) -> None:
    from pipeline.decode import open_source
    from tests.helpers import write_float_wav

    y = music(duration_s=75.0, sample_rate=8000, channels=2, seed=1)
    y[1, 64 * 8000 + 17] = bad
    path = tmp_path / "broken.wav"
    write_float_wav(path, y, sample_rate=8000)
    with open_source(path) as source, pytest.raises(NotAudioError) as caught:
        for _ in source.blocks(block_frames=4096):
            pass
    assert str(caught.value) == "the audio holds NaN or infinite samples at 01:04"


def test_finite_float_samples_decode_unchanged(tmp_path: Path) -> None:
    from pipeline.decode import open_source
    from tests.helpers import write_float_wav

    y = music(duration_s=3.0, sample_rate=8000, channels=2, seed=2)
    path = tmp_path / "fine.wav"
    write_float_wav(path, y, sample_rate=8000)
    with open_source(path) as source:
        decoded = np.concatenate(list(source.blocks(block_frames=1000)), axis=1)
    np.testing.assert_array_equal(decoded, y.astype(np.float32))


# -- decompression bombs, lying headers, cut files, unsupported streams ---------------------


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three minutes of silence (about 40 KB of FLAC), told in three ways, and a cut file."""
    from tests.helpers import silent_flac

    folder = tmp_path_factory.mktemp("bombs")
    full = silent_flac(folder / "full.flac", 180)
    cut = folder / "cut.flac"
    tone = folder / "tone.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=f=440:r=44100:d=5", "-ac", "2", str(tone)], check=True, timeout=60)
    cut.write_bytes(tone.read_bytes()[: tone.stat().st_size // 2])
    return {
        "full": full,
        "lying": silent_flac(folder / "lying.flac", 180, claim_s=10),
        "silent header": silent_flac(folder / "nothing.flac", 180, claim_s=0),
        "cut": cut,
    }


def test_probe_refuses_audio_longer_than_the_limit(bombs: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedAudioError) as caught:
        probe(bombs["full"], max_duration_s=60)
    assert caught.value.code == "too_long"
    assert str(caught.value) == ("the audio lasts 03:00 (180 s), longer than the limit of "
                                 "01:00 (60 s)")
    assert probe(bombs["full"], max_duration_s=200).duration_s == pytest.approx(180)


def test_probe_refuses_a_header_that_hides_hours_of_frames(bombs: dict[str, Path]) -> None:
    # STREAMINFO says 10 s over 180 s of frames: the probe reads the declared end.
    with pytest.raises(NotAudioError) as caught:
        probe(bombs["lying"], max_duration_s=60)
    assert "the header says 10.0 s but the data goes on past 10.5 s" in str(caught.value)


def test_probe_refuses_a_flac_cut_in_half(bombs: dict[str, Path]) -> None:
    with pytest.raises(NotAudioError) as caught:
        probe(bombs["cut"])
    message = str(caught.value)
    assert message.startswith("truncated or corrupt audio: the header says 5.0 s but the data "
                              "ends after 2."), message


def test_a_header_that_says_nothing_is_measured_by_the_probe_and_held_by_the_decoder(
    bombs: dict[str, Path], tmp_path: Path
) -> None:
    """No duration declared: the probe counts the packets; decoding stops at the limit."""
    from pipeline.decode import open_source
    from pipeline.process import process

    assert probe(bombs["silent header"], max_duration_s=200).duration_s == pytest.approx(180)
    with pytest.raises(UnsupportedAudioError) as refused:
        probe(bombs["silent header"], max_duration_s=60)
    assert refused.value.code == "too_long"
    assert str(refused.value) == "the audio goes on past the limit of 01:00 (60 s)"
    decoded = 0
    with open_source(bombs["silent header"]) as source, \
            pytest.raises(UnsupportedAudioError) as caught:
        for block in source.blocks(block_frames=4096, max_duration_s=60):
            decoded += block.shape[1]
    assert caught.value.code == "too_long"
    assert str(caught.value) == ("the audio is longer than the limit of 01:00 (60 s): "
                                 "decoding stopped there")
    assert 60 * 8000 - 4096 <= decoded <= 60 * 8000
    out = tmp_path / "out"
    with pytest.raises(UnsupportedAudioError):
        process(bombs["silent header"], out, max_duration_s=60)
    assert not out.exists()


def test_decoding_holds_a_counted_header_to_its_word(
    bombs: dict[str, Path], tmp_path: Path
) -> None:
    """Past the probe (an original replaced in the store), the decoder refuses the same."""
    from pipeline.decode import open_source
    from pipeline.process import process

    decoded = 0
    with open_source(bombs["lying"]) as source, pytest.raises(NotAudioError) as caught:
        for block in source.blocks(block_frames=4096):
            decoded += block.shape[1]
    assert "the header says 10.0 s but the data goes on past" in str(caught.value)
    assert decoded < 11 * 8000  # stopped at the promise, not at three minutes
    with pytest.raises(NotAudioError, match="the data ends after 2."):
        process(bombs["cut"], tmp_path / "cut")
    assert not (tmp_path / "cut").exists()


def test_processing_stops_within_one_block_of_being_told(
    bombs: dict[str, Path], tmp_path: Path
) -> None:
    import threading

    from pipeline.process import BLOCK_FRAMES, process

    stop = threading.Event()
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        stop.set()  # after the first block

    with pytest.raises(InterruptedError):
        process(bombs["full"], tmp_path / "out", progress=progress, stop=stop)
    assert seen == [pytest.approx(BLOCK_FRAMES / (180 * 8000))]
    assert not (tmp_path / "out").exists()


def _tone_wav(path: Path, *, rate: int, channels: int) -> Path:
    from tests.helpers import write_float_wav

    t = np.arange(rate // 2) / rate
    y = np.tile(0.1 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)
    write_float_wav(path, y, sample_rate=rate)
    return path


@pytest.mark.parametrize(("rate", "channels", "code", "message"), [
    (4000, 1, "unsupported_sample_rate",
     "unsupported sample rate: 4000 Hz (supported: 8000-192000 Hz)"),
    (384000, 2, "unsupported_sample_rate",
     "unsupported sample rate: 384000 Hz (supported: 8000-192000 Hz)"),
    (44100, 9, "unsupported_channels",
     "unsupported channel count: 9 channels (supported: 1-8)"),
])
def test_streams_the_pipeline_does_not_process_are_refused_naming_the_value(
    tmp_path: Path, rate: int, channels: int, code: str, message: str
) -> None:
    from pipeline.decode import open_source

    path = _tone_wav(tmp_path / "x.wav", rate=rate, channels=channels)
    for opened in (probe, open_source):
        with pytest.raises(UnsupportedAudioError) as caught:
            opened(path)
        assert caught.value.code == code
        assert str(caught.value) == message


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (192000, 2), (48000, 8)])
def test_the_edges_of_what_the_pipeline_processes_are_accepted(
    tmp_path: Path, rate: int, channels: int
) -> None:
    info = probe(_tone_wav(tmp_path / "x.wav", rate=rate, channels=channels))
    assert (info.sample_rate, info.channels) == (rate, channels)
