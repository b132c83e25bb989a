"""Fixtures for the web app's browser tests: one `veza up` serving one build of web/, one
Debian Chromium, and the people who use it (an artist who uploads a track, a listener).

Everything on a page is found by its role and accessible name, as a screen reader would."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Proc, start, stop, wait_http
from tests.plugins.s3 import free_port

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "a long passphrase for the browser"
TIMEOUT_MS = 20_000


@dataclass
class Stack:
    base: str
    proc: Proc


@dataclass
class Person:
    handle: str
    context: Any  # playwright BrowserContext
    page: Any  # playwright Page
    errors: list[str] = field(default_factory=list)  # the page's console errors

    @property
    def email(self) -> str:
        return f"{self.handle}@example.org"


@dataclass
class Upload:
    """What the artist saw while uploading, and the track it made."""

    track_id: str
    title: str
    states: list[str]  # the file's progress bar texts, in the order they appeared
    track: dict = field(default_factory=dict)  # GET /api/v1/tracks/{id} once ready


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`veza up` with its embedded defaults, serving a copy of the one build of web/ (copied so
    that a rebuild while the tests run cannot pull files from under the browser)."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST / 'index.html'} is missing: build the web app first "
                    "(scripts/install.sh does, or `cd web && npx vite build`)")
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed (scripts/install.sh test installs it)")
    dist = tmp_path_factory.mktemp("web") / "dist"
    shutil.copytree(DIST, dist)
    data = Path(tempfile.mkdtemp(prefix="vz-", dir="/tmp"))  # short: PostgreSQL's socket path
    port = free_port()
    env = {"VEZA_DATA_DIR": str(data / "data"), "VEZA_API_PORT": str(port),
           "VEZA_CHAT_PORT": str(free_port()), "VEZA_WEB_DIR": str(dist)}
    proc = start(["up"], env, tmp_path_factory.mktemp("logs") / "up.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=120)
        yield Stack(f"http://127.0.0.1:{port}", proc)
    finally:
        code = stop(proc)
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, proc.output()[-3000:]
    assert "Traceback" not in proc.output(), proc.output()[-5000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module-scoped, not session-scoped: while Playwright's sync API runs, an asyncio loop runs
    # on the main thread, and any later test that calls asyncio.run() would fail.
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_context(browser: Any, stack: Stack, **options: Any) -> Any:
    context = browser.new_context(base_url=stack.base, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def console_errors(page: Any) -> list[str]:
    """Collect the page's console errors (a policy refusal shows up here)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


def sign_up(page: Any, handle: str, role: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_role("radio", name=re.compile("^An artist" if role == "artist" else
                                              "^A listener")).check()
    page.get_by_label("Handle", exact=True).fill(handle)
    page.get_by_label("Email").fill(f"{handle}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    account_menu(page).wait_for()


def log_in(page: Any, handle: str) -> None:
    page.goto("/login")
    page.get_by_label("Handle or email").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    account_menu(page).wait_for()


def account_menu(page: Any) -> Any:
    return page.get_by_role("button", name=re.compile(", account menu$"))


def _signed_up(browser: Any, web_stack: Stack, handle: str, role: str) -> Iterator[Person]:
    """One who signed up as ``role`` in a browser context of their own, kept for the session."""
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = console_errors(page)
    sign_up(page, handle, role)
    yield Person(handle, context, page, errors)
    context.close()


@pytest.fixture(scope="module")
def artist(browser: Any, web_stack: Stack) -> Iterator[Person]:
    yield from _signed_up(browser, web_stack, "ada", "artist")


@pytest.fixture(scope="module")
def listener(browser: Any, web_stack: Stack) -> Iterator[Person]:
    yield from _signed_up(browser, web_stack, "lin", "listener")


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of an A (440 Hz) over a kick at 120 BPM, as a 16-bit mono WAV file (~1.7 MB)."""
    path = tmp_path_factory.mktemp("audio") / "Night Bus.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc=0.25*sin(2*PI*440*t)+0.6*sin(2*PI*55*t)*exp(-25*mod(t\\,0.5))"
                    ":s=44100:d=20", "-ac", "1", "-c:a", "pcm_s16le", str(path)], check=True)
    return path


# Records each text the file's progress bar shows, however briefly (upload on loopback is fast).
RECORD_PROGRESS = """name => {
  window.__progress = [];
  const seen = () => {
    for (const bar of document.querySelectorAll('[role=progressbar]')) {
      if (bar.getAttribute('aria-label') !== name) continue;
      const text = bar.getAttribute('aria-valuetext');
      if (text && window.__progress.at(-1) !== text) window.__progress.push(text);
    }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true,
    attributes: true, attributeFilter: ['aria-valuetext']});
}"""


@pytest.fixture(scope="module")
def upload(artist: Person, tone: Path, web_stack: Stack) -> Upload:
    """The artist uploads the tone through the upload page's file input, the upload throttled
    to 1 MB/s (so that its progress is on screen for a while), and opens the track's page."""
    page = artist.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    region = page.get_by_role("region", name="Upload")
    region.wait_for()
    page.evaluate(RECORD_PROGRESS, tone.name)
    cdp = artist.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": 1_000_000})
    try:
        region.get_by_label("Choose files").set_input_files(tone)
        page.get_by_role("progressbar", name=tone.name).wait_for()
        opened = page.get_by_role("link", name=re.compile("^Open “"))
        opened.wait_for(timeout=120_000)
    finally:
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                      "downloadThroughput": -1,
                                                      "uploadThroughput": -1})
        cdp.detach()
    states: list[str] = page.evaluate("window.__progress")
    href = opened.get_attribute("href")
    match = re.fullmatch(r"/tracks/([0-9a-f-]+)", href or "")
    assert match, href
    track = requests.get(f"{web_stack.base}/api/v1/tracks/{match[1]}", timeout=10).json()
    opened.click()
    page.get_by_role("heading", level=1, name=track["title"]).wait_for()
    return Upload(match[1], track["title"], states, track)


@pytest.fixture(scope="module")
def playlist(listener: Person, upload: Upload) -> str:
    """The listener makes a public playlist from the track's "Add to playlist" menu."""
    page = listener.page
    page.goto(f"/tracks/{upload.track_id}")
    page.get_by_role("heading", level=1, name=upload.title).wait_for()
    page.get_by_role("button", name="Add to playlist").click()
    page.get_by_role("menuitem", name="New playlist…").click()
    dialog = page.get_by_role("dialog", name="New playlist")
    dialog.get_by_label("Title").fill("Late buses")
    dialog.get_by_label("Visibility").select_option(label="Public")
    dialog.get_by_role("button", name="New playlist").click()
    page.get_by_text("Added to Late buses", exact=True).wait_for()
    account_menu(page).click()
    page.get_by_role("menuitem", name="My playlists").click()
    page.get_by_role("link", name="Late buses").click()
    page.wait_for_url(re.compile(r"/playlists/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[1]


def settle(page: Any) -> None:
    """Wait for the page's heading and for its data to arrive."""
    page.get_by_role("heading", level=1).first.wait_for()
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # noqa: BLE001 - a page still streaming is checked as it is
        pass
    deadline = time.monotonic() + 5
    while page.get_by_text("Loading…").count() and time.monotonic() < deadline:
        time.sleep(0.1)
