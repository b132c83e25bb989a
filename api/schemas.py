"""The shapes the API reads and writes, as pydantic models: they validate requests and are the
OpenAPI document's schemas, so the document describes what the server really does."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

HANDLE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="stable machine-readable error code")
    errors: list[FieldError] | None = Field(default=None,
                                            description="one entry per bad field")


class FieldError(BaseModel):
    field: str
    message: str


def clean_text(value: Any) -> Any:
    """Refuse text PostgreSQL cannot store: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    elif isinstance(value, list | tuple):
        for item in value:
            clean_text(item)
    return value


class Clean(BaseModel):
    """Request models (query strings too) whose text fields hold storable text only."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return clean_text(value)


class Strict(Clean):
    """Request bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ accounts


class RegisterBody(Strict):
    handle: str = Field(pattern=HANDLE_PATTERN, description="1-64 of a-z 0-9 _ . -")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=10, max_length=256)
    role: Literal["listener", "artist"] = "listener"
    display_name: str | None = Field(default=None, min_length=1, max_length=100)


class LoginBody(Strict):
    login: str = Field(min_length=1, max_length=320, description="handle or email")
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordBody(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=256)


class PublicUser(BaseModel):
    id: UUID
    handle: str
    display_name: str | None
    role: Literal["listener", "artist", "admin"]


class Me(PublicUser):
    email: str | None


class Tokens(BaseModel):
    access_token: str = Field(description="a JWT for the Authorization: Bearer header")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token stays valid")
    refresh_token: str | None = Field(
        default=None, description="single use: exchange it at /auth/refresh; absent in cookie "
                                  "mode (X-Veza-Session: cookie), where the cookie holds it")
    user: PublicUser


# ---------------------------------------------------------------------- jobs


class JobError(BaseModel):
    code: str | None
    message: str | None


class JobStatus(BaseModel):
    id: UUID
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: int = Field(ge=0, le=100)
    attempts: int
    error: JobError | None


class AdminJob(JobStatus):
    track_id: UUID
    kind: str


class JobPath(BaseModel):
    job_id: UUID


# -------------------------------------------------------------------- tracks


class TrackPath(BaseModel):
    track_id: UUID


class StreamQuery(BaseModel):
    access: str | None = Field(
        default=None, min_length=1, max_length=1000,
        description="a stream grant: the `access` of a private track's `stream.master_url`, "
                    "for players that cannot send an Authorization header")


class RenditionPath(TrackPath):
    name: str = Field(pattern=r"^[a-z0-9_]{1,32}$")


# One line of text without control characters; a description may also hold line breaks.
LINE = r"^[^\x00-\x1f\x7f]*$"
PARAGRAPHS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Visibility = Literal["public", "unlisted", "private"]
TrackState = Literal["queued", "processing", "ready", "failed"]
Tag = Annotated[str, Field(max_length=50, pattern=LINE)]


class UploadQuery(Clean):
    filename: str | None = Field(default=None, max_length=255,
                                 description="the original file name (raw-body uploads)")
    title: str | None = Field(default=None, max_length=200, pattern=LINE)
    visibility: Visibility = Field(
        default="public", description="public: listed; unlisted: anyone with the link; "
                                      "private: only you")


class TrackUpdate(Strict):
    """Metadata to change; fields left out keep their value, null clears an optional one."""

    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=LINE,
                              description="cannot be cleared")
    artist: str | None = Field(default=None, max_length=200, pattern=LINE)
    album: str | None = Field(default=None, max_length=200, pattern=LINE)
    genre: str | None = Field(default=None, max_length=100, pattern=LINE)
    tags: list[Tag] | None = Field(
        default=None, max_length=20,
        description="at most 20, each at most 50 characters; stored trimmed, lower-case, "
                    "without duplicates")
    description: str | None = Field(default=None, max_length=5000, pattern=PARAGRAPHS)
    visibility: Visibility | None = None


class TrackListQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=400,
                               description="the `next` of the previous page")
    owner: str | None = Field(default=None, pattern=HANDLE_PATTERN,
                              description="the owner's handle; your own handle lists all of "
                                          "your tracks, whatever their visibility and status")
    genre: str | None = Field(default=None, max_length=100)
    tag: str | None = Field(default=None, max_length=50)
    status: TrackState | None = Field(default=None, description="only with owner=<you>")
    visibility: Visibility | None = Field(default=None, description="only with owner=<you>")


class Accepted(BaseModel):
    id: UUID
    status: Literal["queued"]
    status_url: str
    job: JobStatus | None


class TrackError(BaseModel):
    code: str | None
    message: str | None


class Source(BaseModel):
    format: str | None
    codec: str | None
    sample_rate: int | None
    channels: int | None


class RenditionInfo(BaseModel):
    """One rendition. Its media timeline starts with ``priming_samples`` of encoder priming,
    then holds exactly ``samples`` of the track, then the padding of the last frame: a gapless
    player that starts the track at time T sets ``timestampOffset = T - priming_samples /
    sample_rate`` and the append window to ``[T, T + samples / sample_rate)``."""

    name: str
    codec: str
    bitrate: int
    bandwidth: int
    average_bandwidth: int
    segments: int
    playlist_url: str = Field(
        description="the rendition's media playlist (a private track's carries its stream "
                    "grant, as `master_url` does); fetching it does not count a play")
    sample_rate: int = Field(description="samples per second of the rendition, and of "
                                         "`priming_samples` and `samples`")
    priming_samples: int | None = Field(
        description="samples of encoder priming before the track's first sample; the same in "
                    "every rendition; null for a track processed before it was recorded")
    samples: int | None = Field(
        description="samples of the track after the priming, exactly; null while the track "
                    "is still being processed, or when not recorded")


class Stream(BaseModel):
    complete: bool = Field(description="false while segments are still being added")
    master_url: str
    player_url: str
    renditions: list[RenditionInfo]


class TrackCounts(BaseModel):
    likes: int = Field(description="how many people like the track")
    liked_by_me: bool | None = Field(
        description="whether the caller likes the track; null without a token")
    plays: int | None = Field(
        description="listening sessions of the track, its owner's own left out (as in its "
                    "stats); shown to the owner and admins only, null for everyone else")


class TrackSummary(TrackCounts):
    id: UUID
    owner_id: UUID
    owner_handle: str = Field(description="the owner's handle")
    title: str
    artist: str | None
    album: str | None
    genre: str | None
    tags: list[str]
    visibility: Visibility
    status: TrackState
    duration_s: float | None
    created_at: str
    cover_url: str | None = Field(description="the track's cover art; null when it has none")
    url: str = Field(description="the track's own URL (status, metadata, stream)")


class TrackPage(BaseModel):
    items: list[TrackSummary]
    next: str | None = Field(description="cursor of the next page; null on the last page")


class TrackStatus(TrackCounts):
    """A track. The failure reason, the job, the file name, size and plays are shown to the
    owner and admins only (null for everyone else)."""

    id: UUID
    owner_id: UUID
    owner_handle: str = Field(description="the owner's handle")
    title: str
    artist: str | None
    album: str | None
    genre: str | None
    tags: list[str]
    description: str | None
    visibility: Visibility
    status: TrackState
    error: TrackError | None
    original_filename: str | None
    size_bytes: int | None
    duration_s: float | None
    source: Source
    created_at: str
    cover_url: str | None = Field(description="the track's cover art; null when it has none")
    updated_at: str
    ready_at: str | None
    playable_at: str | None
    analysis: dict[str, object] | None
    job: JobStatus | None
    stream: Stream | None


Problem.model_rebuild()


# ---------------------------------------------------------------------- client settings


class ClientConfig(BaseModel):
    """What a browser client needs to know about this deployment."""

    chat_url: str = Field(description="the chat gateway: an absolute ws:// or wss:// URL, or a "
                                      "path such as /ws to resolve against the page's location")
    version: str = Field(description="the API's version")
    max_upload_bytes: int = Field(description="the largest upload accepted, in bytes")
    signed_url_ttl_s: int = Field(description="seconds a signed stream or object URL lasts")
