"""The web app without a connection, in real Chromium against `veza up`: once its service
worker is active, a reload offline shows the offline page in place of the page (what still
works, Try again), and Try again back online brings the page; while the app runs, going
offline puts a banner under the header until the connection is back; a navigation the app's
shell does not answer (the API's own URLs) gets the static offline page, under the app's
strict policy (no inline script or style)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# The fixtures come from one module (one server, one browser); tests name them as arguments.
# ruff: noqa: F811
from tests.e2e.web_app import Stack, browser, console_errors, new_context, web_stack  # noqa: F401

pytestmark = pytest.mark.e2e

BANNER = "Offline — pages load again when you're back; an upload cut off must be sent again."


@pytest.fixture(scope="module")
def page(browser: Any, web_stack: Stack) -> Iterator[Any]:
    """The home page in a context of its own, once its service worker controls it (the app's
    shell is then in its cache)."""
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("heading", name="New on Veza").wait_for()
        page.wait_for_function("""async () => {
            const reg = await navigator.serviceWorker.ready;
            return reg.active.state === 'activated' && navigator.serviceWorker.controller !== null;
        }""")
        yield page
    finally:
        context.close()


def test_a_reload_offline_shows_the_offline_page_and_try_again_back_online_brings_the_app(
    page: Any
) -> None:
    errors = console_errors(page)
    page.context.set_offline(True)
    page.reload()
    main = page.get_by_role("main")
    main.get_by_role("heading", level=1, name="You are offline").wait_for()
    assert main.get_by_role("heading", name="What still works").is_visible()
    assert main.get_by_text("The app opens, and its theme and language can be changed.") \
        .is_visible()
    assert main.get_by_role("heading", name="New on Veza").count() == 0
    assert page.title() == "You are offline · Veza"

    page.context.set_offline(False)
    main.get_by_role("status").filter(has_text="The connection is back").wait_for()
    main.get_by_role("button", name="Try again").click()
    page.get_by_role("heading", name="New on Veza").wait_for()
    assert main.get_by_role("heading", name="You are offline").count() == 0
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_going_offline_while_the_app_runs_shows_a_banner_until_the_connection_is_back(
    page: Any
) -> None:
    page.get_by_role("heading", name="New on Veza").wait_for()
    banner = page.get_by_role("banner").get_by_role("status")
    page.context.set_offline(True)
    try:
        banner.filter(has_text=BANNER).wait_for()
        # The page stays as it was, under the banner.
        assert page.get_by_role("heading", name="New on Veza").is_visible()
    finally:
        page.context.set_offline(False)
    banner.filter(has_text=BANNER).wait_for(state="detached")
    assert banner.inner_text() == ""


def test_a_navigation_the_shell_does_not_answer_gets_the_static_offline_page(page: Any) -> None:
    errors = console_errors(page)
    page.context.set_offline(True)
    try:
        page.goto("/healthz")
        page.get_by_role("heading", level=1, name="You are offline").wait_for()
        assert page.get_by_role("heading", level=1, name="Vous êtes hors ligne").is_visible()
        again = page.get_by_role("link", name="Try again · Réessayer")
        # Its style is a file of the app's (the policy refuses an inline one).
        assert page.evaluate("getComputedStyle(document.querySelector('a.button')).display") \
            == "inline-block"
    finally:
        page.context.set_offline(False)
    again.click()
    page.get_by_text('"status"').wait_for()
    assert not [e for e in errors if "Content Security Policy" in e], errors
