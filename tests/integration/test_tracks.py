"""Track metadata, pages of tracks and reprocessing through the API (no pipeline runs)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from storage.repositories import unit_of_work
from tests.integration.test_tracks_access import People, assert_problem, make_track
from veza.runtime import Services
from veza.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def services(database_url: str, local_store: LocalStore, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, signing_key="k" * 64)
    svc = Services(settings=settings, db=Database(database_url), store=local_store)
    yield svc
    svc.close()


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return create_app(services.settings, services).test_client()


@pytest.fixture
def people(client: FlaskClient, services: Services) -> People:
    return People(client, services)


# -------------------------------------------------------------------- update


def test_the_owner_changes_metadata_and_gets_the_track_back(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    owner = people.headers["owner"]
    response = client.patch(f"/api/v1/tracks/{track_id}", headers=owner, json={
        "title": "  Night Drive ", "artist": "Olivia", "album": "Roads", "genre": "Synthwave",
        "tags": [" Night ", "DRIVE", "night", "late   show", ""],
        "description": "Recorded live.\nTwo takes.", "visibility": "unlisted"})
    assert response.status_code == 200, response.get_json()
    track = response.get_json()
    assert track["title"] == "Night Drive" and track["artist"] == "Olivia"
    assert track["album"] == "Roads" and track["genre"] == "Synthwave"
    assert track["tags"] == ["night", "drive", "late show"]
    assert track["description"] == "Recorded live.\nTwo takes."
    assert track["visibility"] == "unlisted" and track["job"] is not None
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["title"] == "Night Drive"

    # Fields left out keep their value; null clears an optional one.
    cleared = client.patch(f"/api/v1/tracks/{track_id}", headers=owner,
                           json={"album": None, "tags": []}).get_json()
    assert cleared["album"] is None and cleared["tags"] == []
    assert cleared["artist"] == "Olivia" and cleared["title"] == "Night Drive"
    # An admin may change it too.
    admin = client.patch(f"/api/v1/tracks/{track_id}", headers=people.headers["admin"],
                         json={"genre": "Ambient"})
    assert admin.status_code == 200 and admin.get_json()["genre"] == "Ambient"


BAD_UPDATES: dict[str, tuple[dict[str, Any], str]] = {
    "too many tags": ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    "tag too long": ({"tags": ["x" * 51]}, "tags.0"),
    "empty title": ({"title": ""}, "title"),
    "blank title": ({"title": "   "}, "title"),
    "null title": ({"title": None}, "title"),
    "title too long": ({"title": "x" * 201}, "title"),
    "bad visibility": ({"visibility": "secret"}, "visibility"),
    "unknown field": ({"owner_id": str(uuid.uuid4())}, "owner_id"),
    "tags not a list": ({"tags": "rock"}, "tags"),
    "description too long": ({"description": "x" * 5001}, "description"),
    "control character": ({"artist": "a\x07b"}, "artist"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPDATES))
def test_bad_updates_name_the_field_and_change_nothing(
    case: str, client: FlaskClient, services: Services, people: People
) -> None:
    body, field = BAD_UPDATES[case]
    track_id = make_track(services, people.ids["owner"])
    problem = assert_problem(client.patch(f"/api/v1/tracks/{track_id}", json=body,
                                          headers=people.headers["owner"]), 422, "invalid")
    assert field in [e["field"] for e in problem["errors"]], problem
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
    assert track is not None and track.title == "Song" and track.tags == []


def test_a_stranger_learns_nothing_from_a_bad_update(
    client: FlaskClient, services: Services, people: People
) -> None:
    private = make_track(services, people.ids["owner"], visibility="private")
    public = make_track(services, people.ids["owner"])
    stranger = people.headers["other"]
    assert_problem(client.patch(f"/api/v1/tracks/{private}", json={"title": "   "},
                                headers=stranger), 404, "not_found")
    assert_problem(client.patch(f"/api/v1/tracks/{public}", json={"title": "   "},
                                headers=stranger), 403, "forbidden")


def test_an_update_of_nothing_is_not_an_error(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    response = client.patch(f"/api/v1/tracks/{track_id}", json={},
                            headers=people.headers["owner"])
    assert response.status_code == 200 and response.get_json()["title"] == "Song"
    assert_problem(client.patch(f"/api/v1/tracks/{track_id}", data="not json",
                                content_type="application/json",
                                headers=people.headers["owner"]), 400, "bad_input")


# --------------------------------------------------------------------- pages


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_pages_walk_every_public_ready_track_newest_first(
    client: FlaskClient, services: Services, people: People
) -> None:
    owner = people.ids["owner"]
    public = [str(make_track(services, owner, title=f"T{i}")) for i in range(5)]
    make_track(services, owner, visibility="unlisted")
    make_track(services, owner, visibility="private")
    make_track(services, owner, status="failed")
    make_track(services, owner, status="queued")
    newest_first = public[::-1]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/tracks", query_string=query).get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == newest_first and pages == 3
    first = client.get("/api/v1/tracks").get_json()
    assert _ids(client.get("/api/v1/tracks")) == newest_first and first["next"] is None
    item = first["items"][0]
    assert item["url"].endswith(f"/api/v1/tracks/{item['id']}")
    assert item["owner_id"] == str(owner) and item["visibility"] == "public"
    # Others never see unlisted, private or unfinished tracks, even filtering by the owner.
    assert _ids(client.get("/api/v1/tracks", query_string={"owner": "olivia"},
                           headers=people.headers["other"])) == newest_first


def test_pages_and_tracks_name_their_owner(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    item = client.get("/api/v1/tracks").get_json()["items"][0]
    assert item["owner_id"] == str(people.ids["owner"]) and item["owner_handle"] == "olivia"
    for who in ("anonymous", "owner", "other"):
        body = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers[who]).get_json()
        assert body["owner_handle"] == "olivia", who


def test_the_owner_lists_all_of_their_own_tracks(
    client: FlaskClient, services: Services, people: People
) -> None:
    owner = people.ids["owner"]
    public = make_track(services, owner)
    unlisted = make_track(services, owner, visibility="unlisted")
    private = make_track(services, owner, visibility="private")
    failed = make_track(services, owner, status="failed", visibility="private")
    make_track(services, people.ids["other"])  # someone else's public track
    mine = people.headers["owner"]
    listed = _ids(client.get("/api/v1/tracks", query_string={"owner": "olivia"}, headers=mine))
    assert listed == [str(t) for t in (failed, private, unlisted, public)]
    assert _ids(client.get("/api/v1/tracks", query_string={"owner": "olivia",
                                                           "visibility": "private"},
                           headers=mine)) == [str(failed), str(private)]
    assert _ids(client.get("/api/v1/tracks", query_string={"owner": "olivia",
                                                           "status": "failed"},
                           headers=mine)) == [str(failed)]
    # Without owner=<me>, the owner's list is the public one.
    everyone = _ids(client.get("/api/v1/tracks", headers=mine))
    assert str(public) in everyone and str(private) not in everyone
    assert len(everyone) == 2
    assert _ids(client.get("/api/v1/tracks", query_string={"owner": "nobody"})) == []


def test_filters_by_genre_and_tag(client: FlaskClient, services: Services,
                                  people: People) -> None:
    owner = people.ids["owner"]
    house = make_track(services, owner, genre="House", tags=("night", "club"))
    ambient = make_track(services, owner, genre="Ambient", tags=("night",))
    make_track(services, owner, genre="House", tags=("morning",), visibility="unlisted")
    assert _ids(client.get("/api/v1/tracks", query_string={"genre": "House"})) == [str(house)]
    assert _ids(client.get("/api/v1/tracks", query_string={"tag": " Night "})) == \
        [str(ambient), str(house)]
    assert _ids(client.get("/api/v1/tracks", query_string={"tag": "club",
                                                           "genre": "Ambient"})) == []


def test_status_and_visibility_filter_only_your_own_list(
    client: FlaskClient, people: People
) -> None:
    for query, headers in (({"status": "failed"}, {}),
                           ({"visibility": "private", "owner": "olivia"},
                            people.headers["other"]),
                           ({"status": "ready", "owner": "oscar"}, people.headers["owner"])):
        problem = assert_problem(client.get("/api/v1/tracks", query_string=query,
                                            headers=headers), 422, "invalid")
        assert "owner=<your handle>" in problem["detail"]


@pytest.mark.parametrize("query,field", [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                         ({"limit": "x"}, "limit"),
                                         ({"status": "gone"}, "status"),
                                         ({"visibility": "secret"}, "visibility"),
                                         ({"owner": "../admin"}, "owner")])
def test_bad_list_queries_are_422(client: FlaskClient, query: dict[str, Any],
                                  field: str) -> None:
    problem = assert_problem(client.get("/api/v1/tracks", query_string=query), 422, "invalid")
    assert field in [e["field"] for e in problem["errors"]]


def test_a_tampered_cursor_is_400(client: FlaskClient, services: Services,
                                  people: People) -> None:
    for i in range(3):
        make_track(services, people.ids["owner"], title=f"T{i}")
    cursor = client.get("/api/v1/tracks", query_string={"limit": 1}).get_json()["next"]
    assert cursor is not None
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[5] ^= 1  # one bit of the timestamp
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (tampered, cursor[:-4], "not-a-cursor", "", "x" * 300):
        if not bad:
            continue
        problem = assert_problem(client.get("/api/v1/tracks", query_string={"cursor": bad}),
                                 400, "bad_cursor")
        assert "without one" in problem["detail"]
    assert _ids(client.get("/api/v1/tracks", query_string={"cursor": cursor}))  # still good


# ----------------------------------------------------------------- reprocess


def test_reprocessing_a_ready_track_starts_from_scratch(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    with unit_of_work(services.db) as uow:
        first_job = uow.jobs.latest_for_track(track_id)
        outbox_before = uow.outbox.pending()
    response = client.post(f"/api/v1/tracks/{track_id}/reprocess",
                           headers=people.headers["owner"])
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["id"] == str(track_id) and body["status"] == "queued"
    assert body["job"]["state"] == "queued" and body["job"]["id"] != str(first_job.id)  # type: ignore[union-attr]
    assert response.headers["Location"] == f"/api/v1/tracks/{track_id}"

    track = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["owner"]).get_json()
    assert track["status"] == "queued" and track["stream"] is None
    assert track["analysis"] is None and track["job"]["id"] == body["job"]["id"]
    assert_problem(client.get(f"/api/v1/tracks/{track_id}/master.m3u8"), 404, "not_found")
    # The stream and analysis of the last run are gone; the original stays.
    assert [o.key for o in services.store.list("")] == [f"originals/{track_id}/source.wav"]
    with unit_of_work(services.db) as uow:
        assert uow.outbox.pending() == outbox_before + 1
        assert uow.renditions.for_track(track_id) == []
        old = uow.jobs.get(first_job.id)  # type: ignore[union-attr]
    assert old is not None and old.state == "succeeded"

    # A second request while that job waits is a conflict, and queues nothing.
    problem = assert_problem(client.post(f"/api/v1/tracks/{track_id}/reprocess",
                                         headers=people.headers["owner"]), 409, "conflict")
    assert "queued" in problem["detail"]
    with unit_of_work(services.db) as uow:
        assert uow.outbox.pending() == outbox_before + 1
        uow.jobs.start(uuid.UUID(body["job"]["id"]), worker="w", lease_s=60)
    assert "running" in assert_problem(client.post(f"/api/v1/tracks/{track_id}/reprocess",
                                                   headers=people.headers["admin"]),
                                       409, "conflict")["detail"]


def test_a_failed_track_can_be_reprocessed(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], status="failed")
    response = client.post(f"/api/v1/tracks/{track_id}/reprocess",
                           headers=people.headers["owner"])
    assert response.status_code == 202
    track = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["owner"]).get_json()
    assert track["status"] == "queued" and track["error"] is None
    assert track["job"]["error"] is None and track["job"]["attempts"] == 0


def test_reprocessing_an_unknown_track_is_404(client: FlaskClient, people: People) -> None:
    assert_problem(client.post(f"/api/v1/tracks/{uuid.uuid4()}/reprocess",
                               headers=people.headers["owner"]), 404, "not_found")


@pytest.mark.parametrize("mine", [False, True], ids=["public", "own"])
def test_pages_are_read_from_the_catalogue_indexes(
    mine: bool, services: Services, people: People
) -> None:
    owner = people.ids["owner"]
    for _ in range(3):
        make_track(services, owner)
    with unit_of_work(services.db) as uow:
        newest = uow.tracks.page(limit=1, owner_id=owner if mine else None, public_only=not mine)
        # Tiny tables are cheaper to scan: make the planner show whether an index fits.
        uow.cur.execute("SET LOCAL enable_seqscan = off")
        sql, args = uow.tracks.page_statement(
            limit=20, after=(newest[0].created_at, newest[0].id),
            owner_id=owner if mine else None, public_only=not mine)
        uow.cur.execute("EXPLAIN " + sql, args)
        plan = "\n".join(row["QUERY PLAN"] for row in uow.cur.fetchall())
    index = "tracks_owner_created" if mine else "tracks_public_created"
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
