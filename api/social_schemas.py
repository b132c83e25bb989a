"""The shapes of profiles, follows, likes and playlists, as pydantic models."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas import HANDLE_PATTERN, Strict
from veza.playlists import MAX_ITEMS

Visibility = Literal["public", "unlisted", "private"]
Role = Literal["listener", "artist", "admin"]


class UserPath(BaseModel):
    handle: str = Field(pattern=HANDLE_PATTERN)


class PageQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200,
                               description="next_cursor of the previous page")
    limit: int = Field(default=20, ge=1, le=100)


# ------------------------------------------------------------------ profiles


class ProfileOut(BaseModel):
    id: UUID
    handle: str
    display_name: str | None
    bio: str | None
    role: Role
    created_at: str
    followers: int
    following: int
    public_tracks: int = Field(description="public tracks that are ready to play")
    followed_by_me: bool = Field(description="false when the request carries no token")


class ProfileBody(Strict):
    display_name: str | None = Field(default=None, max_length=100,
                                     description="an empty string or null clears it")
    bio: str | None = Field(default=None, max_length=2000,
                            description="an empty string or null clears it")


class FollowState(BaseModel):
    following: bool
    followers: int = Field(description="the followee's follower count")


class PersonOut(BaseModel):
    id: UUID
    handle: str
    display_name: str | None
    role: Role
    followed_at: str


class PeoplePage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None


# --------------------------------------------------------------------- likes


class LikeState(BaseModel):
    liked: bool
    likes: int = Field(description="how many people like it")


class TrackSummary(BaseModel):
    id: UUID
    title: str
    artist: str | None
    duration_s: float | None
    status: str
    owner_handle: str


class LikedTrackOut(TrackSummary):
    liked_at: str


class LikedPage(BaseModel):
    items: list[LikedTrackOut]
    next_cursor: str | None


# ----------------------------------------------------------------- playlists


class PlaylistPath(BaseModel):
    playlist_id: UUID


class ItemPath(PlaylistPath):
    item_id: UUID


class PlaylistBody(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Visibility = "public"


class PlaylistPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Visibility | None = None


class ItemBody(Strict):
    track_id: UUID
    position: int | None = Field(default=None, ge=0,
                                 description="0 puts it first; leave out to add at the end")


class OrderBody(Strict):
    item_ids: list[UUID] = Field(max_length=MAX_ITEMS,
                                 description="every item id of the playlist, in the new order")


class Owner(BaseModel):
    id: UUID
    handle: str
    display_name: str | None


class PlaylistSummary(BaseModel):
    id: UUID
    owner: Owner
    title: str
    description: str | None
    visibility: Visibility
    item_count: int
    like_count: int
    created_at: str
    updated_at: str


class ItemOut(BaseModel):
    id: UUID
    position: int
    added_at: str
    track: TrackSummary


class PlaylistOut(PlaylistSummary):
    liked_by_me: bool
    editable: bool = Field(description="whether the caller may change it")
    items: list[ItemOut] = Field(description="in order; tracks you may not see are left out")


class ItemAdded(BaseModel):
    item_id: UUID
    playlist: PlaylistOut


class PlaylistPage(BaseModel):
    items: list[PlaylistSummary]
    next_cursor: str | None
