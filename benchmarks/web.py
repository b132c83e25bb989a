"""`veza bench web`: the built web app as a browser meets it, on this machine, against targets.

Serves a copy of ``web/dist`` with `veza up` (embedded defaults, a data directory of its own, free
ports), makes an artist through the API and uploads a generated file until its track is ready,
then:

* Lighthouse 12 (``web/node_modules/lighthouse``, run by Node with Debian's Chromium, desktop
  form factor, no throttling: loopback as it is) on the home, search and track pages, several
  runs each: performance, accessibility and best-practices scores, LCP, total blocking time, and
  the JavaScript requested before the first contentful paint (its gzip size, level 6, computed
  here from the bytes served: `veza up` sends them uncompressed, which is also reported);
* Lighthouse 12 dropped the PWA category and its manifest, service-worker and installability
  audits, so installability is asked of Chromium itself (CDP ``Page.getInstallabilityErrors``)
  once the service worker is active;
* in Chromium with Playwright, from a click on the track page's Play button to the media
  element's ``playing`` event (``performance.now()`` in the page at both), each click in a new
  browser context (nothing cached), and to the first animation frame at which its
  ``currentTime`` has moved past zero.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks.harness import Target, bench_env, median
from veza.errors import VezaError

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
LIGHTHOUSE = ROOT / "web" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
CATEGORIES = ("performance", "accessibility", "best-practices")
TITLE = "Night Bus"
PASSWORD = "a long passphrase for the benchmark"

PERFORMANCE_MIN, ACCESSIBILITY_MIN = 95, 100
LCP_MAX_MS, INITIAL_JS_MAX_KB, CLICK_TO_PLAYING_MAX_MS = 1000.0, 150.0, 300.0


@dataclass(frozen=True)
class Sizes:
    pages: tuple[str, ...]  # among "home", "search", "track"
    lighthouse_runs: int  # per page
    clicks: int  # clicks on Play, each in a new browser context
    track_s: float  # the uploaded file's length


FULL = Sizes(pages=("home", "search", "track"), lighthouse_runs=5, clicks=7, track_s=20.0)
QUICK = Sizes(pages=("track",), lighthouse_runs=1, clicks=1, track_s=8.0)


# ---------------------------------------------------------------- set-up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_tools() -> tuple[str, str]:
    """Node's and Chromium's paths; a clear error for whatever is missing."""
    if not (DIST / "index.html").is_file():
        raise VezaError(f"{DIST / 'index.html'} is missing: build the web app first "
                        "(cd web && npx vite build)", code="benchmark_failed")
    if not LIGHTHOUSE.is_file():
        raise VezaError(f"{LIGHTHOUSE} is missing: install the web app's packages "
                        "(cd web && npm ci)", code="benchmark_failed")
    node, chromium = shutil.which("node"), shutil.which("chromium")
    if node is None:
        raise VezaError("node is not installed (Lighthouse runs on Node 20)",
                        code="benchmark_failed")
    if chromium is None:
        raise VezaError("Debian's chromium is not installed (apt-get install chromium)",
                        code="benchmark_failed")
    return node, chromium


def copy_build(dist: Path) -> Path:
    """A copy of web/dist (a rebuild meanwhile cannot pull files from under the browser), taken
    again while a build is being written (index.html naming an asset the copy lacks)."""
    for _ in range(30):
        shutil.rmtree(dist, ignore_errors=True)
        shutil.copytree(DIST, dist)
        named = re.findall(r'(?:src|href)="/(assets/[^"]+)"', (dist / "index.html").read_text())
        if named and all((dist / name).is_file() for name in named):
            return dist
        time.sleep(1)
    raise VezaError(f"{DIST} stays incomplete (a build still running?): rebuild the web app",
                    code="benchmark_failed")


@contextmanager
def veza_up(tmp: Path) -> Iterator[str]:
    """`veza up` serving a copy of web/dist on a free port until the block ends; its base URL."""
    dist = copy_build(tmp / "dist")
    port = _free_port()
    env = {**bench_env(), "VEZA_DATA_DIR": str(tmp / "data"), "VEZA_API_PORT": str(port),
           "VEZA_CHAT_PORT": str(_free_port()), "VEZA_WEB_DIR": str(dist),
           "VEZA_RATE_LIMIT_READ": "0"}
    veza = str(Path(sys.executable).with_name("veza"))
    log_path = tmp / "up.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen([veza, "up"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, process_group=0)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise VezaError(f"veza up did not start:\n{tail}", code="benchmark_failed")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def seed_ready_track(base: str, tmp: Path, seconds: float) -> str:
    """Register an artist through the API, upload a generated file, wait until it is ready."""
    reply = requests.post(f"{base}/api/v1/auth/register", json={
        "handle": "bench", "email": "bench@example.org", "password": PASSWORD,
        "role": "artist"}, timeout=30)
    if reply.status_code != 201:
        raise VezaError(f"registering the artist answered {reply.status_code}: {reply.text}",
                        code="benchmark_failed")
    token = reply.json()["access_token"]
    wav = tmp / f"{TITLE}.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc=0.25*sin(2*PI*440*t)+0.6*sin(2*PI*55*t)*exp(-25*mod(t\\,0.5))"
                    f":s=44100:d={seconds:g}", "-ac", "1", "-c:a", "pcm_s16le", str(wav)],
                   check=True)
    with open(wav, "rb") as body:
        reply = requests.post(f"{base}/api/v1/tracks",
                              params={"filename": wav.name, "title": TITLE}, data=body,
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "audio/wav"}, timeout=60)
    if reply.status_code != 202:
        raise VezaError(f"the upload answered {reply.status_code}: {reply.text}",
                        code="benchmark_failed")
    track_id: str = reply.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        track = requests.get(f"{base}/api/v1/tracks/{track_id}", timeout=10).json()
        if track["status"] == "ready":
            return track_id
        if track["status"] == "failed":
            raise VezaError(f"the track failed: {track}", code="benchmark_failed")
        time.sleep(0.5)
    raise VezaError("the track was not ready within 300 s", code="benchmark_failed")


# ---------------------------------------------------------------- Lighthouse


NEEDED_AUDITS = ("metrics", "network-requests", "first-contentful-paint",
                 "largest-contentful-paint", "total-blocking-time")


def lighthouse(node: str, chromium: str, url: str, out: Path,
               attempts: int = 3) -> dict[str, Any]:
    """One Lighthouse run of one page: its report (lhr) as a dict. A run whose trace lacks a
    metric (Lighthouse says why in the audit's errorMessage; it happens on a loaded machine) is
    made again, up to `attempts` times."""
    problems = []
    for _ in range(attempts):
        lhr = _lighthouse_once(node, chromium, url, out)
        missing = {a: lhr["audits"].get(a, {}).get("errorMessage") or "absent"
                   for a in NEEDED_AUDITS if lhr["audits"].get(a, {}).get("numericValue") is None
                   and not lhr["audits"].get(a, {}).get("details")}
        if not missing:
            return lhr
        problems.append(missing)
    raise VezaError(f"lighthouse on {url} measured no metrics in {attempts} runs: {problems}",
                    code="benchmark_failed")


def _lighthouse_once(node: str, chromium: str, url: str, out: Path) -> dict[str, Any]:
    cmd = [node, str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--only-categories={','.join(CATEGORIES)}", "--preset=desktop",
           "--throttling-method=provided", f"--chrome-flags={' '.join(CHROME_FLAGS)}"]
    run = subprocess.run(cmd, env={**os.environ, "CHROME_PATH": chromium},
                         capture_output=True, text=True, timeout=300, check=False)
    if run.returncode != 0 or not out.is_file():
        raise VezaError(f"lighthouse failed on {url} (exit {run.returncode}):\n"
                        f"{run.stderr.strip()[-1500:]}", code="benchmark_failed")
    lhr: dict[str, Any] = json.loads(out.read_text())
    if lhr.get("runtimeError"):
        raise VezaError(f"lighthouse on {url}: {lhr['runtimeError']}", code="benchmark_failed")
    return lhr


def scripts_before_fcp(lhr: dict[str, Any]) -> list[dict[str, Any]]:
    """The script requests that started before the first contentful paint."""
    metrics = lhr["audits"]["metrics"]["details"]["items"][0]
    network = lhr["audits"]["network-requests"]["details"]
    fcp_ts = metrics["observedFirstContentfulPaintTs"]  # microseconds, the trace's clock
    start_ts = network["debugData"]["networkStartTimeTs"]
    return [item for item in network["items"]
            if item.get("resourceType") == "Script"
            and start_ts + item["networkRequestTime"] * 1000 < fcp_ts]


def gzip_size(url: str, cache: dict[str, int]) -> int:
    """The size of what the URL serves once gzipped (level 6, a server's usual setting)."""
    if url not in cache:
        body = requests.get(url, timeout=30).content
        cache[url] = len(gzip.compress(body, compresslevel=6))
    return cache[url]


def page_figures(lhr: dict[str, Any], gzip_cache: dict[str, int]) -> dict[str, Any]:
    audits = lhr["audits"]
    scripts = scripts_before_fcp(lhr)
    scores = {c: None if lhr["categories"][c]["score"] is None
              else round(lhr["categories"][c]["score"] * 100) for c in CATEGORIES}
    return {
        **scores,
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "initial_js_files": len(scripts),
        "initial_js_kb_gzip": sum(gzip_size(s["url"], gzip_cache) for s in scripts) / 1000,
        "initial_js_kb_sent": sum(s.get("transferSize") or 0 for s in scripts) / 1000,
        "initial_js": [f"{urllib.parse.urlsplit(s['url']).path} "
                       f"{gzip_size(s['url'], gzip_cache) / 1000:.1f} kB" for s in scripts],
        "failed_audits": sorted(
            a["id"] for c in ("accessibility", "best-practices")
            for ref in lhr["categories"][c]["auditRefs"] if ref["weight"] > 0
            for a in [audits[ref["id"]]] if a["score"] is not None and a["score"] < 1),
        "console_errors": [
            f"{(item.get('sourceLocation') or {}).get('url', '')}: "
            f"{item.get('description', '')}"[:200]
            for item in (audits["errors-in-console"].get("details") or {}).get("items", [])],
        # What an engineer needs to fix a failed accessibility audit: the elements it names.
        "accessibility_failures": sorted(
            f"{ref['id']}: {(item.get('node') or {}).get('selector', '?')}"
            for ref in lhr["categories"]["accessibility"]["auditRefs"] if ref["weight"] > 0
            for a in [audits[ref["id"]]] if a["score"] is not None and a["score"] < 1
            for item in (a.get("details") or {}).get("items", [])[:5]),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over a page's runs (the failed audits of every run, once each)."""
    out: dict[str, Any] = {}
    for key in runs[0]:
        if key in ("failed_audits", "console_errors", "accessibility_failures"):
            out[key] = sorted({a for r in runs for a in r[key]})
        elif key == "initial_js":
            out[key] = runs[-1][key]
        elif any(r[key] is None for r in runs):
            out[key] = None
        else:
            value = median([float(r[key]) for r in runs])
            out[key] = round(value, 1) if key.endswith(("_ms", "_kb_gzip", "_kb_sent")) \
                else value
    return out


# ---------------------------------------------------------------- in Chromium


# Before any script of the page: the time of each click on a button, of the media element's
# first `playing` after it (media events do not bubble, but the document sees them in the capture
# phase: the player's element is in the body), and of the first frame at which the element's
# currentTime is past zero (polled each animation frame: `timeupdate` comes only every ~250 ms).
_TIMING = """
window.__veza = {};
document.addEventListener('click', e => {
  if (!(e.target.closest && e.target.closest('button')) || window.__veza.click !== undefined)
    return;
  window.__veza.click = performance.now();
  const poll = () => {
    const audio = document.querySelector('audio');
    if (audio && audio.currentTime > 0) window.__veza.advancing = performance.now();
    else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}, true);
document.addEventListener('playing', () => {
  if (window.__veza.playing === undefined) window.__veza.playing = performance.now();
}, true);
"""


def browser_figures(chromium: str, base: str, track_id: str, clicks: int) -> dict[str, Any]:
    """Click to playing (each click in a fresh context), and Chromium's installability."""
    from playwright.sync_api import sync_playwright

    samples: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=[f for f in CHROME_FLAGS
                                                   if not f.startswith("--headless")])
        try:
            for _ in range(clicks):
                context = browser.new_context(base_url=base,
                                              viewport={"width": 1280, "height": 800})
                try:
                    page = context.new_page()
                    page.add_init_script(_TIMING)
                    page.goto(f"/tracks/{track_id}")
                    play = page.get_by_role("main").get_by_role("button",
                                                                name=f"Play {TITLE}")
                    play.wait_for(timeout=30_000)
                    page.wait_for_load_state("networkidle")
                    play.click()
                    page.wait_for_function("() => window.__veza.playing !== undefined && "
                                           "window.__veza.advancing !== undefined",
                                           timeout=30_000)
                    t = page.evaluate("window.__veza")
                    samples.append({"click_to_playing_ms": t["playing"] - t["click"],
                                    "click_to_advancing_ms": t["advancing"] - t["click"]})
                finally:
                    context.close()
        finally:
            browser.close()
        installability = _installability(playwright, chromium, base)
    return {
        "click_to_playing_ms": round(median([s["click_to_playing_ms"] for s in samples]), 1),
        "click_to_advancing_ms": round(median([s["click_to_advancing_ms"] for s in samples]),
                                       1),
        "click_to_playing_ms_each": [round(s["click_to_playing_ms"], 1) for s in samples],
        "installability": installability,
    }


def _installability(playwright: Any, chromium: str, base: str) -> dict[str, Any]:
    """Chromium's own installability errors for the home page, its service worker active (in a
    profile on disk: an incognito context is never installable)."""
    profile = tempfile.mkdtemp(prefix="veza-bench-web-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=chromium, base_url=base,
        args=[f for f in CHROME_FLAGS if not f.startswith("--headless")])
    try:
        page = context.new_page()
        page.goto("/")
        worker = page.evaluate("""() => Promise.race([
            navigator.serviceWorker.ready.then(r => new Promise(ok => {
              const w = r.active;
              if (!w || w.state === 'activated') return ok(w && w.state);
              w.addEventListener('statechange', () => w.state === 'activated' && ok(w.state));
            })),
            new Promise(ok => setTimeout(() => ok(null), 10000))])""")
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        manifest = cdp.send("Page.getAppManifest")
        return {"installable": not errors, "errors": [e["errorId"] for e in errors],
                "manifest_errors": [e["message"] for e in manifest.get("errors", [])],
                "service_worker": worker}
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------- the benchmark


def run(*, quick: bool = False) -> dict[str, Any]:
    """Serve the app, seed a ready track, run Lighthouse and the play clicks; return figures."""
    sizes = QUICK if quick else FULL
    node, chromium = _check_tools()
    version = subprocess.run([node, str(LIGHTHOUSE), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    chromium_version = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                                      check=False).stdout.strip()
    results: dict[str, Any] = {}
    targets: list[Target] = []
    # A short path: the embedded PostgreSQL's unix socket path must stay under ~100 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="vz-bw-", dir="/tmp"))
    try:
        with veza_up(tmp) as base:
            started = time.monotonic()
            track_id = seed_ready_track(base, tmp, sizes.track_s)
            results["seed_s"] = round(time.monotonic() - started, 2)
            word = TITLE.split()[0]
            urls = {"home": f"{base}/",
                    "search": f"{base}/search?{urllib.parse.urlencode({'q': word})}",
                    "track": f"{base}/tracks/{track_id}"}
            gzip_cache: dict[str, int] = {}
            pages: dict[str, Any] = {}
            for name in sizes.pages:
                runs = [page_figures(lighthouse(node, chromium, urls[name],
                                                tmp / f"{name}-{i}.json"), gzip_cache)
                        for i in range(sizes.lighthouse_runs)]
                pages[name] = summarise(runs)
                figures = pages[name]
                targets += [
                    Target(f"{name} accessibility", figures["accessibility"],
                           f">= {ACCESSIBILITY_MIN}", "score"),
                    Target(f"{name} performance", figures["performance"],
                           f">= {PERFORMANCE_MIN}", "score"),
                    Target(f"{name} lcp_ms", figures["lcp_ms"], f"< {LCP_MAX_MS:g}", "ms"),
                    Target(f"{name} initial_js_kb_gzip", figures["initial_js_kb_gzip"],
                           f"<= {INITIAL_JS_MAX_KB:g}", "kB"),
                ]
            results["pages"] = pages
            results["play"] = browser_figures(chromium, base, track_id, sizes.clicks)
            targets.append(Target("click_to_playing_ms", results["play"]["click_to_playing_ms"],
                                  f"< {CLICK_TO_PLAYING_MAX_MS:g}", "ms"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "parameters": {
            "pages": list(sizes.pages), "lighthouse_runs_per_page": sizes.lighthouse_runs,
            "clicks": sizes.clicks, "track_s": sizes.track_s,
            "lighthouse": version, "chromium": chromium_version,
            "lighthouse_settings": "desktop preset, throttling-method=provided (loopback "
                                   "as it is), categories " + ", ".join(CATEGORIES),
            "initial_js": "scripts requested before the first contentful paint, gzip level 6 "
                          "of the served bytes; kB = 1000 bytes",
            "pwa": "Lighthouse 12 has no PWA category nor manifest/service-worker/installable "
                   "audits; play.installability is Chromium's own check (CDP)",
        },
        "results": results,
        "targets": targets,
    }
