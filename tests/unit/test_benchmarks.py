"""The benchmark harness measures, evaluates and records correctly (no timing is asserted)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import baselines, inputs, ladder, memory
from benchmarks.harness import (
    REGISTRY,
    Target,
    measure,
    measure_concurrent,
    print_table,
    run_benchmark,
    write_result,
)
from veza.errors import InputError, VezaError

PY = sys.executable


@pytest.mark.parametrize(("value", "target", "met"), [
    (0.82, "<= 1.0", True), (1.0, "<= 1.0", True), (1.01, "<= 1.0", False),
    (5.0, ">= 5", True), (4.99, ">= 5", False),
    (0.99, "< 1", True), (1.0, "< 1", False),
    (None, "<= 1.0", False), (float("nan"), ">= 5", False),
])
def test_target_is_met_when_the_value_satisfies_the_bound(value, target, met):
    assert Target("x", value, target).met is met


@pytest.mark.parametrize("target", ["1.0", "=< 1", "<= fast", ""])
def test_target_rejects_a_bound_it_cannot_evaluate(target):
    with pytest.raises(ValueError, match="target must look like '<= 1.0'"):
        Target("x", 1.0, target)


def test_measure_reports_the_output_cpu_time_and_peak_rss_of_the_process():
    code = ("import sys, time\n"
            "b = bytearray(64 * 2**20)\n"  # touched: resident
            "t = time.process_time()\n"
            "while time.process_time() - t < 0.05: pass\n"
            "print('done'); sys.stderr.write('note'); sys.exit(3)")
    run = measure([PY, "-c", code])
    assert run.returncode == 3
    assert (run.stdout, run.stderr) == ("done\n", "note")
    assert run.cpu_s >= 0.05 and run.wall_s > 0
    assert 64 * 2**20 < run.max_rss_bytes < 200 * 2**20


def test_measure_does_not_count_the_memory_of_the_process_measuring():
    big = np.ones(50_000_000)  # 400 MB in this process, which forks the measured one
    run = measure([PY, "-c", "pass"])
    assert big[-1] == 1 and run.max_rss_bytes < 100 * 2**20


def test_concurrent_processes_are_measured_each_on_its_own():
    small = [PY, "-c", "pass"]
    large = [PY, "-c", "b = bytearray(150 * 2**20)"]
    (r_small, r_large), total = measure_concurrent([small, large])
    assert r_small.max_rss_bytes < 100 * 2**20 < 150 * 2**20 < r_large.max_rss_bytes
    assert total >= max(r_small.wall_s, r_large.wall_s)


def test_a_missing_program_is_exit_code_127_with_a_message():
    run = measure(["veza-no-such-program"])
    assert run.returncode == 127 and "No such file" in run.stderr
    with pytest.raises(VezaError, match="exit code 127"):
        run.check()


def test_write_result_records_time_machine_and_evaluated_targets(tmp_path):
    targets = [Target("wall_vs_x", 0.82, "<= 0.9"), {"metric": "speed", "value": 4.0,
                                                     "target": ">= 5", "unit": "x"}]
    path = write_result("demo", {"n": 3}, {"wall_s": np.float64(1.5), "runs": [1, 2]}, targets,
                        out_dir=tmp_path)
    assert path == tmp_path / "demo.json"
    doc = json.loads(path.read_text())
    assert doc["name"] == "demo" and doc["when"]
    for key in ("cpus", "cpu_model", "memory_gib", "python", "numpy", "av", "ffmpeg"):
        assert key in doc["machine"]
    assert doc["machine"]["ffmpeg"].startswith("ffmpeg version")
    assert doc["parameters"] == {"n": 3}
    assert doc["results"] == {"wall_s": 1.5, "runs": [1, 2]}
    assert doc["targets"] == [
        {"metric": "wall_vs_x", "value": 0.82, "target": "<= 0.9", "unit": "ratio", "met": True},
        {"metric": "speed", "value": 4.0, "target": ">= 5", "unit": "x", "met": False},
    ]
    out = io.StringIO()
    print_table(doc, file=out)
    assert "wall_vs_x" in out.getvalue() and "NO" in out.getvalue()


def test_an_unknown_benchmark_names_the_known_ones(tmp_path):
    assert set(REGISTRY) == {"ladder", "kernels", "memory", "first-segment", "api", "engines",
                             "parallel", "chat", "web"}
    with pytest.raises(InputError, match="unknown benchmark 'lader'; known benchmarks: "
                                         "ladder, kernels, memory, first-segment, api, engines, "
                                         "parallel, chat, web"):
        run_benchmark("lader", out_dir=tmp_path)


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def test_music_wav_is_deterministic_and_lasts_as_asked_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "_CHUNK_S", 1.0)  # 2.5 s is then three appended chunks
    a = inputs.music_wav(2.5, directory=tmp_path / "a")
    b = inputs.music_wav(2.5, directory=tmp_path / "b")
    assert _duration(a) == pytest.approx(2.5, abs=1e-3)
    assert a.read_bytes() == b.read_bytes()
    assert inputs.music_wav(2.5, directory=tmp_path / "a") == a


def test_the_ffmpeg_ladders_write_a_playable_rendition_per_rung(tmp_path):
    src = inputs.music_wav(2.0, directory=tmp_path)
    measure(baselines.ffmpeg_ladder_varstream(src, tmp_path / "var")).check()
    runs, _ = measure_concurrent(baselines.ffmpeg_ladder_per_rung(src, tmp_path / "rung"))
    for run in runs:
        run.check()
    for layout in ("var", "rung"):
        for rung in ("aac_64k", "aac_128k", "aac_256k"):
            assert (tmp_path / layout / rung / "index.m3u8").is_file()
    decode = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i",
                             str(tmp_path / "var" / "master.m3u8"), "-f", "null", "-"],
                            capture_output=True, text=True)
    assert decode.returncode == 0, decode.stderr


def test_quick_ladder_benchmark_runs_every_variant_and_reports_its_targets(tmp_path):
    path = run_benchmark("ladder", quick=True, out_dir=tmp_path, echo=False)
    doc = json.loads(path.read_text())
    assert [t["metric"] for t in doc["targets"]] == [
        "wall_vs_ffmpeg_best", "cpu_vs_ffmpeg_best", "wall_vs_peer_script",
        "wall_vs_peer_script_per_rung"]
    for variant in ladder.VARIANTS:
        assert doc["results"][variant]["cpu_s"] > 0, variant
    # Ours did the whole ladder, and every target has a value to judge.
    assert doc["results"]["veza_ingest"]["renditions"] == 3
    assert all(t["value"] is not None for t in doc["targets"])
    assert doc["results"]["ffmpeg_best_layout"] in ladder.FFMPEG


def test_quick_memory_benchmark_reports_its_target():
    out = memory.run(quick=True)
    assert [t.metric for t in out["targets"]] == ["rss_60min_vs_3min"]
    assert out["results"]["long"]["max_rss_mib"] > 0


def test_quick_kernels_benchmark_compares_the_meter_with_its_references(tmp_path):
    doc = json.loads(run_benchmark("kernels", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    targets = {t["metric"]: t for t in doc["targets"]}
    assert set(targets) == {"loudness_speedup_vs_pyloudnorm", "integrated_vs_pyloudnorm_lu",
                            "integrated_vs_ffmpeg_lu", "true_peak_vs_ffmpeg_db"}
    # The agreement with pyloudnorm and ffmpeg is a correctness figure, not a timing: it holds
    # on any machine.
    for metric in ("integrated_vs_pyloudnorm_lu", "integrated_vs_ffmpeg_lu",
                   "true_peak_vs_ffmpeg_db"):
        assert targets[metric]["met"], targets[metric]
    assert targets["loudness_speedup_vs_pyloudnorm"]["value"] > 0
