"""People: public profiles, one's own profile, follows and the lists of them."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from api.context import optional_principal, principal, services
from api.openapi import BEARER, problems
from api.social_schemas import (
    FollowState,
    PageQuery,
    PeoplePage,
    ProfileBody,
    ProfileOut,
    UserPath,
)
from storage.social import Person, Profile
from veza import social

TAG = Tag(name="users", description="profiles and follows")
bp = APIBlueprint("users", __name__, url_prefix="/api/v1", abp_tags=[TAG])


def profile_json(p: Profile) -> dict[str, Any]:
    return {"id": str(p.id), "handle": p.handle, "display_name": p.display_name, "bio": p.bio,
            "role": p.role, "created_at": p.created_at.isoformat(), "followers": p.followers,
            "following": p.following, "public_tracks": p.public_tracks,
            "followed_by_me": p.followed_by_viewer}


def _people(page: social.Page[Person]) -> dict[str, Any]:
    return {"items": [{"id": str(p.id), "handle": p.handle, "display_name": p.display_name,
                       "role": p.role, "followed_at": p.created_at.isoformat()}
                      for p in page.items],
            "next_cursor": page.next_cursor}


@bp.get("/users/<handle>", responses={200: ProfileOut, **problems(401, 404, 422)})
def get_profile(path: UserPath) -> dict[str, Any]:
    """A user's public profile; with a token, whether the caller follows them."""
    return profile_json(social.profile(services().db, path.handle, optional_principal()))


@bp.patch("/me", security=BEARER, responses={200: ProfileOut, **problems(400, 401, 404, 422)})
def update_me(body: ProfileBody) -> dict[str, Any]:
    """Change the caller's display name or bio."""
    fields = body.model_dump(include=body.model_fields_set)
    return profile_json(social.update_profile(services().db, principal(), fields))


@bp.put("/users/<handle>/follow", security=BEARER,
        responses={200: FollowState, **problems(401, 404, 409, 422)})
def follow(path: UserPath) -> dict[str, Any]:
    """Follow a user (again is fine); 409 cannot_follow_self for oneself."""
    count = social.follow(services().db, principal(), path.handle, on=True)
    return {"following": True, "followers": count}


@bp.delete("/users/<handle>/follow", security=BEARER,
           responses={200: FollowState, **problems(401, 404, 409, 422)})
def unfollow(path: UserPath) -> dict[str, Any]:
    """Stop following a user (also when one did not follow them)."""
    count = social.follow(services().db, principal(), path.handle, on=False)
    return {"following": False, "followers": count}


@bp.get("/users/<handle>/followers", responses={200: PeoplePage, **problems(404, 422)})
def followers(path: UserPath, query: PageQuery) -> dict[str, Any]:
    """Who follows the user, most recent first, a page at a time."""
    return _people(social.people(services().db, path.handle, followers=True,
                                 cursor=query.cursor, limit=query.limit))


@bp.get("/users/<handle>/following", responses={200: PeoplePage, **problems(404, 422)})
def following(path: UserPath, query: PageQuery) -> dict[str, Any]:
    """Whom the user follows, most recent first, a page at a time."""
    return _people(social.people(services().db, path.handle, followers=False,
                                 cursor=query.cursor, limit=query.limit))
