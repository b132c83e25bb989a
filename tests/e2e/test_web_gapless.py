"""Gapless playback in Chromium: one continuous signal cut in two tracks, played from a
playlist, must come out joined with no gap and no overlap.

The page records what the player hands the browser (every ``SourceBuffer.appendBuffer`` with the
buffer's ``timestampOffset`` and append window at that moment); the test decodes those bytes with
FFmpeg's AAC decoder (the one Chromium uses), cuts them as the append windows say, lays them on
the media timeline and compares the join with the signal as it was before it was cut."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
import pytest
import requests
import soundfile

# ruff: noqa: F811
from tests.e2e.web_app import Stack, browser, new_context, web_stack  # noqa: F401 - fixtures
from tests.helpers import artist_token

pytestmark = pytest.mark.e2e

SOURCE_RATE = 44_100
RATE = 48_000
CUT = 8 * SOURCE_RATE + 12_345  # where the signal is cut: on no frame or segment boundary
LENGTH = 18 * SOURCE_RATE
MS = RATE // 1000

# Every append the page makes, with the window and offset it was made under.
RECORD_APPENDS = """(() => {
  const log = [];
  window.__appends = log;
  const append = SourceBuffer.prototype.appendBuffer;
  const text = (bytes) => {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  SourceBuffer.prototype.appendBuffer = function (data) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    log.push({offset: this.timestampOffset, start: this.appendWindowStart,
              end: this.appendWindowEnd, data: text(bytes)});
    return append.call(this, data);
  };
})();"""


def signal(t: np.ndarray) -> np.ndarray:
    """A signal of time alone (so it can be drawn at any rate): three tones that share no period
    and a slow sweep, so that one alignment matches it and no other."""
    sweep = np.sin(2 * np.pi * (150 * t + 40 * t * t))
    return (0.2 * np.sin(2 * np.pi * 347.3 * t) + 0.15 * np.sin(2 * np.pi * 611.7 * t + 1)
            + 0.1 * np.sin(2 * np.pi * 1033.1 * t + 2) + 0.2 * sweep).astype(np.float32)


@pytest.fixture(scope="module")
def album(web_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two public tracks cut from one signal, and a public playlist holding them in order."""
    folder = tmp_path_factory.mktemp("album")
    whole = signal(np.arange(LENGTH) / SOURCE_RATE)
    headers = artist_token(web_stack.base)
    ids = []
    for name, part in (("Side A", whole[:CUT]), ("Side B", whole[CUT:])):
        path = folder / f"{name}.flac"
        soundfile.write(path, part, SOURCE_RATE, format="FLAC", subtype="PCM_16")
        answer = requests.post(f"{web_stack.base}/api/v1/tracks?filename={path.name}",
                               data=path.read_bytes(), headers=headers, timeout=60)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    tracks = [wait_ready(web_stack, i, headers) for i in ids]
    made = requests.post(f"{web_stack.base}/api/v1/playlists", headers=headers, timeout=10,
                         json={"title": "One side, two tracks", "visibility": "public"})
    assert made.status_code == 201, made.text
    playlist = made.json()["id"]
    for i in ids:
        added = requests.post(f"{web_stack.base}/api/v1/playlists/{playlist}/items",
                              headers=headers, json={"track_id": i}, timeout=10)
        assert added.status_code in (200, 201), added.text
    return {"tracks": tracks, "playlist": playlist}


