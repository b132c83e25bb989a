"""SQL for searching the catalogue over the generated columns and indexes of migration 0006.

Every value a caller gives travels as a query parameter; only fixed fragments of SQL are joined
here. ``visibility = 'public'`` is written as a literal so the planner can use the partial
indexes built for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import RealDictCursor


@dataclass(frozen=True)
class Range:
    """An inclusive range; either end may be open (None)."""

    low: float | None = None
    high: float | None = None

    @property
    def is_open(self) -> bool:
        return self.low is None and self.high is None


@dataclass(frozen=True)
class Criteria:
    """A checked search: normalised text, ranges, and the keys as the analyser spells them."""

    text: str | None = None
    # The words a typo-tolerant match compares against, and those the text excludes (-word).
    fuzzy_text: str | None = None
    excluded: str | None = None
    tempo: Range = field(default_factory=Range)
    half_double: bool = False
    keys: tuple[str, ...] = ()
    loudness: Range = field(default_factory=Range)
    duration: Range = field(default_factory=Range)
    genre: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class SearchHit:
    id: UUID
    owner_id: UUID
    title: str
    artist: str | None
    album: str | None
    genre: str | None
    tags: list[str]
    duration_s: float | None
    tempo_bpm: float | None
    musical_key: str | None
    loudness_lufs: float | None
    created_at: datetime
    has_cover: bool
    score: float | None
    owner_handle: str = ""


_COLUMNS = ("t.id, t.owner_id, t.title, t.artist, t.album, t.genre, t.tags, t.duration_s,"
            " t.tempo_bpm, t.musical_key, t.loudness_lufs, t.created_at,"
            " t.cover_key IS NOT NULL AS has_cover")
# The owners' handles are looked up for the rows of the page only, once it is cut.
_WITH_HANDLES = ("SELECT p.*, (SELECT u.handle FROM users u WHERE u.id = p.owner_id)"
                 " AS owner_handle FROM ({page}) p ORDER BY {order}")
# Text matches score 1 + rank (rank/(rank+1) with normalisation 32, so below 1); typo-tolerant
# matches score the mean over the query's words of each word's best similarity to the title or
# the artist (at most 1): every text match sorts above every near miss.
_TEXT_SCORE = "ts_rank(t.search, query, 32)::float8"
# Words a near miss is looked for by: trigrams need three letters, and a few words are enough.
FUZZY_WORDS = 5
FUZZY_MIN_LETTERS = 3


def _fuzzy(words: list[str], params: dict[str, Any]) -> tuple[str, str]:
    """Return the score and the match of a typo-tolerant search for ``words``."""
    scores, matches = [], ["t.search @@ query"]
    for i, word in enumerate(words):
        params[f"word{i}"] = word
        w = f"%(word{i})s"
        scores.append(f"greatest(word_similarity({w}, lower(t.title)),"
                      f" coalesce(word_similarity({w}, lower(t.artist)), 0))")
        # `%>` is pg_trgm's word-similarity operator; written column first, the trigram
        # indexes on lower(...) serve it (PostgreSQL 15 does not use them for `word <% column`).
        matches += [f"lower(t.title) %%> {w}", f"lower(t.artist) %%> {w}"]
    near = f"({' + '.join(scores)}) / {len(scores)}" if scores else "0"
    score = (f"CASE WHEN t.search @@ query THEN 1 + ts_rank(t.search, query, 32)::float8"
             f" ELSE ({near})::float8 END")
    return score, f"({' OR '.join(matches)})"


def fuzzy_words(text: str | None) -> list[str]:
    """Return the words of ``text`` a typo-tolerant search compares, lower-cased."""
    words = [w for w in (text or "").lower().split() if len(w) >= FUZZY_MIN_LETTERS]
    return list(dict.fromkeys(words))[:FUZZY_WORDS]


_EXCLUDED = "NOT t.search @@ websearch_to_tsquery('simple', %(excluded)s)"


def _range(column: str, r: Range, name: str, params: dict[str, Any],
           scale: float = 1.0) -> str:
    parts = []
    if r.low is not None:
        params[f"{name}_low"] = r.low * scale
        parts.append(f"{column} >= %({name}_low)s")
    if r.high is not None:
        params[f"{name}_high"] = r.high * scale
        parts.append(f"{column} <= %({name}_high)s")
    return " AND ".join(parts)


def _filters(c: Criteria, params: dict[str, Any]) -> list[str]:
    where = ["t.visibility = 'public'", "t.status = 'ready'"]
    if not c.tempo.is_open:
        tempo = _range("t.tempo_bpm", c.tempo, "tempo", params)
        if c.half_double:
            # Beat trackers often report half or double the felt tempo: accept both octaves.
            half = _range("t.tempo_bpm", c.tempo, "tempo_half", params, 0.5)
            double = _range("t.tempo_bpm", c.tempo, "tempo_double", params, 2.0)
            tempo = f"({tempo}) OR ({half}) OR ({double})"
        where.append(f"({tempo})")
    if c.keys:
        params["keys"] = list(c.keys)
        where.append("t.musical_key = ANY(%(keys)s::text[])")
    for column, r, name in (("t.loudness_lufs", c.loudness, "loudness"),
                            ("t.duration_s", c.duration, "duration")):
        if not r.is_open:
            where.append(_range(column, r, name, params))
    if c.genre is not None:
        params["genre"] = c.genre
        where.append("lower(t.genre) = lower(%(genre)s)")
    if c.tag is not None:
        params["tag"] = c.tag
        where.append("t.tags @> ARRAY[%(tag)s]::text[]")
    return where


def search_sql(c: Criteria, *, mode: str, after: tuple[Any, UUID] | None,
               limit: int) -> tuple[str, dict[str, Any]]:
    """Return the statement and parameters of one page of a search in ``mode``, with the
    owners' handles.

    ``mode`` is "recent" (newest first), "text" (ranked text matches) or "fuzzy" (text matches,
    then typo-tolerant ones); ``after`` is the last row's (sort value, id) on the page before.
    """
    sql, params = _page_sql(c, mode=mode, after=after, limit=limit)
    order = "p.created_at DESC, p.id DESC" if mode == "recent" else "p.score DESC, p.id DESC"
    return _WITH_HANDLES.format(page=sql, order=order), params


def _page_sql(c: Criteria, *, mode: str, after: tuple[Any, UUID] | None,
              limit: int) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit}
    where = _filters(c, params)
    if after is not None:
        params["after_value"], params["after_id"] = after
    if mode == "recent":
        # Plain keyset order, so the tracks_public_created index serves the rows in order.
        if after is not None:
            where.append("(t.created_at, t.id)"
                         " < (%(after_value)s::timestamptz, %(after_id)s::uuid)")
        return (f"SELECT {_COLUMNS}, NULL::float8 AS score FROM tracks t"
                f" WHERE {' AND '.join(where)}"
                " ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s"), params
    params["text"] = c.text or ""
    if mode == "text":
        score = _TEXT_SCORE
        where.append("t.search @@ query")
    else:
        score, match = _fuzzy(fuzzy_words(c.fuzzy_text), params)
        where.append(match)
        if c.excluded:
            # A near miss must not bring back what the text excluded.
            params["excluded"] = c.excluded
            where.append(_EXCLUDED)
    keyset = ""
    if after is not None:
        keyset = "WHERE (s.score, s.id) < (%(after_value)s::float8, %(after_id)s::uuid)"
    return (f"SELECT * FROM (SELECT {_COLUMNS}, {score} AS score"
            " FROM tracks t, websearch_to_tsquery('simple', %(text)s) query"
            f" WHERE {' AND '.join(where)}) s {keyset}"
            " ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s"), params


class SearchRepository:
    """Searches over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def page(self, c: Criteria, *, mode: str, after: tuple[Any, UUID] | None,
             limit: int) -> list[SearchHit]:
        """Return up to ``limit`` hits after ``after``, best (or newest) first."""
        sql, params = search_sql(c, mode=mode, after=after, limit=limit)
        # Plain tuples: a dictionary per row costs more than the rest of the page. The columns
        # come in SearchHit's field order.
        with self.cur.connection.cursor() as cur:
            cur.execute(sql, params)
            return [SearchHit(*row) for row in cur.fetchall()]

    def explain(self, c: Criteria, *, mode: str, limit: int = 21) -> str:
        """Return PostgreSQL's plan for the first page of a search (to check index use)."""
        sql, params = search_sql(c, mode=mode, after=None, limit=limit)
        self.cur.execute("EXPLAIN " + sql, params)
        return "\n".join(next(iter(row.values())) for row in self.cur.fetchall())
