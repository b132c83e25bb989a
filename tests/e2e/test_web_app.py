"""The web app in real Chromium against `veza up`: an artist signs up, uploads a generated file
and watches it process; it plays through hls.js and the waveform seeks; a listener finds it by
search, likes it and keeps it in a playlist; sessions survive a reload; the app is installable,
fits 360 px and passes axe on every main page. Screenshots land in the run's tmp dir."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

# The fixtures come from one module (one server, one browser); tests name them as arguments.
# ruff: noqa: F811
from tests.e2e.web_app import (  # noqa: F401
    AXE,
    Person,
    Stack,
    Upload,
    account_menu,
    artist,
    browser,
    listener,
    log_in,
    new_context,
    playlist,
    settle,
    sign_up,
    tone,
    upload,
    web_stack,
)

pytestmark = pytest.mark.e2e

AUDIO = "document.querySelector('audio')"  # the player's media element


def main_pages(upload: Upload, playlist: str, handle: str) -> list[tuple[str, str]]:
    return [("home", "/"), ("search", "/search?q=night"), ("track", f"/tracks/{upload.track_id}"),
            ("upload", "/upload"), ("login", "/login"), ("register", "/register"),
            ("artist", f"/u/{handle}"), ("playlist", f"/playlists/{playlist}"),
            ("dashboard", "/dashboard")]


def visit_main_pages(page: Any, upload: Upload, playlist: str, handle: str
                     ) -> Iterator[tuple[str, str]]:
    """Log ``handle`` in on ``page``, then open each main page in turn, settled and still signed
    in (the page the artist sees), and give its name and path."""
    log_in(page, handle)
    for name, path in main_pages(upload, playlist, handle):
        page.goto(path)
        settle(page)
        account_menu(page).wait_for()
        yield name, path


def test_an_artist_uploads_a_file_and_watches_it_process(artist: Person, upload: Upload) -> None:
    states = upload.states
    uploading = [i for i, s in enumerate(states) if s.startswith("Uploading: ")]
    processing = [i for i, s in enumerate(states) if s.startswith("Processing: ")]
    assert uploading and processing and states[-1] == "Ready", states
    assert max(uploading) < min(processing), states
    # Bytes sent are counted as they go (throttled to 1 MB/s: several steps for 1.7 MB).
    assert len({states[i] for i in uploading}) >= 2, states
    assert upload.track["status"] == "ready", upload.track

    figures = artist.page.get_by_role("region", name="Analysis")
    text = figures.inner_text()
    assert re.search(r"Tempo\s+\d+(\.\d+)? BPM", text), text
    assert re.search(r"Key\s+[A-G][♯♭#b]?m?", text), text
    assert re.search(r"Integrated loudness\s+[−-]?\d+(\.\d+)? LUFS", text), text
    assert re.search(r"Duration\s+0:20", text), text

    page = artist.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", level=1, name="Dashboard").wait_for()
    page.get_by_text(re.compile(r"^1 track · plays: \d+$")).wait_for()
    row = page.get_by_role("table").get_by_role("row", name=re.compile(upload.title))
    assert "Ready" in row.inner_text()


def test_it_plays_through_hls_js_and_the_waveform_seeks(artist: Person, upload: Upload) -> None:
    page = artist.page
    page.goto(f"/tracks/{upload.track_id}")
    page.get_by_role("main").get_by_role("button", name=f"Play {upload.title}").click()
    page.wait_for_function(f"() => {AUDIO} && {AUDIO}.currentTime > 0.3", timeout=20_000)
    src = page.evaluate(f"{AUDIO}.src")
    assert src.startswith("blob:"), f"not played through MSE (hls.js): {src}"
    before = page.evaluate(f"{AUDIO}.currentTime")
    page.wait_for_timeout(1200)
    after = page.evaluate(f"{AUDIO}.currentTime")
    assert after > before + 0.5, (before, after)

    waveform = page.get_by_role("slider", name="Waveform: seek")
    duration = float(waveform.get_attribute("aria-valuemax") or 0)
    assert duration == pytest.approx(20, abs=1)
    box = waveform.bounding_box()
    assert box
    for fraction in (0.75, 0.25):
        waveform.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})
        target = duration * fraction
        page.wait_for_function(f"t => Math.abs({AUDIO}.currentTime - t) < 1", arg=target,
                               timeout=5_000)
        assert abs(page.evaluate(f"{AUDIO}.currentTime") - target) < 1
    assert not page.evaluate(f"{AUDIO}.paused")
    page.get_by_role("button", name="Pause").first.click()
    page.wait_for_function(f"() => {AUDIO}.paused")


def test_the_uploader_sees_a_track_become_ready_from_another_page(
        artist: Person, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Upload, go to the dashboard while the pipeline works: its row follows the live events
    and a toast says the track is ready, with no reload."""
    path = tmp_path_factory.mktemp("second") / "Last Tram.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc=0.3*sin(2*PI*330*t):s=44100:d=45", "-ac", "1", "-c:a",
                    "pcm_s16le", str(path)], check=True)
    page = artist.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    region = page.get_by_role("region", name="Upload")
    region.get_by_label("Choose files").set_input_files(path)
    bar = page.get_by_role("progressbar", name=path.name)
    # Sent: the pipeline has it (queued or at work); off to another page at once.
    page.wait_for_function(
        "name => [...document.querySelectorAll('[role=progressbar]')].some(b =>"
        " b.getAttribute('aria-label') === name &&"
        " !/^Uploading/.test(b.getAttribute('aria-valuetext') || ''))", arg=path.name)
    assert bar.count() == 1
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", level=1, name="Dashboard").wait_for()
    url = page.url
    page.get_by_text("“Last Tram” is ready to play.", exact=True).wait_for(timeout=120_000)
    row = page.get_by_role("table").get_by_role("row", name=re.compile("Last Tram"))
    expect_text(row, "Ready")
    assert page.url == url


