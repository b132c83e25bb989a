"""Search over HTTP against a real PostgreSQL: ranking, typo tolerance, filters by sound,
compatible keys, visibility, cursor pagination, bad input and injection attempts."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from api.cache import read_cache
from storage.repositories import unit_of_work
from storage.search import Criteria, Range, SearchRepository
from storage.track_tags import TrackTags
from tests.helpers import assert_problem
from veza.runtime import Services
from veza.search import parse_key

pytestmark = pytest.mark.integration

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    title: str
    artist: str | None = None
    tags: list[str] = field(default_factory=list)
    genre: str | None = None
    bpm: float | None = 120.0
    key: str | None = "C major"
    lufs: float | None = -14.0
    duration: float = 200.0
    visibility: str = "public"
    status: str = "ready"
    age_s: int = 0


@pytest.fixture
def add(services: Services) -> Callable[..., uuid.UUID]:
    """Insert tracks with metadata and analysis as the pipeline and the catalogue leave them."""

    def add(row: Row) -> uuid.UUID:
        track_id = uuid.uuid4()
        with unit_of_work(services.db) as uow:
            owner = uow.users.ensure("artist")
            uow.tracks.insert(track_id=track_id, owner_id=owner.id, title=row.title,
                              original_filename=f"{row.title}.wav",
                              original_key=f"originals/{track_id}/source.wav", size_bytes=1000,
                              source_format="wav", source_codec="pcm_s16le", sample_rate=44100,
                              channels=2, duration_s=row.duration)
            uow.tracks.set_analysis(track_id, {
                "duration_s": row.duration, "tempo_bpm": row.bpm, "key": row.key,
                "loudness": {"integrated_lufs": row.lufs, "range_lu": 6.0}})
            uow.tracks.set_status(track_id, row.status)
            uow.cur.execute(
                "UPDATE tracks SET artist = %s, genre = %s, tags = %s, visibility = %s,"
                " created_at = %s WHERE id = %s",
                (row.artist, row.genre, row.tags, row.visibility,
                 EPOCH + timedelta(seconds=row.age_s), track_id))
        return track_id

    return add


def search(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/search?{urlencode(params)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def titles(client: FlaskClient, **params: Any) -> list[str]:
    return [item["title"] for item in search(client, limit=100, **params)["items"]]


def every_page(client: FlaskClient, **params: Any) -> list[str]:
    """Follow next_cursor to the end and return every id, in order."""
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = search(client, **params, **({"cursor": cursor} if cursor else {}))
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination never ended")


# ---------------------------------------------------------------- text


def test_a_title_match_ranks_above_an_artist_match_above_a_tag_match(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("Night drive", artist="Aurora", age_s=3))
    add(Row("Lanterns", artist="Kite", tags=["aurora", "ambient"], age_s=1))
    add(Row("Aurora", artist="Kite", age_s=2))
    add(Row("Unrelated", artist="Nobody", tags=["rock"]))
    page = search(client, q="aurora")
    assert [item["title"] for item in page["items"]] == ["Aurora", "Night drive", "Lanterns"]
    assert page["mode"] == "text"
    scores = [item["score"] for item in page["items"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_hits_name_their_owner(client: FlaskClient, services: Services,
                              add: Callable[..., uuid.UUID]) -> None:
    add(Row("Moonlight Sonata"))
    with unit_of_work(services.db) as uow:
        owner = uow.users.ensure("artist")
    for params in ({"q": "sonata"}, {}, {"q": "moonlite sonata"}):  # text, recent, fuzzy
        item = search(client, **params)["items"][0]
        assert item["owner_id"] == str(owner.id) and item["owner_handle"] == "artist", params


def test_hits_say_whether_they_have_a_cover(client: FlaskClient, services: Services,
                                            add: Callable[..., uuid.UUID]) -> None:
    pictured = add(Row("Moonlight Sonata", age_s=1))
    add(Row("Moonlight Drive"))
    with unit_of_work(services.db) as uow:
        TrackTags(uow.cur).set_cover(pictured, f"covers/{pictured}/cover.jpg")
    for params in ({"q": "moonlight"}, {}, {"q": "moonlite"}):  # text, recent, fuzzy
        covers = {item["title"]: item["cover_url"] for item in search(client, **params)["items"]}
        assert covers["Moonlight Drive"] is None, params
        assert covers["Moonlight Sonata"].endswith(f"/api/v1/tracks/{pictured}/cover"), params


def test_a_misspelt_word_still_finds_the_track_below_exact_matches(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("Moonlight Sonata", artist="Ludwig van Beethoven"))
    add(Row("Symphony No. 5", artist="Beethoven"))
    add(Row("Für Elise", artist="Someone Else"))
    page = search(client, q="beethovn")
    assert page["mode"] == "fuzzy"
    assert {item["title"] for item in page["items"]} == {"Moonlight Sonata", "Symphony No. 5"}
    assert all(0 < item["score"] <= 1 for item in page["items"])
    # A title typo too, and an exact word ranked above the typo-tolerant matches. The row is
    # written behind the API's back, as the pipeline would: the same search answers from the
    # read cache until it expires.
    add(Row("Beethovn bootleg", artist="Tape"))
    read_cache(client.application).clear()
    page = search(client, q="beethovn")
    assert page["items"][0]["title"] == "Beethovn bootleg" and page["items"][0]["score"] > 1
    assert titles(client, q="moonlite sonata") == ["Moonlight Sonata"]


def test_enough_text_matches_leave_out_near_misses(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    for i in range(3):
        add(Row(f"Love song {i}"))
    add(Row("Live song"))
    page = search(client, q="love")
    assert page["mode"] == "text"
    assert sorted(item["title"] for item in page["items"]) == [f"Love song {i}" for i in range(3)]


def test_web_search_syntax_phrases_and_exclusions(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("Blue in green", artist="Miles"))
    add(Row("Green onions", artist="Booker"))
    add(Row("Green light", artist="Lorde"))
    assert titles(client, q='"green onions"') == ["Green onions"]
    assert sorted(titles(client, q="green -onions")) == ["Blue in green", "Green light"]


# ---------------------------------------------------------------- filters

CATALOGUE = [
    Row("a", bpm=70.0, key="A minor", lufs=-20.0, duration=95.0, genre="Ambient", tags=["calm"]),
    Row("b", bpm=120.0, key="C major", lufs=-14.0, duration=210.0, genre="House",
        tags=["club", "warm"]),
    Row("c", bpm=124.0, key="F# major", lufs=-9.5, duration=360.0, genre="house", tags=["club"]),
    Row("d", bpm=128.0, key="E minor", lufs=-8.0, duration=180.0, genre="Techno", tags=["dark"]),
    Row("e", bpm=174.0, key="Bb minor", lufs=-7.0, duration=300.0, genre="Drum and bass"),
    Row("f", bpm=87.0, key="D minor", lufs=-16.0, duration=240.0, genre="Hip hop",
        tags=["warm"]),
    Row("g", bpm=None, key=None, lufs=None, duration=30.0, genre=None),
    Row("h", bpm=60.0, key="Db major", lufs=-23.0, duration=600.0, genre="Classical",
        tags=["calm", "piano"]),
]


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


FILTERS: list[tuple[dict[str, Any], Callable[[Row], bool]]] = [
    ({"tempo_min": 120, "tempo_max": 128}, lambda r: _within(r.bpm, 120, 128)),
    ({"tempo_min": 125}, lambda r: _within(r.bpm, 125, None)),
    ({"tempo_max": 87}, lambda r: _within(r.bpm, None, 87)),
    # Half/double time: 60-64 also finds 120-128 and 30-32 (one asked tempo, both octaves).
    ({"tempo_min": 60, "tempo_max": 64, "half_double": "true"},
     lambda r: any(_within(r.bpm, 60 * f, 64 * f) for f in (0.5, 1, 2))),
    ({"tempo_min": 85, "tempo_max": 90, "half_double": "true"},
     lambda r: any(_within(r.bpm, 85 * f, 90 * f) for f in (0.5, 1, 2))),
    ({"key": "A minor"}, lambda r: r.key == "A minor"),
    ({"key": "Gb"}, lambda r: r.key == "F# major"),
    ({"key": "a#m"}, lambda r: r.key == "Bb minor"),
    ({"key": "3B"}, lambda r: r.key == "Db major"),
    ({"loudness_min": -15, "loudness_max": -8}, lambda r: _within(r.lufs, -15, -8)),
    ({"loudness_max": -16}, lambda r: _within(r.lufs, None, -16)),
    ({"duration_min": 200, "duration_max": 360}, lambda r: _within(r.duration, 200, 360)),
    ({"duration_max": 100}, lambda r: _within(r.duration, None, 100)),
    ({"genre": "HOUSE"}, lambda r: (r.genre or "").lower() == "house"),
    ({"tag": "warm"}, lambda r: "warm" in r.tags),
    ({"tag": "war"}, lambda r: False),
    ({"genre": "house", "tag": "club", "tempo_min": 122, "loudness_min": -10},
     lambda r: r.title == "c"),
    ({"key": "8A", "compatible": "true", "duration_min": 100},
     lambda r: r.key in ("A minor", "C major", "E minor", "D minor") and r.duration >= 100),
]


def test_each_filter_and_their_combinations_find_exactly_the_matching_tracks(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    for i, row in enumerate(CATALOGUE):
        add(Row(**{**row.__dict__, "age_s": i}))
    for params, expected in FILTERS:
        want = sorted(r.title for r in CATALOGUE if expected(r))
        assert sorted(titles(client, **params)) == want, params
        # The same filters narrow a text search.
        assert sorted(titles(client, q=" or ".join(want) or "zzz", **params)) == want, params


def test_results_carry_the_analysis_a_client_filters_on(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    track_id = add(Row("Signal", artist="Rig", genre="Techno", tags=["dark", "loop"], bpm=128.0,
                       key="F# major", lufs=-8.5, duration=181.5))
    [item] = search(client, q="signal")["items"]
    assert item["id"] == str(track_id)
    assert (item["artist"], item["genre"], item["tags"]) == ("Rig", "Techno", ["dark", "loop"])
    assert (item["tempo_bpm"], item["key"], item["camelot"]) == (128.0, "F# major", "2B")
    assert (item["loudness_lufs"], item["duration_s"]) == (-8.5, 181.5)
    assert item["url"].endswith(f"/api/v1/tracks/{track_id}")


# ---------------------------------------------------------------- keys

# The Camelot wheel as DJs print it: code -> (minor key, relative major).
WHEEL = {
    1: ("G# minor", "B major"), 2: ("Eb minor", "F# major"), 3: ("Bb minor", "Db major"),
    4: ("F minor", "Ab major"), 5: ("C minor", "Eb major"), 6: ("G minor", "Bb major"),
    7: ("D minor", "F major"), 8: ("A minor", "C major"), 9: ("E minor", "G major"),
    10: ("B minor", "D major"), 11: ("F# minor", "A major"), 12: ("C# minor", "E major"),
}


def _wheel_neighbours(number: int, minor: bool) -> set[str]:
    side = 0 if minor else 1
    return {WHEEL[number][side], WHEEL[number][1 - side],
            WHEEL[number % 12 + 1][side], WHEEL[(number - 2) % 12 + 1][side]}


def test_key_names_and_camelot_codes_follow_the_wheel() -> None:
    for number, (minor, major) in WHEEL.items():
        assert parse_key(f"{number}A").name == minor and parse_key(minor).camelot == f"{number}A"
        assert parse_key(f"{number}B").name == major and parse_key(major).camelot == f"{number}B"
        for name, is_minor in ((minor, True), (major, False)):
            assert {k.name for k in parse_key(name).compatible()} == \
                _wheel_neighbours(number, is_minor), name


@pytest.mark.parametrize("code", ["8A", "1B", "12A"])
def test_compatible_keys_find_the_wheel_neighbours_and_nothing_else(
        client: FlaskClient, add: Callable[..., uuid.UUID], code: str) -> None:
    for number, pair in WHEEL.items():
        for name in pair:
            add(Row(f"{number} {name}", key=name))
    number, minor = int(code[:-1]), code.endswith("A")
    own = WHEEL[number][0 if minor else 1]
    assert [t.split(" ", 1)[1] for t in titles(client, key=code)] == [own]
    found = {t.split(" ", 1)[1] for t in titles(client, key=code, compatible="true")}
    assert found == _wheel_neighbours(number, minor) and len(found) == 4


# ---------------------------------------------------------------- visibility


def test_only_public_ready_tracks_are_ever_found(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("Echo public", artist="Echo"))
    for visibility in ("unlisted", "private"):
        add(Row(f"Echo {visibility}", artist="Echo", visibility=visibility))
    for status in ("queued", "processing", "failed"):
        add(Row(f"Echo {status}", artist="Echo", status=status))
    for params in ({"q": "echo"}, {}, {"q": "echoo"}, {"tempo_min": 100}, {"key": "C major"}):
        assert titles(client, **params) == ["Echo public"], params
    for word in ("unlisted", "private", "queued", "processing", "failed"):
        assert titles(client, q=word) == [], word


# ---------------------------------------------------------------- pagination


def test_every_page_together_holds_each_match_once(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    expected = set()
    for i in range(23):
        # Equal creation times and equal ranks: only the id breaks the tie.
        expected.add(str(add(Row(f"Wave {i % 3}", artist="Tide" if i % 2 else "Wave",
                                 age_s=i // 4))))
    add(Row("Other", artist="Nobody"))
    recent = every_page(client, limit=5)
    assert len(recent) == len(set(recent)) == 24
    assert len(every_page(client, limit=1)) == 24
    ranked = every_page(client, q="wave", limit=4)
    assert len(ranked) == len(set(ranked)) and set(ranked) == expected
    assert ranked == [item["id"] for item in search(client, q="wave", limit=100)["items"]]
    fuzzy = every_page(client, q="wavez tide", limit=3)
    assert len(fuzzy) == len(set(fuzzy)) and set(fuzzy) <= expected and len(fuzzy) > 3
    filtered = every_page(client, q="wave", tempo_min=100, limit=6)
    assert set(filtered) == expected


def test_an_altered_or_foreign_cursor_is_refused(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    for i in range(3):
        add(Row(f"Loop {i}", age_s=i))
    cursor = search(client, q="loop", limit=1)["next_cursor"]
    body, tag = cursor.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    # Point the cursor at another row: the payload ends with the last id's final digit, '"]'.
    moved = raw[:-3] + (b"a" if raw[-3:-2] != b"a" else b"b") + raw[-2:]
    forged = base64.urlsafe_b64encode(moved).rstrip(b"=").decode()
    for bad in (f"{forged}.{tag}", cursor[:-2], "nonsense", "a.b.c", "%%%.", cursor + "x"):
        assert_problem(client.get(f"/api/v1/search?{urlencode({'q': 'loop', 'cursor': bad})}"),
                       400, "bad_cursor")
    # A cursor belongs to its search: another text or filter is refused.
    for other in ({"q": "loops"}, {"q": "loop", "tempo_min": 1}, {}):
        assert_problem(client.get(f"/api/v1/search?{urlencode({**other, 'cursor': cursor})}"),
                       400, "bad_cursor")


# ---------------------------------------------------------------- bad input


BAD_VALUES: list[tuple[dict[str, Any], set[str]]] = [
    ({"tempo_min": 130, "tempo_max": 120}, {"tempo_min"}),
    ({"loudness_min": -5, "loudness_max": -10}, {"loudness_min"}),
    ({"duration_min": 300, "duration_max": 60, "tempo_min": 2, "tempo_max": 1},
     {"duration_min", "tempo_min"}),
    ({"key": "H minor"}, {"key"}),
    ({"key": "13A"}, {"key"}),
    ({"key": "C dorian"}, {"key"}),
    ({"compatible": "true"}, {"compatible"}),
    ({"half_double": "true"}, {"half_double"}),
    ({"tempo_min": "fast"}, {"tempo_min"}),
    ({"tempo_min": "nan"}, {"tempo_min"}),
    ({"loudness_max": "inf"}, {"loudness_max"}),
    ({"duration_min": -1}, {"duration_min"}),
    ({"limit": 0}, {"limit"}),
    ({"limit": 101}, {"limit"}),
    ({"compatible": "perhaps"}, {"compatible"}),
    ({"q": "x" * 201}, {"q"}),
    ({"q": "a\x00b"}, {"q"}),
    ({"genre": "\x00"}, {"genre"}),
    ({"tag": "x\x00"}, {"tag"}),
    ({"key": "A\x00 minor"}, {"key"}),
    ({"tempo": 120}, {"tempo"}),
]


def test_bad_values_are_refused_naming_each_field(client: FlaskClient) -> None:
    for params, fields in BAD_VALUES:
        body = assert_problem(client.get(f"/api/v1/search?{urlencode(params)}"), 422, "invalid")
        assert {error["field"] for error in body["errors"]} == fields, params


# ---------------------------------------------------------------- injection

NASTY = [
    "'", '"', "''", "\\", "';--", "'; DROP TABLE tracks; --", "\"; DROP TABLE tracks; --",
    "1' OR '1'='1", "a & b", "a | b", "!a", "a:*", "a:* & !b | c", "(a", "a)", "<->", "a <-> b",
    "%", "_", "%%", "a%", "_a_", "\\%", "$$", "$1", "%s", "%(text)s", "{}", "::text", "é🎵",
    "ａ", "\u202e", "\r\n", "\t",
]


def test_injection_attempts_in_every_text_parameter_are_plain_text(
        client: FlaskClient, add: Callable[..., uuid.UUID], services: Services) -> None:
    add(Row("Harmless", artist="Anyone", genre="House", tags=["club"]))
    add(Row("100% pure", artist="O'Brien", genre="Soul", tags=["50_50"]))
    for payload in NASTY:
        for name in ("q", "genre", "tag", "key", "cursor"):
            response = client.get(f"/api/v1/search?{urlencode({name: payload})}")
            assert response.status_code in (200, 400, 422), (name, payload,
                                                             response.get_data(as_text=True))
            if response.status_code != 200:
                # Refused as the user's mistake, never as a server error.
                assert response.get_json()["code"] in ("invalid", "bad_cursor"), payload
                continue
            found = {item["title"] for item in response.get_json()["items"]}
            if name == "q":
                assert found <= {"Harmless", "100% pure"}, payload
            else:
                # A filter value that is no real genre, tag or key matches nothing.
                assert found == set(), (name, payload, found)
    with unit_of_work(services.db) as uow:
        assert uow.tracks.count() == 2


def test_wildcards_and_operators_match_only_themselves(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("100% pure", artist="O'Brien", tags=["50_50"], genre="R&B"))
    add(Row("Harmless", artist="Anyone", tags=["5050"], genre="RnB"))
    assert titles(client, q="O'Brien") == ["100% pure"]
    assert titles(client, tag="50_50") == ["100% pure"]
    assert titles(client, tag="50%") == []
    assert titles(client, genre="R&B") == ["100% pure"]
    assert titles(client, genre="R_B") == []
    # Operators are words to websearch_to_tsquery, never tsquery syntax.
    assert "100% pure" in titles(client, q="!pure")
    assert all(item["score"] < 1 for item in search(client, q="harm:*")["items"])


def test_huge_and_numeric_injection_values_are_refused_cleanly(
        client: FlaskClient, add: Callable[..., uuid.UUID]) -> None:
    add(Row("Harmless"))
    big = "'; DROP TABLE tracks; --" * 430  # about 10 KB
    for name in ("q", "genre", "tag", "key", "cursor"):
        body = assert_problem(client.get(f"/api/v1/search?{urlencode({name: big})}"), 422,
                              "invalid")
        assert body["errors"][0]["field"] == name
    for name in ("tempo_min", "loudness_max", "duration_min", "limit"):
        for payload in ("1; DROP TABLE tracks", "1 OR 1=1", "0x10", "1e999"):
            assert_problem(client.get(f"/api/v1/search?{urlencode({name: payload})}"), 422,
                           "invalid")
    assert titles(client) == ["Harmless"]


# ---------------------------------------------------------------- plans


def test_the_common_searches_use_their_indexes(services: Services, database_url: str) -> None:
    from benchmarks.catalogue_data import seed

    seed(database_url, users=300, tracks=4000)
    cases = [
        (Criteria(), "recent", {"tracks_public_created"}),
        (Criteria(text="midnight"), "text", {"tracks_search"}),
        (Criteria(text="beethovn", fuzzy_text="beethovn"), "fuzzy",
         {"tracks_search", "tracks_title_trgm", "tracks_artist_trgm"}),
        (Criteria(text="love", tempo=Range(120, 130)), "text", {"tracks_search"}),
        # Filters alone: newest first, so the ordered index with the filters applied to it...
        (Criteria(tempo=Range(120, 126)), "recent", {"tracks_public_created"}),
        (Criteria(keys=("A minor", "C major")), "recent", {"tracks_public_created"}),
        # ...unless they are selective enough for one of their own indexes to pay.
        (Criteria(loudness=Range(-8, -6), duration=Range(60, 120)), "recent",
         {"tracks_duration"}),
    ]
    with unit_of_work(services.db) as uow:
        for criteria, mode, indexes in cases:
            plan = SearchRepository(uow.cur).explain(criteria, mode=mode)
            assert all(index in plan for index in indexes), plan
            assert "Seq Scan" not in plan, plan
