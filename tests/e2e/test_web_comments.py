"""Timestamped comments in real Chromium against `veza up`: the artist pins a comment at 0:12 of
their track; the listener, already on the track's page, sees its marker appear on the waveform
and clicking it seeks their player there; a page opened later reads it from history and passes
axe; a signed-out visitor is asked to sign in."""

from __future__ import annotations

import re
from typing import Any

import pytest

# The fixtures come from one module (one server, one browser); tests name them as arguments.
# ruff: noqa: F811
from tests.e2e.web_app import (  # noqa: F401
    AXE,
    Person,
    Stack,
    Upload,
    artist,
    browser,
    listener,
    log_in,
    new_context,
    settle,
    tone,
    upload,
    web_stack,
)

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

AUDIO = "document.querySelector('audio')"  # the player's media element
AT_S = 12.3
BODY = "the kick comes in here"
MARKER = re.compile(r"^Comment by @ada at 0:12: the kick comes in here$")


def wait_audio_at(page: Any, seconds: float) -> None:
    page.wait_for_function(f"t => {AUDIO} && Math.abs({AUDIO}.currentTime - t) < 1", arg=seconds,
                           timeout=10_000)


def test_a_comment_pinned_at_0_12_shows_live_on_the_waveform_and_seeks_there(
        artist: Person, listener: Person, upload: Upload) -> None:
    a, b = artist.page, listener.page
    path = f"/tracks/{upload.track_id}"
    b.goto(path)
    b.get_by_role("heading", level=2, name="Comments").wait_for()
    b.get_by_text("No comments yet", exact=False).wait_for()

    a.goto(path)
    a.get_by_role("main").get_by_role("button", name=f"Play {upload.title}").click()
    a.wait_for_function(f"() => {AUDIO} && {AUDIO}.currentTime > 0.3", timeout=20_000)
    a.get_by_role("button", name="Pause").first.click()
    a.wait_for_function(f"() => {AUDIO}.paused")
    waveform = a.get_by_role("slider", name="Waveform: seek")
    box = waveform.bounding_box()
    assert box
    waveform.click(position={"x": box["width"] * AT_S / 20, "y": box["height"] / 2})
    wait_audio_at(a, AT_S)
    pin = a.get_by_role("checkbox", name="Pin to 0:12")
    assert not pin.is_checked(), "pinned by default while paused"
    pin.check()
    a.get_by_label("Add a comment").fill(BODY)
    a.get_by_role("button", name="Post", exact=True).click()
    a.get_by_role("button", name=MARKER).wait_for()

    marker = b.get_by_role("button", name=MARKER)
    marker.wait_for(timeout=5_000)
    # The marker stands where 0:12 is on the waveform.
    wave = b.get_by_role("slider", name="Waveform: seek").bounding_box()
    spot = marker.bounding_box()
    assert wave and spot
    centre = (spot["x"] + spot["width"] / 2 - wave["x"]) / wave["width"]
    assert centre == pytest.approx(AT_S / 20, abs=0.02)
    # The body shows in the list; hovering the marker shows it over the waveform too.
    body = b.get_by_text(BODY, exact=True)
    assert body.filter(visible=True).count() == 1
    marker.hover()
    expect(body.filter(visible=True)).to_have_count(2)
    marker.click()
    wait_audio_at(b, AT_S)
    assert abs(b.evaluate(f"{AUDIO}.currentTime") - AT_S) < 1
    # Playing past 0:12, the comment at the playhead shows without a hover; paused, it goes.
    b.mouse.move(0, 0)
    expect(body.filter(visible=True)).to_have_count(2)
    b.get_by_role("button", name="Pause").first.click()
    expect(body.filter(visible=True)).to_have_count(1)
    assert not [e for e in artist.errors + listener.errors if "comments" in e.lower()]


def test_comments_come_from_history_pass_axe_and_ask_the_signed_out_to_sign_in(
        browser: Any, web_stack: Stack, upload: Upload, listener: Person) -> None:
    # axe is injected as an inline script, which the app's policy rightly refuses: bypass it here.
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800},
                          bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"/tracks/{upload.track_id}")
        settle(page)
        section = page.get_by_role("region", name="Comments")
        section.get_by_role("link", name="Sign in").wait_for()
        assert "to see and post comments" in section.inner_text()
        assert page.get_by_role("button", name=MARKER).count() == 0

        log_in(page, listener.handle)
        page.goto(f"/tracks/{upload.track_id}")
        settle(page)
        page.get_by_role("button", name=MARKER).wait_for()
        page.get_by_role("button", name="Play from 0:12").wait_for()
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => (await axe.run(document)).violations
          .filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""")
        assert not violations, violations
    finally:
        context.close()