def expect_text(locator: Any, text: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in locator.inner_text():
        assert time.monotonic() < deadline, f"{text!r} not in {locator.inner_text()!r}"
        time.sleep(0.1)


def test_a_listener_finds_it_by_search_likes_it_and_keeps_it_in_a_playlist(
    listener: Person, upload: Upload, playlist: str
) -> None:
    page = listener.page
    page.goto("/")
    search = page.get_by_role("search").get_by_role("searchbox", name="Search")
    search.fill(upload.title)
    search.press("Enter")
    results = page.get_by_role("main")
    results.get_by_role("link", name=upload.title, exact=True).wait_for()
    assert "q=" in page.url

    bpm = upload.track["analysis"]["tempo_bpm"]
    assert bpm, upload.track["analysis"]
    page.goto("/search")
    filters = page.get_by_role("form", name="Search filters")
    filters.get_by_label("Tempo from (BPM)").fill(str(int(bpm - 5)))
    filters.get_by_label("Tempo to (BPM)").fill(str(int(bpm + 5)))
    results.get_by_role("link", name=upload.title, exact=True).wait_for()
    page.wait_for_url(re.compile(r"tempo_min="))
    filters.get_by_label("Tempo from (BPM)").fill(str(int(bpm + 30)))
    filters.get_by_label("Tempo to (BPM)").fill(str(int(bpm + 60)))
    results.get_by_text("No track matches this search.").wait_for()
    assert results.get_by_role("link", name=upload.title, exact=True).count() == 0

    # The link the API hands out (stream.player_url) opens the same track page.
    page.goto(upload.track["stream"]["player_url"])
    page.get_by_role("heading", level=1, name=upload.title).wait_for()
    like = page.get_by_role("main").get_by_role("button", name=re.compile("^Like"))
    assert like.get_attribute("aria-pressed") == "false"
    like.click()
    page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'",
                           arg=like.element_handle())
    page.reload()  # the like is remembered
    page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'",
                           arg=like.element_handle(), timeout=5_000)
    account_menu(page).click()
    page.get_by_role("menuitem", name="Liked tracks").click()
    page.get_by_role("heading", level=1, name="Liked tracks").wait_for()
    page.get_by_role("main").get_by_role("link", name=upload.title, exact=True).wait_for()

    page.goto(f"/playlists/{playlist}")
    page.get_by_role("heading", level=1, name="Late buses").wait_for()
    page.get_by_role("main").get_by_role("link", name=upload.title, exact=True).wait_for()


def test_log_out_and_back_in_and_a_reload_keeps_the_session(listener: Person) -> None:
    page = listener.page
    page.goto("/")
    account_menu(page).click()
    page.get_by_role("menuitem", name="Log out").click()
    page.get_by_role("banner").get_by_role("link", name="Log in").wait_for()
    page.reload()  # signed out for good: the cookie went with the session
    page.get_by_role("banner").get_by_role("link", name="Log in").wait_for()
    page.goto("/likes")
    page.wait_for_url(re.compile(r"/login\?next="))

    log_in(page, listener.handle)
    page.goto("/likes")
    page.get_by_role("heading", level=1, name="Liked tracks").wait_for()  # session restored
    page.reload()
    page.get_by_role("heading", level=1, name="Liked tracks").wait_for()
    account_menu(page).wait_for()
    assert "/login" not in page.url


