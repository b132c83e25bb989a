"""The `veza` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import m3u8
import pytest

from tests.helpers import decode_strictly, ffprobe_duration
from veza.cli import build_parser

VEZA = str(Path(sys.executable).parent / "veza")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VEZA, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin"})


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


def test_ingest_writes_a_playable_package(demo_wav: Path, tmp_path: Path) -> None:
    result = run("ingest", str(demo_wav), "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["duration_s"] == pytest.approx(30.0, abs=0.05)
    assert (summary["sample_rate"], summary["channels"]) == (44100, 2)
    [rendition] = summary["renditions"]
    # ~6 s segments; AAC priming may leave a tiny trailing one.
    assert rendition["name"] == "aac_128k" and rendition["segments"] in (5, 6)
    master = Path(summary["master"])
    assert master == tmp_path / "out" / summary["id"] / "master.m3u8"
    assert m3u8.load(str(master)).playlists[0].stream_info.codecs == "mp4a.40.2"
    wav = tmp_path / "decoded.wav"
    decode_strictly(master, wav)
    assert ffprobe_duration(wav) == pytest.approx(30.0, abs=0.1)


def test_ingest_prints_a_summary_without_json(demo_wav: Path, tmp_path: Path) -> None:
    result = run("ingest", str(demo_wav), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "demo.wav: 30.00 s" in result.stdout and "aac_128k: " in result.stdout


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
