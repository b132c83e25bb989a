"""The ABR ladder: aligned fMP4 HLS checked with m3u8, ffprobe and ffmpeg; publishing order."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import m3u8
import numpy as np
import pytest

from pipeline.decode import StereoResampler, open_source
from pipeline.errors import ParameterError
from pipeline.hls import (
    DEFAULT_LADDER,
    FLAC_RUNG,
    HlsPackage,
    LadderWriter,
    Rung,
    package_ladder,
)
from pipeline.synth import music, write_wav

SECONDS = 10.0
SEGMENT_S = 2.0
LADDER = (*DEFAULT_LADDER, FLAC_RUNG)
AAC_FRAME_S = 1024 / 48000
SESSION = {"com.veza.loudness": 'I=-14.2 LUFS, "TP"=-1.0 dBTP', "com.veza.gain": "-0.8"}


@dataclass(frozen=True)
class Ladder:
    src: Path
    out: Path
    package: HlsPackage
    calls: list[tuple[str, str | None]]  # (relative path, playlist text at the call)
    snapshot: Path  # a copy of aac_128k taken while its playlist was an EVENT playlist


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Ladder:
    root = tmp_path_factory.mktemp("ladder")
    src = root / "src.wav"
    write_wav(src, music(duration_s=SECONDS, sample_rate=44100, seed=5), sample_rate=44100)
    out = root / "out"
    snapshot = root / "snapshot"
    calls: list[tuple[str, str | None]] = []

    def on_file(relative: str, absolute: Path) -> None:
        assert absolute == out / relative and absolute.is_file()
        text = absolute.read_text() if relative.endswith(".m3u8") else None
        calls.append((relative, text))
        if (
            relative == "aac_128k/index.m3u8"
            and text
            and "#EXTINF" in text
            and (not snapshot.exists() and text.count("#EXTINF") >= 2)
        ):
            shutil.copytree(absolute.parent, snapshot)

    package = package_ladder(
        src, out, rungs=LADDER, segment_s=SEGMENT_S, on_file=on_file, session_data=SESSION
    )
    return Ladder(src, out, package, calls, snapshot)


def _ffprobe(path: Path, *args: str) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def _decodes_cleanly(playlist: Path, *live: str) -> None:
    result = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-xerror",
            *live,
            "-i",
            str(playlist),
            "-map",
            "0:a",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_master_lists_every_rung_with_codecs_and_real_bandwidths(ladder: Ladder) -> None:
    master = m3u8.load(str(ladder.out / "master.m3u8"))
    assert master.is_variant and master.is_independent_segments
    assert [p.uri for p in master.playlists] == [f"{r.name}/index.m3u8" for r in LADDER]
    assert [p.stream_info.codecs for p in master.playlists] == ["mp4a.40.2"] * 3 + ["fLaC"]
    for variant, rendition in zip(master.playlists, ladder.package.renditions, strict=True):
        assert variant.stream_info.bandwidth == rendition.bandwidth
        assert variant.stream_info.average_bandwidth == rendition.average_bandwidth
        assert rendition.bandwidth >= rendition.average_bandwidth
    averages = [r.average_bandwidth for r in ladder.package.renditions]
    assert averages == sorted(averages)  # 64k < 128k < 256k < FLAC
    for rendition in ladder.package.renditions[:3]:
        assert rendition.bitrate is not None
        assert 0.8 * rendition.bitrate <= rendition.average_bandwidth <= 1.3 * rendition.bitrate
        assert rendition.bandwidth <= 1.5 * rendition.bitrate
        folder = ladder.out / rendition.name
        total = sum((folder / Path(s).name).stat().st_size for s in rendition.segments)
        expected = total * 8 / sum(rendition.segment_durations)
        assert rendition.average_bandwidth == pytest.approx(expected, abs=1)
    assert averages[3] > 400_000  # lossless 48 kHz stereo music


def test_session_data_is_in_the_master_and_parses(ladder: Ladder) -> None:
    master = m3u8.load(str(ladder.out / "master.m3u8"))
    parsed = {d.data_id: d.value for d in master.session_data}
    assert parsed == {
        "com.veza.loudness": "I=-14.2 LUFS, 'TP'=-1.0 dBTP",  # quotes cannot be escaped in HLS
        "com.veza.gain": "-0.8",
    }


def test_media_playlists_are_vod_fmp4_within_target_duration(ladder: Ladder) -> None:
    extinfs = []
    for rendition in ladder.package.renditions:
        text = (ladder.out / rendition.playlist).read_text()
        assert "#EXT-X-VERSION:7\n" in text
        playlist = m3u8.loads(text)
        assert playlist.playlist_type == "vod" and playlist.is_endlist
        assert playlist.is_independent_segments
        assert [s.uri for s in playlist.segment_map] == ["init.mp4"]
        durations = [s.duration for s in playlist.segments]
        assert all(math.ceil(d) <= playlist.target_duration for d in durations)
        assert all(d <= SEGMENT_S + AAC_FRAME_S for d in durations)
        assert [s.uri for s in playlist.segments] == [
            f"seg_{i:05d}.m4s" for i in range(1, len(durations) + 1)
        ]
        assert tuple(durations) == pytest.approx(rendition.segment_durations)
        assert sum(durations) == pytest.approx(SECONDS, abs=0.1)
        extinfs.append(durations)
    assert all(e == extinfs[0] for e in extinfs)  # the same cuts in every rendition


def test_segments_start_at_the_same_time_in_every_rendition(ladder: Ladder, tmp_path: Path) -> None:
    starts: dict[str, list[float]] = {}
    for rendition in ladder.package.renditions:
        folder = ladder.out / rendition.name
        starts[rendition.name] = []
        for segment in rendition.segments:
            joined = tmp_path / f"{rendition.name}.mp4"
            joined.write_bytes(
                (folder / "init.mp4").read_bytes() + (ladder.out / segment).read_bytes()
            )
            first = _ffprobe(joined, "-show_entries", "packet=pts_time", "-read_intervals", "%+#1")
            starts[rendition.name].append(float(first["packets"][0]["pts_time"]))
    reference = starts["aac_64k"]
    assert len(reference) >= 5
    assert reference[0] == 0.0
    for name, times in starts.items():
        assert times == reference, name
    step = np.diff(reference)
    # With a FLAC rung, segments hold whole 4096-sample FLAC frames: 23 of them for 2 s.
    assert np.allclose(step, step[0]) and step[0] == pytest.approx(23 * 4096 / 48000, abs=1e-5)


@pytest.mark.parametrize("rung", LADDER, ids=[r.name for r in LADDER])
def test_every_rendition_decodes_cleanly_for_the_source_duration(
    ladder: Ladder, rung: Rung
) -> None:
    playlist = ladder.out / rung.name / "index.m3u8"
    _decodes_cleanly(playlist)
    duration = float(_ffprobe(playlist, "-show_entries", "format=duration")["format"]["duration"])
    assert duration == pytest.approx(SECONDS, abs=0.1)
    [stream] = _ffprobe(
        ladder.out / rung.name / "index.m3u8",
        "-show_entries",
        "stream=codec_name,profile,sample_rate,channels",
    )["streams"]
    assert (int(stream["sample_rate"]), stream["channels"]) == (48000, 2)
    assert stream["codec_name"] == rung.codec
    if rung.codec == "aac":
        assert stream["profile"] == "LC"


def test_master_decodes_cleanly(ladder: Ladder) -> None:
    _decodes_cleanly(ladder.out / "master.m3u8")
    assert ladder.package.duration_s == pytest.approx(SECONDS, abs=1e-3)


def test_flac_rung_is_the_48k_stream_losslessly_after_the_aac_priming(ladder: Ladder) -> None:
    with open_source(ladder.src) as source:
        resampler = StereoResampler(source.info.sample_rate)
        parts = [resampler.process(b) for b in source.blocks()]
    expected = np.concatenate([*parts, resampler.flush()], axis=1)
    expected16 = np.clip(np.rint(expected * 32768), -32768, 32767).astype(np.int16)
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(ladder.out / "flac" / "index.m3u8"),
            "-f",
            "s16le",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    decoded = np.frombuffer(raw, "<i2").reshape(-1, 2).T
    # The timeline of every rendition starts with the AAC encoder's 1024 samples of priming.
    assert not decoded[:, :1024].any()
    assert decoded.shape[1] - 1024 == expected16.shape[1]
    np.testing.assert_array_equal(decoded[:, 1024:], expected16)


def test_files_are_published_in_an_order_safe_for_players(ladder: Ladder) -> None:
    published: set[str] = set()
    master_seen = 0
    for relative, text in ladder.calls:
        if relative.endswith("index.m3u8"):
            rung = relative.split("/")[0]
            assert f"{rung}/init.mp4" in published
            listed = {f"{rung}/{s.uri}" for s in m3u8.loads(text or "").segments}
            assert listed and listed <= published  # a segment before the playlist listing it
        elif relative == "master.m3u8":
            master_seen += 1
            for variant in m3u8.loads(text or "").playlists:
                assert variant.uri in published
        else:
            assert relative not in published  # segments and inits are published once
        published.add(relative)
    assert master_seen == 2  # an early master, then the final one
    assert ladder.calls[-1][0] == "master.m3u8"
    first_master = next(i for i, (r, _) in enumerate(ladder.calls) if r == "master.m3u8")
    assert first_master < len(ladder.calls) // 2  # early: a player can start while encoding
    on_disk = {p.relative_to(ladder.out).as_posix() for p in ladder.out.rglob("*") if p.is_file()}
    assert published == on_disk

    for rendition in ladder.package.renditions:
        texts = [t for r, t in ladder.calls if r == rendition.playlist]
        assert len(texts) == len(rendition.segments) + 1
        kinds = [m3u8.loads(t or "").playlist_type for t in texts]
        assert kinds == ["event"] * (len(texts) - 1) + ["vod"]
        assert not any("#EXT-X-ENDLIST" in (t or "") for t in texts[:-1])


def test_an_event_playlist_taken_mid_way_plays(ladder: Ladder) -> None:
    playlist = ladder.snapshot / "index.m3u8"
    parsed = m3u8.load(str(playlist))
    assert parsed.playlist_type == "event" and not parsed.is_endlist
    assert 2 <= len(parsed.segments) < len(ladder.package.renditions[1].segments)
    # Without ENDLIST ffmpeg plays it as live: from the first segment, and stop waiting for more.
    _decodes_cleanly(playlist, "-live_start_index", "0", "-m3u8_hold_counters", "0")


def test_writer_driven_directly_with_odd_blocks(tmp_path: Path, rng: np.random.Generator) -> None:
    y = music(duration_s=3.0, sample_rate=48000, seed=6)
    names: list[str] = []
    with LadderWriter(
        tmp_path,
        rungs=(Rung("low", "aac", 48_000),),
        segment_s=1.0,
        on_file=lambda rel, _: names.append(rel),
        session_data={"com.veza.a": "1"},
    ) as writer:
        start = 0
        while start < y.shape[1]:
            n = int(rng.integers(1, 20000))
            writer.write(y[:, start : start + n])
            start += n
        writer.write(np.empty((2, 0), np.float32))
        package = writer.finish(session_data={"com.veza.loudness": "-9.1"})
    assert package.duration_s == pytest.approx(3.0)
    assert [r.name for r in package.renditions] == ["low"]
    master = m3u8.load(str(tmp_path / "master.m3u8"))
    assert {d.data_id: d.value for d in master.session_data} == {
        "com.veza.a": "1",
        "com.veza.loudness": "-9.1",
    }
    assert names[0] == "low/init.mp4" and names[-1] == "master.m3u8"
    _decodes_cleanly(tmp_path / "master.m3u8")


def test_an_error_while_writing_removes_the_files(tmp_path: Path) -> None:
    y = music(duration_s=4.0, sample_rate=48000, seed=7)
    (tmp_path / "aac_64k").mkdir()
    keep = tmp_path / "aac_64k" / "notes.txt"
    keep.write_text("not ours")
    with pytest.raises(KeyError), LadderWriter(tmp_path, segment_s=1.0) as writer:  # noqa: PT012
        for i in range(0, y.shape[1], 4800):
            writer.write(y[:, i : i + 4800])
        raise KeyError("caller failed")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [keep]
    with pytest.raises(RuntimeError, match="finished or aborted"):
        writer.write(y[:, :10])


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"rungs": ()}, "rungs"),
        ({"rungs": (Rung("a", "aac", 64_000), Rung("a", "aac", 96_000))}, "unique"),
        ({"segment_s": 0}, "segment_s"),
        ({"segment_s": float("nan")}, "segment_s"),
        ({"session_data": {"bad id": "x"}}, "DATA-ID"),
        ({"session_data": {"com.veza.x": 3}}, "must be a str"),
    ],
)
def test_writer_checks_parameters_first(tmp_path: Path, kwargs: dict, named: str) -> None:
    with pytest.raises(ParameterError, match=named):
        LadderWriter(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("x", "mp3", 128_000), "codec"),
        (("x", "aac", None), "bitrate"),
        (("x", "aac", 0), "bitrate"),
        (("x", "flac", 128_000), "bitrate"),
        (("../x", "aac", 128_000), "rendition"),
    ],
)
def test_rung_checks_its_fields(args: tuple, named: str) -> None:
    with pytest.raises(ParameterError, match=named):
        Rung(*args)


def test_writer_rejects_blocks_of_the_wrong_shape(tmp_path: Path) -> None:
    with LadderWriter(tmp_path, rungs=(FLAC_RUNG,)) as writer:
        with pytest.raises(ParameterError, match="shape"):
            writer.write(np.zeros((1, 100), np.float32))
        with pytest.raises(ParameterError, match="float32"):
            writer.write(np.zeros((2, 100)))
        with pytest.raises(ParameterError, match="no audio"):
            writer.finish()
