"""The shapes of GET /api/v1/search: its query parameters and its page of results."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from veza.search import MAX_LIMIT

# Finite numbers only: "nan" and "inf" parse as floats but mean nothing as bounds.
Bpm = Annotated[float, Field(ge=1, le=1000, allow_inf_nan=False)]
Lufs = Annotated[float, Field(ge=-100, le=10, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]


class SearchQuery(BaseModel):
    """Query parameters; every one is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid")
    _schema: ClassVar[dict[str, Any] | None] = None

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return the JSON schema; the plain one is built once.

        flask-openapi3 asks for it on every request to parse the query string, and building it
        cost more CPU than the search itself.
        """
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        if cls._schema is None:
            cls._schema = super().model_json_schema()
        return cls._schema

    q: str | None = Field(default=None, max_length=200,
                          description="free text, web-search syntax (\"quoted phrase\", -word, "
                                      "or); ranked title > artist > tags; tolerant of typos "
                                      "when the words find fewer than 3 tracks")
    tempo_min: Bpm | None = Field(default=None, description="lowest tempo, BPM")
    tempo_max: Bpm | None = Field(default=None, description="highest tempo, BPM")
    half_double: bool = Field(default=False,
                              description="also match tracks at half or double the tempo range "
                                          "(beat trackers often report the other octave)")
    key: str | None = Field(default=None, max_length=20,
                            description="a key: 'A minor', 'F# major', 'Bbm' or Camelot '8A'")
    compatible: bool = Field(default=False,
                             description="add the harmonically compatible keys: the same "
                                         "Camelot number in the other mode and ±1 in the same")
    loudness_min: Lufs | None = Field(default=None, description="lowest integrated loudness, LUFS")
    loudness_max: Lufs | None = Field(default=None, description="highest integrated loudness, LUFS")
    duration_min: Seconds | None = Field(default=None, description="shortest duration, seconds")
    duration_max: Seconds | None = Field(default=None, description="longest duration, seconds")
    genre: str | None = Field(default=None, max_length=100, description="genre, any case")
    tag: str | None = Field(default=None, max_length=100, description="a tag, exactly")
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=500,
                               description="next_cursor of the previous page")


class SearchHitOut(BaseModel):
    id: UUID
    owner_id: UUID
    owner_handle: str = Field(description="the owner's handle")
    title: str
    artist: str | None
    album: str | None
    genre: str | None
    tags: list[str]
    duration_s: float | None
    tempo_bpm: float | None
    key: str | None = Field(description="as the analyser spells it, e.g. 'F# major'")
    camelot: str | None = Field(description="the key's Camelot code, e.g. '11B'")
    loudness_lufs: float | None
    created_at: str
    score: float | None = Field(description="relevance (text searches only): above 1 for a "
                                            "text match, below 1 for a typo-tolerant one")
    url: str
    cover_url: str | None = Field(description="the track's cover art; null when it has none")


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at "
                                                "the end")
    mode: str = Field(description="recent (no text: newest first), text, or fuzzy "
                                  "(typo-tolerant matches joined in)")