def test_two_tabs_opened_at_once_both_stay_signed_in(browser: Any, web_stack: Stack) -> None:
    """Both tabs restore the session from the one refresh cookie at the same moment (a browser
    reopening its tabs): the second must not present the token the first just spent."""
    context = new_context(browser, web_stack)
    try:
        page = context.new_page()
        sign_up(page, "kim", "listener")
        tabs = [context.new_page() for _ in range(3)]
        for tab in tabs:
            tab.goto("/likes", wait_until="commit")
        for tab in tabs:
            tab.get_by_role("heading", level=1, name="Liked tracks").wait_for()
            assert "/login" not in tab.url
        tabs[0].reload()
        tabs[0].get_by_role("heading", level=1, name="Liked tracks").wait_for()
        account_menu(tabs[0]).wait_for()
    finally:
        context.close()


def test_the_app_is_installable(browser: Any, web_stack: Stack) -> None:
    context = new_context(browser, web_stack)
    try:
        page = context.new_page()
        page.goto("/")
        href = page.evaluate("document.querySelector('link[rel=manifest]')?.href")
        assert href, "no <link rel=manifest>"
        response = page.request.get(href)
        assert response.ok
        manifest = json.loads(response.text())
        assert manifest["name"] and manifest["start_url"] == "/", manifest
        assert manifest["display"] in ("standalone", "fullscreen", "minimal-ui"), manifest
        sizes = {icon["sizes"] for icon in manifest["icons"]}
        assert {"192x192", "512x512"} <= sizes, manifest["icons"]
        for icon in manifest["icons"]:
            got = page.request.get(icon["src"])
            assert got.ok and got.headers["content-type"] == icon.get("type", "image/png"), icon
        worker = page.evaluate("""async () => {
            const reg = await navigator.serviceWorker.ready;
            return {state: reg.active && reg.active.state, url: reg.active && reg.active.scriptURL,
                    scope: reg.scope}; }""")
        assert worker["state"] in ("activating", "activated"), worker
        assert worker["url"] == f"{web_stack.base}/sw.js", worker
        assert worker["scope"] == f"{web_stack.base}/", worker
    finally:
        context.close()


def test_the_main_pages_fit_360_px_and_are_photographed(
    browser: Any, web_stack: Stack, upload: Upload, playlist: str, artist: Person,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {shots}")
    overflowing = []
    for width in (1280, 360):
        context = new_context(browser, web_stack, viewport={"width": width, "height": 800})
        try:
            page = context.new_page()
            for name, _path in visit_main_pages(page, upload, playlist, artist.handle):
                page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
                sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if sizes[0] > sizes[1]:
                    overflowing.append((name, width, sizes))
        finally:
            context.close()
    assert not overflowing, f"horizontal scroll (scrollWidth, innerWidth): {overflowing}"
    assert len(list(shots.glob("*.png"))) == 18


def axe_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    passes, violations = page.evaluate("""async () => {
        const result = await axe.run(document);
        return [result.passes.length, result.violations
          .filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))];
        }""")
    assert passes > 10, "axe checked next to nothing"
    return [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in violations]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violation_on_the_main_pages(
    browser: Any, web_stack: Stack, upload: Upload, playlist: str, artist: Person, scheme: str,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    # axe is injected as an inline script, which the app's policy rightly refuses: bypass it here.
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800},
                          color_scheme=scheme, bypass_csp=True)
    found = []
    shots = tmp_path_factory.mktemp("screenshots-dark") if scheme == "dark" else None
    try:
        page = context.new_page()
        for name, path in visit_main_pages(page, upload, playlist, artist.handle):
            assert page.evaluate("document.documentElement.classList.contains('dark')") == \
                (scheme == "dark")
            if shots:
                page.screenshot(path=shots / f"{name}-1280-dark.png", full_page=True)
            found += [f"{name} ({path}): {v}" for v in axe_violations(page)]
    finally:
        context.close()
    assert not found, "\n".join(found)


def test_the_pages_broke_no_rule_of_their_security_policy(artist: Person, listener: Person) -> None:
    """What the artist and the listener did above ran under the app's strict CSP without a
    refusal (an inline style or script) and without an uncaught error."""
    broken = [e for e in artist.errors + listener.errors
              if "Content Security Policy" in e or e.startswith("uncaught:")]
    assert not broken, "\n".join(broken)
