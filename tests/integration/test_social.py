"""Profiles, follows and likes over HTTP against a real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage.repositories import unit_of_work
from storage.social import Social
from tests.helpers import PASSWORD
from tests.integration.social_support import (
    add_track,
    admin,
    assert_problem,
    bearer,
    fields,
    register,
    set_visibility,
    user_id,
)
from veza.runtime import Services

pytestmark = pytest.mark.integration


def collect(client: FlaskClient, url: str, headers: dict[str, str] | None = None, *,
            limit: int, between: Any = None) -> list[str]:
    """Follow next_cursor to the end, calling ``between()`` after every page; return ids."""
    ids: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        response = client.get(url, query_string=query, headers=headers or {})
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= limit
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        if between is not None:
            between()


# ------------------------------------------------------------------ profiles


def test_a_profile_counts_followers_following_and_public_ready_tracks(
    client: FlaskClient, services: Services
) -> None:
    ada, bob = register(client, "ada", role="artist"), register(client, "bob")
    add_track(services, user_id(ada), "one")
    add_track(services, user_id(ada), "two")
    add_track(services, user_id(ada), "hidden", visibility="private")
    add_track(services, user_id(ada), "link only", visibility="unlisted")
    add_track(services, user_id(ada), "still processing", status="processing")

    anonymous = client.get("/api/v1/users/ada").get_json()
    assert anonymous == {"id": ada["user"]["id"], "handle": "ada", "display_name": None,
                         "bio": None, "role": "artist", "created_at": anonymous["created_at"],
                         "followers": 0, "following": 0, "public_tracks": 2,
                         "followed_by_me": False}

    followed = client.put("/api/v1/users/ada/follow", headers=bearer(bob))
    assert followed.status_code == 200
    assert followed.get_json() == {"following": True, "followers": 1}
    # Following again changes nothing.
    assert client.put("/api/v1/users/ada/follow", headers=bearer(bob)).get_json() == \
        {"following": True, "followers": 1}
    seen_by_bob = client.get("/api/v1/users/ADA", headers=bearer(bob)).get_json()
    assert seen_by_bob["followers"] == 1 and seen_by_bob["followed_by_me"] is True
    assert client.get("/api/v1/users/ada").get_json()["followed_by_me"] is False
    assert client.get("/api/v1/users/bob").get_json()["following"] == 1

    for _ in range(2):
        unfollowed = client.delete("/api/v1/users/ada/follow", headers=bearer(bob))
        assert unfollowed.status_code == 200
        assert unfollowed.get_json() == {"following": False, "followers": 0}
    assert client.get("/api/v1/users/ada", headers=bearer(bob)).get_json()["followed_by_me"] \
        is False


def test_profile_lookups_that_fail(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/users/nobody"), 404, "not_found")
    assert fields(client.get("/api/v1/users/-bad")) == {"handle"}
    register(client, "ada")
    assert_problem(client.get("/api/v1/users/ada", headers={"Authorization": "Bearer nope"}),
                   401, "invalid_token")


def test_update_own_profile(client: FlaskClient) -> None:
    ada = register(client, "ada")
    changed = client.patch("/api/v1/me", headers=bearer(ada),
                           json={"display_name": "Ada L.", "bio": "  Counts things.  "})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["display_name"] == "Ada L."
    assert changed.get_json()["bio"] == "Counts things."
    public = client.get("/api/v1/users/ada").get_json()
    assert (public["display_name"], public["bio"]) == ("Ada L.", "Counts things.")
    # Only the fields sent change; an empty string clears one.
    cleared = client.patch("/api/v1/me", headers=bearer(ada), json={"bio": ""}).get_json()
    assert (cleared["display_name"], cleared["bio"]) == ("Ada L.", None)
    # GET /me still answers next to PATCH /me.
    assert client.get("/api/v1/me", headers=bearer(ada)).get_json()["display_name"] == "Ada L."


def test_a_display_name_is_cleaned_as_a_title_is(client: FlaskClient) -> None:
    # U+202E (right-to-left override) turns "Ada\u202enimda" into "Adaadmin" on screen.
    response = client.post("/api/v1/auth/register", json={
        "handle": "ada", "email": "ada@example.org", "password": PASSWORD,
        "display_name": "Ada\u202e\u200bnimda\u2066"})
    assert response.status_code == 201, response.get_json()
    ada = response.get_json()
    assert client.get("/api/v1/users/ada").get_json()["display_name"] == "Adanimda"
    changed = client.patch("/api/v1/me", headers=bearer(ada),
                           json={"display_name": "\u2067Ada\u202e L."})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["display_name"] == "Ada L."
    emptied = client.patch("/api/v1/me", headers=bearer(ada), json={"display_name": "\u202e"})
    assert emptied.get_json()["display_name"] is None
    # A bio keeps its lines and loses the same characters.
    bio = client.patch("/api/v1/me", headers=bearer(ada),
                       json={"bio": "Plays\u202e the cello.\r\nLives by the sea.\u200b"})
    assert bio.get_json()["bio"] == "Plays the cello.\nLives by the sea."


def test_profile_updates_that_fail(client: FlaskClient) -> None:
    ada = register(client, "ada")
    assert fields(client.patch("/api/v1/me", headers=bearer(ada), json={
        "display_name": "x" * 101, "bio": "y" * 2001})) == {"display_name", "bio"}
    assert fields(client.patch("/api/v1/me", headers=bearer(ada),
                               json={"handle": "eve"})) == {"handle"}
    assert fields(client.patch("/api/v1/me", headers=bearer(ada), json={})) == {"body"}
    assert_problem(client.patch("/api/v1/me", json={"bio": "hi"}), 401, "unauthorized")
    assert client.get("/api/v1/users/ada").get_json()["bio"] is None


# ------------------------------------------------------------------- follows


def test_follows_that_fail(client: FlaskClient) -> None:
    ada = register(client, "ada")
    for method in (client.put, client.delete):
        assert_problem(method("/api/v1/users/ada/follow"), 401, "unauthorized")
        assert_problem(method("/api/v1/users/nobody/follow", headers=bearer(ada)), 404,
                       "not_found")
        body = assert_problem(method("/api/v1/users/ada/follow", headers=bearer(ada)), 409,
                              "cannot_follow_self")
        assert body["detail"] == "you cannot follow yourself"
    assert_problem(client.get("/api/v1/users/nobody/followers"), 404, "not_found")
    assert_problem(client.get("/api/v1/users/nobody/following"), 404, "not_found")


def test_follower_pages_miss_nothing_and_repeat_nothing_while_people_follow(
    client: FlaskClient, services: Services
) -> None:
    ada = register(client, "ada", role="artist")
    with unit_of_work(services.db) as uow:
        fans = [uow.users.ensure(f"fan{n}").id for n in range(5)]
        # Follows made in one transaction share a timestamp: the id breaks the tie.
        for fan in fans:
            Social(uow.cur).follow(fan, user_id(ada))
    for n in range(5, 9):
        with unit_of_work(services.db) as uow:
            fan = uow.users.ensure(f"fan{n}").id
            Social(uow.cur).follow(fan, user_id(ada))
            fans.append(fan)
    late = iter(range(100, 110))

    def someone_follows() -> None:
        with unit_of_work(services.db) as uow:
            Social(uow.cur).follow(uow.users.ensure(f"late{next(late)}").id, user_id(ada))

    ids = collect(client, "/api/v1/users/ada/followers", limit=2, between=someone_follows)
    assert sorted(ids) == sorted(str(f) for f in fans)
    assert len(ids) == len(set(ids))
    # Newest first: the last follow made before paging starts the list.
    assert ids[0] == str(fans[-1])
    every = collect(client, "/api/v1/users/ada/followers", limit=100)
    assert len(every) == len(fans) + 4 and every[4:] == ids
    page = client.get("/api/v1/users/ada/followers", query_string={"limit": 1}).get_json()
    assert set(page["items"][0]) == {"id", "handle", "display_name", "role", "followed_at"}
    assert page["items"][0]["handle"].startswith("late")

    bob = register(client, "bob")
    for handle in ("ada", "fan0", "fan1"):
        assert client.put(f"/api/v1/users/{handle}/follow", headers=bearer(bob)).status_code \
            == 200
    following = collect(client, "/api/v1/users/bob/following", limit=2)
    assert following == [str(fans[1]), str(fans[0]), ada["user"]["id"]]


def test_list_pages_refuse_bad_limits_and_cursors(client: FlaskClient) -> None:
    register(client, "ada")
    url = "/api/v1/users/ada/followers"
    assert fields(client.get(url, query_string={"limit": 0})) == {"limit"}
    assert fields(client.get(url, query_string={"limit": 101})) == {"limit"}
    for cursor in ("not-a-cursor", "eyJ4IjogMX0", "W10"):
        body = assert_problem(client.get(url, query_string={"cursor": cursor}), 422, "invalid")
        assert body["errors"] == [{"field": "cursor", "message": "not a cursor this API returned"}]


# --------------------------------------------------------------------- likes


def test_likes_on_tracks_only_where_the_caller_may_see(
    client: FlaskClient, services: Services
) -> None:
    ada, bob = register(client, "ada", role="artist"), register(client, "bob")
    song = add_track(services, user_id(ada), "song")
    secret = add_track(services, user_id(ada), "secret", visibility="private")
    link = add_track(services, user_id(ada), "link", visibility="unlisted")

    liked = client.put(f"/api/v1/tracks/{song}/like", headers=bearer(bob))
    assert liked.status_code == 200 and liked.get_json() == {"liked": True, "likes": 1}
    assert client.put(f"/api/v1/tracks/{song}/like", headers=bearer(bob)).get_json() == \
        {"liked": True, "likes": 1}
    assert client.put(f"/api/v1/tracks/{song}/like", headers=bearer(ada)).get_json() == \
        {"liked": True, "likes": 2}
    assert client.put(f"/api/v1/tracks/{link}/like", headers=bearer(bob)).status_code == 200
    # A private track of someone else is not there at all; its owner may like it.
    for method in (client.put, client.delete):
        assert_problem(method(f"/api/v1/tracks/{secret}/like", headers=bearer(bob)), 404,
                       "not_found")
        assert_problem(method(f"/api/v1/tracks/{uuid.uuid4()}/like", headers=bearer(bob)), 404,
                       "not_found")
        assert_problem(method(f"/api/v1/tracks/{song}/like"), 401, "unauthorized")
    assert client.put(f"/api/v1/tracks/{secret}/like", headers=bearer(ada)).status_code == 200
    assert client.put(f"/api/v1/tracks/{secret}/like", headers=admin(client, services)) \
        .get_json() == {"liked": True, "likes": 2}

    mine = client.get("/api/v1/me/likes", headers=bearer(bob)).get_json()
    assert [t["id"] for t in mine["items"]] == [str(link), str(song)]
    assert mine["items"][1]["title"] == "song" and mine["items"][1]["owner_handle"] == "ada"
    assert mine["next_cursor"] is None

    # A liked track that turns private leaves the list, and the like may still be taken back.
    set_visibility(services, song, "private")
    mine = client.get("/api/v1/me/likes", headers=bearer(bob)).get_json()
    assert [t["id"] for t in mine["items"]] == [str(link)]
    unliked = client.delete(f"/api/v1/tracks/{song}/like", headers=bearer(bob))
    assert unliked.status_code == 200 and unliked.get_json() == {"liked": False, "likes": 1}
    assert_problem(client.delete(f"/api/v1/tracks/{song}/like", headers=bearer(bob)), 404,
                   "not_found")
    set_visibility(services, song, "public")
    assert client.get("/api/v1/me/likes", headers=bearer(bob)).get_json()["items"][-1]["id"] \
        == str(link)
    for _ in range(2):
        assert client.delete(f"/api/v1/tracks/{link}/like", headers=bearer(bob)).get_json() == \
            {"liked": False, "likes": 0}
    assert client.get("/api/v1/me/likes", headers=bearer(bob)).get_json()["items"] == []


def test_liked_track_pages_while_more_are_liked(client: FlaskClient, services: Services) -> None:
    ada, bob = register(client, "ada", role="artist"), register(client, "bob")
    tracks = [add_track(services, user_id(ada), f"t{n}") for n in range(7)]
    for track in tracks[:5]:
        assert client.put(f"/api/v1/tracks/{track}/like", headers=bearer(bob)).status_code \
            == 200
    more = iter(tracks[5:])

    def like_another() -> None:
        assert client.put(f"/api/v1/tracks/{next(more)}/like", headers=bearer(bob)) \
            .status_code == 200

    ids = collect(client, "/api/v1/me/likes", bearer(bob), limit=2, between=like_another)
    assert ids == [str(t) for t in reversed(tracks[:5])]
    assert_problem(client.get("/api/v1/me/likes"), 401, "unauthorized")
    assert fields(client.get("/api/v1/me/likes", headers=bearer(bob),
                             query_string={"cursor": "bad"})) == {"cursor"}
