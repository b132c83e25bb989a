"""`veza bench engines`, `parallel`, `first-segment` and `api` run end to end on tiny sizes,
with real workers, API processes, RabbitMQ and PostgreSQL, and record what they measured (no
timing is asserted: benchmarks are not tests).

Access tokens live 10 s here, less than any of these runs: a benchmark that held one token
across its phases, as a full run's would outlive the default 300 s, fails here too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import api, engines, first_segment, parallel
from benchmarks.harness import run_benchmark

pytestmark = pytest.mark.integration

TOKEN_TTL_S = 10  # the shortest the settings allow


@pytest.fixture(autouse=True)
def short_access_tokens(clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEZA_ACCESS_TOKEN_TTL", str(TOKEN_TTL_S))


def test_engines_benchmark_runs_both_engines_on_tiny_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engines, "QUICK", engines.Sizes(tracks=2, track_s=3.0, rounds=1,
                                                        enqueues=3, posts=2))
    doc = json.loads(run_benchmark("engines", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    assert doc["parameters"]["tracks"] == 2 and doc["parameters"]["quick"] is True
    results = doc["results"]
    for kind in ("dramatiq", "celery"):
        r = results[kind]
        # Every track was made ready by that engine's worker (or the round would have raised).
        assert r["tracks_per_hour"] > 0 and r["cpu_s_per_track"] > 0, (kind, r)
        assert r["enqueue_ms"] > 0 and r["post_ms"] > 0, (kind, r)
    # The artist's one session outlived its first access token and went on through refreshes.
    assert results["session_refreshes"] >= 1, results
    ratios = results["celery_vs_dramatiq"]
    assert ratios["tracks_per_hour"] == pytest.approx(
        results["celery"]["tracks_per_hour"] / results["dramatiq"]["tracks_per_hour"], rel=0.01)
    assert {t["metric"] for t in doc["targets"]} == {
        "celery_vs_dramatiq.tracks_per_hour", "celery_vs_dramatiq.cpu_s_per_track",
        "celery_vs_dramatiq.enqueue_ms"}


def test_parallel_benchmark_chunks_a_short_track_on_tiny_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "QUICK", parallel.Sizes(input_s=30.0, chunk_s=12.0,
                                                          parallel_min_s=24.0, pair_runs=1))
    doc = json.loads(run_benchmark("parallel", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    results = doc["results"]
    # 30 s (six 6 s segments with the encoder's priming) in chunks of two segments: three
    # parts, each encoded once.
    assert results["parts"] == 3 and results["part_attempts"] == 3, results
    assert set(results["ready_s_median"]) == {
        "single_pass_1_pinned", "chunked_1_pinned", "chunked_2_pinned",
        "single_pass_1_unpinned", "chunked_2_unpinned"}
    assert all(v > 0 for v in results["ready_s_median"].values())
    # Each track was deleted by its owner through the API, with a session that refreshed.
    assert doc["parameters"]["access_token_ttl_s"] == TOKEN_TTL_S
    assert results["session_refreshes"] >= 1, results
    assert [t["metric"] for t in doc["targets"]] == ["speedup_2_pinned_vs_1_pinned"]


def test_first_segment_benchmark_runs_on_a_database_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(first_segment, "QUICK", first_segment.Sizes(input_s=8.0, runs=1))
    doc = json.loads(run_benchmark("first-segment", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    assert doc["parameters"]["input_s"] == 8.0
    [sample] = doc["results"]["samples"]
    assert 0 < sample["first_playable_s"] <= sample["ready_s"], sample
    assert [t["metric"] for t in doc["targets"]] == ["first_playable_s"]


def test_api_benchmark_loads_every_endpoint_on_a_tiny_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api, "QUICK", api.Sizes(users=30, tracks=300, seconds=1.0))
    doc = json.loads(run_benchmark("api", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    assert doc["parameters"]["tracks"] == 300 and doc["parameters"]["users"] == 30
    results = doc["results"]
    assert results["public_ready_tracks"] > 0
    for name in ("list", "get", "search"):
        saturation = results[name]["saturation"]
        # Every request answered 200: a benchmark of error pages would measure nothing.
        assert saturation["rps"] > 0 and saturation["non_2xx"] == 0, (name, saturation)
        fixed = results[name]["at_2000_rps"]
        assert fixed["completed"] > 0 and set(fixed["statuses"]) == {"200"}, (name, fixed)
    assert len(doc["targets"]) == 6
