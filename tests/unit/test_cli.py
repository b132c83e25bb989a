"""The `veza` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import m3u8
import pytest

from tests.helpers import decode_strictly, ffprobe_duration, silent_flac
from veza.cli import build_parser

VEZA = str(Path(sys.executable).parent / "veza")


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VEZA, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})


def _commands(parser, prefix=()):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_every_command_has_help() -> None:
    commands = list(_commands(build_parser()))
    assert ("db", "upgrade") in commands and ("serve", "worker") in commands
    assert ("up",) in commands and ("ingest",) in commands
    for command in [(), *commands]:
        result = run(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "usage: veza" in result.stdout


def test_ingest_writes_a_playable_package_and_its_analysis(
    demo_wav: Path, tmp_path: Path
) -> None:
    result = run("ingest", str(demo_wav), "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["duration_s"] == pytest.approx(30.0, abs=0.05)
    assert (summary["sample_rate"], summary["channels"], summary["codec"]) == (
        44100, 2, "pcm_s16le")
    loudness = summary["loudness"]
    assert set(loudness) == {"integrated_lufs", "range_lu", "true_peak_dbtp",
                             "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs"}
    # music() peaks at -3 dBFS; its loudness is that of a dense mix.
    assert loudness["sample_peak_dbfs"] == pytest.approx(-3.0, abs=0.05)
    assert -25 < loudness["integrated_lufs"] < -8
    assert loudness["true_peak_dbtp"] >= loudness["sample_peak_dbfs"]
    gain = summary["gain_db"]
    assert gain == pytest.approx(min(-14 - loudness["integrated_lufs"],
                                     -1 - loudness["true_peak_dbtp"]), abs=0.02)
    assert summary["tempo_bpm"] == pytest.approx(120.0, abs=1.0)
    assert summary["key"].endswith((" major", " minor")) and 0 <= summary["key_confidence"] <= 1
    assert summary["cue_in_s"] == pytest.approx(0.0, abs=0.05)
    assert summary["cue_out_s"] == pytest.approx(30.0, abs=0.05)
    assert [r["name"] for r in summary["renditions"]] == ["aac_64k", "aac_128k", "aac_256k"]
    for r in summary["renditions"]:
        assert r["codec"] == "mp4a.40.2" and r["segments"] in (5, 6)
        assert r["bitrate"] * 0.9 < r["average_bandwidth"] <= r["bandwidth"] < r["bitrate"] * 1.3
    assert {"decode", "loudness", "tempo", "key", "total"} <= set(summary["timings"])
    out = tmp_path / "out" / summary["id"]
    master = Path(summary["master"])
    assert master == out / "master.m3u8"
    parsed = m3u8.load(str(master))
    assert [p.stream_info.codecs for p in parsed.playlists] == ["mp4a.40.2"] * 3
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["tempo_bpm"] == summary["tempo_bpm"] and len(analysis["beats_s"]) > 50
    waveform = json.loads((out / "waveform.json").read_text())
    assert waveform["version"] == 2 and waveform["length"] * 2 == len(waveform["data"])
    wav = tmp_path / "decoded.wav"
    decode_strictly(master, wav)
    assert ffprobe_duration(wav) == pytest.approx(30.0, abs=0.1)


def test_ingest_prints_a_summary_without_json(demo_wav: Path, tmp_path: Path) -> None:
    result = run("ingest", str(demo_wav), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("demo.wav: 30.00 s, pcm_s16le 44100 Hz 2 ch")
    assert "tempo 12" in result.stdout or "tempo 119" in result.stdout
    assert "aac_256k: " in result.stdout


BAD_FILES = {
    "empty.wav": (b"", "the file is empty"),
    "notes.txt": (b"Not audio, just some words.\n" * 40, "not an audio file"),
    "cover.png": (b"\x89PNG\r\n\x1a\n" + bytes(4000), "not an audio file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_ingest_refuses_unusable_input_with_exit_2(name: str, tmp_path: Path) -> None:
    data, words = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = run("ingest", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("veza: ") and words in line, line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_ingest_refuses_random_bytes_and_a_truncated_file(
    rng, demo_wav: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    for name, data in (("noise.mp3", rng.bytes(50_000)),
                       ("cut.wav", demo_wav.read_bytes()[:44])):
        path = tmp_path / name
        path.write_bytes(data)
        result = run("ingest", str(path), "--out", str(tmp_path / "out"))
        assert result.returncode == 2, (name, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_ingest_holds_the_uploads_limits_on_duration_sample_rate_and_channels(
    tmp_path: Path,
) -> None:
    """`veza ingest` refuses what an upload refuses, naming the limit, with exit 2: audio
    longer than VEZA_MAX_DURATION_S (as declared, or counted where the header says nothing),
    and sample rates the pipeline does not process."""
    limit = {"VEZA_MAX_DURATION_S": "10"}
    cases = [
        (silent_flac(tmp_path / "long.flac", 30), limit,
         "longer than the limit of 00:10 (10 s)"),
        (silent_flac(tmp_path / "unsaid.flac", 30, claim_s=0), limit,
         "the audio goes on past the limit of 00:10 (10 s)"),
        (silent_flac(tmp_path / "low.flac", 2, sample_rate=4000), {},
         "unsupported sample rate: 4000 Hz (supported: 8000-192000 Hz)"),
    ]
    for path, env, words in cases:
        out = tmp_path / f"out-{path.stem}"
        result = run("ingest", str(path), "--out", str(out), env=env)
        assert result.returncode == 2, (path.name, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("veza: ") and words in line, (path.name, line)
    # Within the limit, the same silence is processed.
    result = run("ingest", str(tmp_path / "long.flac"), "--out", str(tmp_path / "ok"),
                 "--json", env={"VEZA_MAX_DURATION_S": "60"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duration_s"] == pytest.approx(30.0, abs=0.01)


def test_silence_is_valid_input_with_null_loudness(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(44100 * 4 * 8))
    result = run("ingest", str(path), "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["loudness"]["integrated_lufs"] is None
    assert summary["loudness"]["true_peak_dbtp"] is None
    assert summary["gain_db"] is None and summary["tempo_bpm"] is None
    assert summary["key"] is None and summary["key_confidence"] is None
    assert summary["duration_s"] == pytest.approx(8.0, abs=0.01)
    decode_strictly(Path(summary["master"]), tmp_path / "decoded.wav")


def test_ingest_refuses_a_wav_whose_header_lies_about_its_length(
    demo_wav: Path, tmp_path: Path
) -> None:
    path = tmp_path / "liar.wav"
    path.write_bytes(demo_wav.read_bytes()[:2_000_000])  # the header still says 30 s
    result = run("ingest", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("veza: truncated or corrupt audio: the header says")
    assert not (tmp_path / "out").exists()


def test_unknown_benchmark_is_exit_2_with_the_known_names(tmp_path: Path) -> None:
    result = run("bench", "nope", "--out", str(tmp_path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "unknown benchmark 'nope'" in line and "ladder" in line and "first-segment" in line


def test_bench_help_names_every_benchmark() -> None:
    from benchmarks.harness import REGISTRY

    result = run("bench", "--help")
    assert result.returncode == 0, result.stderr
    listed = " ".join(result.stdout.split())
    missing = [name for name in REGISTRY if name not in listed]
    assert not missing, f"`veza bench --help` does not name {missing}"


def test_ingest_of_a_missing_file_names_it(tmp_path: Path) -> None:
    result = run("ingest", str(tmp_path / "nope.wav"), "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"veza: no such file: {tmp_path / 'nope.wav'}"


def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([VEZA, "db", "current"], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "VEZA_API_PORT": "x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "veza: VEZA_API_PORT must be an integer, got 'x'"


def test_synth_writes_the_demo_signal(tmp_path: Path) -> None:
    out = tmp_path / "tone.wav"
    result = run("synth", str(out), "--duration", "3")
    assert result.returncode == 0, result.stderr
    assert ffprobe_duration(out) == pytest.approx(3.0, abs=0.01)
