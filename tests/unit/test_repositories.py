"""Rows read as plain tuples must come in the order of the records they build."""

from __future__ import annotations

from dataclasses import fields

from storage.repositories import Tracks
from storage.search import _COLUMNS as SEARCH_COLUMNS
from storage.search import SearchHit
from veza.records import Track


def _names(columns: str) -> list[str]:
    return [c.strip().split(" AS ")[-1].removeprefix("t.") for c in columns.split(",")]


def test_track_columns_follow_the_record() -> None:
    assert _names(Tracks._COLUMNS) == [f.name for f in fields(Track)]


def test_search_columns_follow_the_hit() -> None:
    # The page's columns, then the score and the owner's handle the statement adds.
    assert _names(SEARCH_COLUMNS) + ["score", "owner_handle"] == [f.name for f in
                                                                  fields(SearchHit)]
