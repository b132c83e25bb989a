"""package_hls() output, checked with an independent parser (m3u8) and decoder (the ffmpeg CLI)."""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import m3u8
import numpy as np
import pytest

from pipeline.hls import HlsPackage, package_hls
from pipeline.synth import music, write_wav


@dataclass(frozen=True)
class Packaged:
    out: Path
    package: HlsPackage
    progress: list[float]


def _ffprobe(path: Path, entries: str) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def _decodes_cleanly(master: Path) -> subprocess.CompletedProcess[str]:
    # Without -xerror ffmpeg exits 0 even when it hit decode errors.
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(master), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _decoded_duration(master: Path) -> float:
    return float(_ffprobe(master, "format=duration")["format"]["duration"])


def _joined(rendition_dir: Path, segment: str) -> bytes:
    """Init segment + one media segment: a playable fragmented MP4 for ffprobe."""
    return (rendition_dir / "init.mp4").read_bytes() + (rendition_dir / segment).read_bytes()


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True, timeout=60
    )
    return dst


@pytest.fixture(scope="module")
def packaged(demo_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    out = tmp_path_factory.mktemp("hls")
    progress: list[float] = []
    package = package_hls(demo_wav, out, progress=progress.append)
    return Packaged(out, package, progress)


def test_master_playlist_lists_one_aac_rendition(packaged: Packaged) -> None:
    master = m3u8.load(str(packaged.out / "master.m3u8"))
    assert master.is_variant
    assert master.is_independent_segments
    assert master.version in (6, 7)
    [variant] = master.playlists
    assert variant.uri == "aac_128k/index.m3u8"
    assert variant.stream_info.codecs == "mp4a.40.2"
    [rendition] = packaged.package.renditions
    assert variant.stream_info.bandwidth == rendition.bandwidth
    assert variant.stream_info.average_bandwidth == rendition.average_bandwidth
    assert packaged.package.master == "master.m3u8"


def test_media_playlist_is_vod_fmp4_with_relative_uris(packaged: Packaged) -> None:
    playlist = m3u8.load(str(packaged.out / "aac_128k" / "index.m3u8"))
    assert playlist.playlist_type == "vod"
    assert playlist.is_endlist
    assert playlist.is_independent_segments
    assert [s.uri for s in playlist.segment_map] == ["init.mp4"]
    uris = [s.uri for s in playlist.segments]
    assert uris == [f"seg_{i:05d}.m4s" for i in range(1, len(uris) + 1)]
    for name in ["init.mp4", *uris]:
        assert (packaged.out / "aac_128k" / name).stat().st_size > 0
    [rendition] = packaged.package.renditions
    assert rendition.playlist == "aac_128k/index.m3u8"
    assert rendition.init == "aac_128k/init.mp4"
    assert rendition.segments == tuple(f"aac_128k/{u}" for u in uris)


def test_segments_last_about_six_seconds_within_target_duration(packaged: Packaged) -> None:
    playlist = m3u8.load(str(packaged.out / "aac_128k" / "index.m3u8"))
    durations = [s.duration for s in playlist.segments]
    assert all(math.ceil(d) <= playlist.target_duration for d in durations)
    assert playlist.target_duration <= 7
    assert len(durations) in (5, 6)  # 30 s, plus AAC priming that may spill into a tiny tail
    for d in durations[:-1]:
        assert d == pytest.approx(6.0, abs=0.05)
    assert sum(durations) == pytest.approx(30.0, abs=0.1)
    assert tuple(durations) == pytest.approx(packaged.package.renditions[0].segment_durations)


def test_package_decodes_cleanly_and_lasts_as_long_as_the_source(packaged: Packaged) -> None:
    master = packaged.out / "master.m3u8"
    result = _decodes_cleanly(master)
    assert result.returncode == 0, result.stderr
    assert _decoded_duration(master) == pytest.approx(30.0, abs=0.1)
    assert packaged.package.duration_s == pytest.approx(30.0, abs=1e-3)


def _decode_f32(path: Path) -> np.ndarray:
    """Decode with the ffmpeg CLI to planar float32 [shape=(2, n)] at 48 kHz."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", "48000", "-"],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2).T


def test_package_sounds_like_the_source(packaged: Packaged, demo_wav: Path) -> None:
    source = _decode_f32(demo_wav)
    played = _decode_f32(packaged.out / "master.m3u8")
    source_db = 20 * np.log10(np.sqrt(np.mean(source**2, axis=1)))
    played_db = 20 * np.log10(np.sqrt(np.mean(played**2, axis=1)))
    assert played_db == pytest.approx(source_db, abs=0.5)
    # Left and right stay distinct, as in the source.
    assert not np.allclose(played[0], played[1], atol=1e-3)


def test_segments_hold_aac_lc_48k_stereo(packaged: Packaged, tmp_path: Path) -> None:
    rendition = packaged.out / "aac_128k"
    for segment in ("seg_00001.m4s", "seg_00003.m4s"):
        joined = tmp_path / f"{segment}.mp4"
        joined.write_bytes(_joined(rendition, segment))
        [stream] = _ffprobe(joined, "stream=codec_name,profile,sample_rate,channels")["streams"]
        assert stream["codec_name"] == "aac"
        assert stream["profile"] == "LC"
        assert int(stream["sample_rate"]) == 48000
        assert stream["channels"] == 2


def test_bandwidths_fit_a_128k_stream(packaged: Packaged) -> None:
    [rendition] = packaged.package.renditions
    assert rendition.bitrate == 128_000
    assert rendition.bandwidth >= rendition.average_bandwidth
    assert 100_000 <= rendition.average_bandwidth <= 200_000
    assert 100_000 <= rendition.bandwidth <= 200_000
    seg_dir = packaged.out / "aac_128k"
    total_bytes = sum((seg_dir / Path(s).name).stat().st_size for s in rendition.segments)
    expected = total_bytes * 8 / sum(rendition.segment_durations)
    assert rendition.average_bandwidth == pytest.approx(expected, abs=1)


def test_progress_runs_from_zero_to_one(packaged: Packaged) -> None:
    progress = packaged.progress
    assert progress[0] == 0.0
    assert progress[-1] == 1.0
    assert progress == sorted(progress)
    assert len(progress) > 10  # reported while decoding, not just at the ends


def test_mono_22k_source_becomes_48k_stereo(tmp_path: Path) -> None:
    src = tmp_path / "mono.wav"
    write_wav(src, music(duration_s=8.0, sample_rate=22050, channels=1), sample_rate=22050)
    package = package_hls(src, tmp_path / "out")
    rendition = tmp_path / "out" / "aac_128k"
    joined = tmp_path / "first.mp4"
    joined.write_bytes(_joined(rendition, "seg_00001.m4s"))
    [stream] = _ffprobe(joined, "stream=sample_rate,channels")["streams"]
    assert (int(stream["sample_rate"]), stream["channels"]) == (48000, 2)
    assert package.duration_s == pytest.approx(8.0, abs=1e-3)
    master = tmp_path / "out" / "master.m3u8"
    assert _decodes_cleanly(master).returncode == 0
    assert _decoded_duration(master) == pytest.approx(8.0, abs=0.1)


@pytest.mark.parametrize(("name", "args"), [("src.mp3", ("-b:a", "192k")), ("src.flac", ())])
def test_compressed_sources_package_to_the_same_length(
    demo_wav: Path, tmp_path: Path, name: str, args: tuple[str, ...]
) -> None:
    src = _ffmpeg(demo_wav, tmp_path / name, "-t", "10", *args)
    package = package_hls(src, tmp_path / "out")
    assert package.duration_s == pytest.approx(10.0, abs=0.06)  # MP3 decoders may add padding
    master = tmp_path / "out" / "master.m3u8"
    assert _decodes_cleanly(master).returncode == 0
    assert _decoded_duration(master) == pytest.approx(10.0, abs=0.1)


def test_joined_mp3s_that_change_rate_and_layout_midway(demo_wav: Path, tmp_path: Path) -> None:
    # Two MP3s glued together with cat: 44.1 kHz stereo, then 22.05 kHz mono with its own ID3
    # tag in the middle of the stream (an undecodable packet that players skip).
    first = _ffmpeg(demo_wav, tmp_path / "a.mp3", "-t", "5")
    second = _ffmpeg(demo_wav, tmp_path / "b.mp3", "-t", "5", "-ar", "22050", "-ac", "1")
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    package = package_hls(joined, tmp_path / "out")
    assert package.duration_s == pytest.approx(10.0, abs=0.1)
    master = tmp_path / "out" / "master.m3u8"
    assert _decodes_cleanly(master).returncode == 0
    assert _decoded_duration(master) == pytest.approx(10.0, abs=0.15)


def test_bitrate_segment_length_and_rendition_name_are_honoured(
    demo_wav: Path, tmp_path: Path
) -> None:
    package = package_hls(demo_wav, tmp_path, bitrate=64_000, segment_s=2.0)
    [rendition] = package.renditions
    assert rendition.name == "aac_64k"
    assert rendition.playlist == "aac_64k/index.m3u8"
    playlist = m3u8.load(str(tmp_path / rendition.playlist))
    durations = [s.duration for s in playlist.segments]
    assert all(math.ceil(d) <= playlist.target_duration for d in durations)
    assert all(d == pytest.approx(2.0, abs=0.05) for d in durations[:-1])
    assert 50_000 <= rendition.average_bandwidth <= 100_000

    named = package_hls(demo_wav, tmp_path / "named", rendition="low")
    assert named.renditions[0].playlist == "low/index.m3u8"
    assert (tmp_path / "named" / "low" / "index.m3u8").is_file()


def test_repackaging_replaces_the_previous_segments(demo_wav: Path, tmp_path: Path) -> None:
    package_hls(demo_wav, tmp_path)  # 30 s: six segments
    short = _ffmpeg(demo_wav, tmp_path / "short.wav", "-t", "7")
    package = package_hls(short, tmp_path)
    listed = {Path(s).name for s in package.renditions[0].segments}
    on_disk = {p.name for p in (tmp_path / "aac_128k").glob("seg_*.m4s")}
    assert on_disk == listed
    assert len(listed) == 2
    assert _decoded_duration(tmp_path / "master.m3u8") == pytest.approx(7.0, abs=0.1)