def wait_ready(stack: Stack, track_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = requests.get(f"{stack.base}/api/v1/tracks/{track_id}", headers=headers,
                            timeout=10).json()
        if body["status"] == "ready":
            return dict(body)
        assert body["status"] != "failed", body
        time.sleep(0.5)
    raise AssertionError(f"track {track_id} not ready in 180 s")


@pytest.fixture(scope="module")
def played(browser: Any, web_stack: Stack, album: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A listener (no account needed for public tracks) plays the playlist through the join."""
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800})
    context.add_init_script(RECORD_APPENDS)
    page = context.new_page()
    page.goto(f"/playlists/{album['playlist']}")
    page.get_by_role("heading", level=1, name="One side, two tracks").wait_for()
    page.get_by_role("button", name="Play all").click()
    player = page.get_by_role("region", name="Player")
    side_a, side_b = album["tracks"]
    player.get_by_text(side_a["title"], exact=True).wait_for()
    join = side_a["duration_s"]
    # Through the join and a second on, in real time (the track is 8.5 s long).
    page.wait_for_function("t => { const a = document.querySelector('audio');"
                           " return a && a.currentTime > t; }", arg=join + 1.0,
                           timeout=60_000)
    player.get_by_text(side_b["title"], exact=True).wait_for(timeout=5_000)
    state = page.evaluate("""() => {
      const a = document.querySelector('audio');
      const ranges = [];
      for (let i = 0; i < a.buffered.length; i++) {
        ranges.push([a.buffered.start(i), a.buffered.end(i)]);
      }
      return {appends: window.__appends, buffered: ranges, time: a.currentTime};
    }""")
    yield {"page": page, **state}
    context.close()


Windows = list[dict[str, float]]


def timeline(appends: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, Windows]:
    """Decode what was appended, cut by each append's window, laid at its place: the summed
    samples, how many tracks cover each sample, and each track's window."""
    tracks: dict[float, dict[str, Any]] = {}
    for a in appends:
        data = base64.b64decode(a["data"])
        if not data:
            continue
        track = tracks.setdefault(a["start"], {"offset": a["offset"], "start": a["start"],
                                               "end": a["end"], "init": None, "media": []})
        if data[4:8] == b"ftyp":
            track["init"] = data
        elif data not in track["media"]:  # a segment fetched again after a seek
            track["media"].append(data)
    span = int(max(t["end"] for t in tracks.values()) * RATE) + 2 * 1024
    summed = np.zeros(span, np.float64)
    cover = np.zeros(span, np.int32)
    windows = []
    for track in tracks.values():
        assert track["init"] is not None, "a track was appended without its init segment"
        packed = io.BytesIO(track["init"] + b"".join(track["media"]))
        with av.open(packed, mode="r", format="mp4") as box:
            stream = box.streams.audio[0]
            assert stream.codec_context.sample_rate == RATE
            for frame in box.decode(stream):
                assert frame.pts is not None and frame.time_base is not None
                pcm = frame.to_ndarray().astype(np.float64).mean(axis=0)
                first = round(float(frame.pts * frame.time_base + track["offset"]) * RATE)
                lo, hi = round(track["start"] * RATE), round(track["end"] * RATE)
                at = np.arange(first, first + pcm.size)
                keep = (at >= lo) & (at < hi)
                summed[at[keep]] += pcm[keep]
                cover[at[keep]] += 1
        windows.append({"start": track["start"], "end": track["end"]})
    return summed, cover, sorted(windows, key=lambda w: w["start"])


def lag(played: np.ndarray, reference: np.ndarray, around: int, width: int = 40 * MS,
        reach: int = 30 * MS) -> int:
    """The shift (samples) that best lines up ``played`` with ``reference`` in the ``width``
    samples from ``around``: positive when the played signal comes late."""
    want = reference[around: around + width]
    scores = [float(np.dot(played[around + k: around + k + width], want))
              for k in range(-reach, reach + 1)]
    return int(np.argmax(scores)) - reach


def test_two_tracks_cut_from_one_signal_play_joined_without_gap_or_overlap(
        played: dict[str, Any], album: dict[str, Any]) -> None:
    side_a, side_b = album["tracks"]
    summed, cover, windows = timeline(played["appends"])
    assert len(windows) == 2, f"expected two tracks in one timeline, got {windows}"
    first, second = windows
    # The player placed B where A's last sample ends, with both windows finite (the chain, not
    # one track at a time).
    a_samples = next(r["samples"] for r in side_a["stream"]["renditions"]
                     if r["codec"] == "mp4a.40.2")
    assert first["start"] == 0
    assert round(first["end"] * RATE) == a_samples
    assert abs(second["start"] - first["end"]) * RATE < 0.01
    join = round(first["end"] * RATE)
    end = round(second["end"] * RATE)
    # Every sample of the timeline is covered once: no gap, no overlap.
    holes = int(np.count_nonzero(cover[:end] == 0))
    doubled = int(np.count_nonzero(cover[:end] > 1))
    assert holes <= MS and doubled <= MS, f"{holes} samples uncovered, {doubled} covered twice"
    # And what covers them is the signal as it was before it was cut: the same alignment on
    # both sides of the join (a gap or an overlap would shift the second side).
    reference = signal(np.arange(end) / RATE).astype(np.float64)
    before = lag(summed, reference, join - 60 * MS)
    after = lag(summed, reference, join + 20 * MS)
    assert abs(before) <= MS and abs(after - before) <= MS, (before, after)
    # Chromium sees one buffered range across the join, and played through it into B.
    t = first["end"]
    assert any(lo <= t - 1 and hi >= t + 1 for lo, hi in played["buffered"]), played["buffered"]
    assert played["time"] > t
    # How the join sounds: the error against the uncut signal in the 10 ms either side of the
    # join, against the error in the middle of a track (AAC's own noise).
    near = slice(join - 10 * MS, join + 10 * MS)
    middle = slice(join - 3 * RATE, join - 3 * RATE + 20 * MS)
    def error(s: slice) -> float:
        return float(np.sqrt(np.mean((summed[s] - reference[s]) ** 2)))
    ratio_db = 20 * np.log10(error(near) / error(middle))
    print(f"gapless join: {holes} holes, {doubled} doubled, lag {before} -> {after} samples, "
          f"error at the join {ratio_db:+.1f} dB against mid-track")
    assert ratio_db < 12, f"the join is {ratio_db:.1f} dB noisier than the middle of a track"


def test_the_player_shows_the_second_track_from_its_start(played: dict[str, Any],
                                                          album: dict[str, Any]) -> None:
    page = played["page"]
    player = page.get_by_role("region", name="Player")
    side_b = album["tracks"][1]
    player.get_by_text(side_b["title"], exact=True).wait_for()
    seek = player.get_by_role("slider", name="Seek")
    value = float(seek.get_attribute("aria-valuenow") or "nan")
    maximum = float(seek.get_attribute("aria-valuemax") or "nan")
    # Within B (its own clock from 0, its own length), not A's clock running on.
    assert 0 <= value < 6, value
    assert abs(maximum - side_b["duration_s"]) < 0.5, (maximum, side_b["duration_s"])
    # Seeking stays within the track that plays: paused, 5 s back from early in B is B's
    # start, not A; 5 s on from there is 5 s into B; and it plays on from there.
    join = album["tracks"][0]["duration_s"]
    at = "() => document.querySelector('audio').currentTime"
    body = page.locator("body")
    body.press("Space")
    player.get_by_role("button", name="Play").wait_for()
    body.press("ArrowLeft")
    page.wait_for_function(f"t => Math.abs(({at})() - t) < 0.05", arg=join)
    assert float(seek.get_attribute("aria-valuenow") or "nan") < 0.5
    player.get_by_text(side_b["title"], exact=True).wait_for()
    body.press("ArrowRight")
    page.wait_for_function(f"t => Math.abs(({at})() - t) < 0.05", arg=join + 5)
    body.press("Space")
    page.wait_for_function(f"t => ({at})() > t", arg=join + 5.2)


def test_a_segment_refused_once_is_fetched_again_and_the_chain_plays_on(
        browser: Any, web_stack: Stack, album: dict[str, Any]) -> None:
    context = new_context(browser, web_stack, viewport={"width": 1280, "height": 800})
    refused: list[str] = []

    def flaky(route: Any) -> None:
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    context.route("**/seg_00002.m4s*", flaky)
    page = context.new_page()
    try:
        page.goto(f"/playlists/{album['playlist']}")
        page.get_by_role("button", name="Play all").click()
        # Segment 2 starts at 6 s: playing past it means it came on the second try.
        page.wait_for_function("() => document.querySelector('audio').currentTime > 6.5",
                               timeout=60_000)
        assert refused, "the player never asked for the second segment"
        assert page.get_by_text("Cannot play").count() == 0
    finally:
        context.close()
