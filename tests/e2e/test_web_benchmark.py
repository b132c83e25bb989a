"""`veza bench web` runs end to end on tiny sizes: `veza up` serving the built app, a ready track
uploaded through the API, one Lighthouse run of one page and one click on Play in Chromium; it
records every figure and target (no timing is asserted: benchmarks are not tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import web
from benchmarks.harness import run_benchmark

pytestmark = pytest.mark.e2e


def test_web_benchmark_runs_lighthouse_and_a_click_on_play_on_tiny_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not (web.DIST / "index.html").is_file() or not web.LIGHTHOUSE.is_file():
        pytest.fail("build the web app and install its packages first "
                    "(cd web && npm ci && npx vite build)")
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed (scripts/install.sh test installs it)")
    monkeypatch.setattr(web, "QUICK", web.Sizes(pages=("track",), lighthouse_runs=1, clicks=1,
                                                track_s=4.0))
    doc = json.loads(run_benchmark("web", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())

    assert doc["parameters"]["pages"] == ["track"] and doc["parameters"]["clicks"] == 1
    assert doc["parameters"]["lighthouse"] == "12.2.3"
    [page] = doc["results"]["pages"].values()
    for score in ("performance", "accessibility", "best-practices"):
        assert 0 <= page[score] <= 100, (score, page)
    assert 0 < page["fcp_ms"] and 0 < page["lcp_ms"] and page["tbt_ms"] >= 0, page
    # The app's own bundle is among the scripts fetched before the first paint.
    assert page["initial_js_files"] >= 1 and page["initial_js_kb_gzip"] > 0, page
    assert any(name.startswith("/assets/") for name in page["initial_js"]), page

    play = doc["results"]["play"]
    [each] = play["click_to_playing_ms_each"]
    assert each == play["click_to_playing_ms"] > 0, play
    assert play["click_to_advancing_ms"] > 0, play
    assert set(play["installability"]) == {"installable", "errors", "manifest_errors",
                                           "service_worker"}

    assert [t["metric"] for t in doc["targets"]] == [
        "track accessibility", "track performance", "track lcp_ms", "track initial_js_kb_gzip",
        "click_to_playing_ms"]
    assert all(t["value"] is not None for t in doc["targets"]), doc["targets"]
