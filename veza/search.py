"""Search the public catalogue: free text with typo tolerance, and filters by how tracks sound.

Only public, ready tracks are ever found. Text is matched against the weighted search vector
(title above artist above tags) and ranked; when the text finds fewer than ``MIN_TEXT_MATCHES``
tracks, trigram similarity on titles and artists joins in, below every text match, so
"beethovn" still finds Beethoven. Keys are stored as the analyser spells them ("F# major",
"Bb minor"); a caller may spell them any way, or give a Camelot code ("8A").
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pipeline.keynames import KEY_NAMES
from storage.repositories import single_reads
from storage.search import Criteria, Range, SearchHit, SearchRepository

__all__ = ["MusicalKey", "Page", "Query", "SearchHit", "camelot_of", "parse_key", "search"]
from veza.errors import InputError, ValidationError
from veza.runtime import Services

# Fewer text matches than this and typo-tolerant matching joins in.
MIN_TEXT_MATCHES = 3
MAX_LIMIT = 100

_NATURAL = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_MODES = {"": "major", "major": "major", "maj": "major", "minor": "minor", "min": "minor",
          "m": "minor"}
_KEY = re.compile(r"([a-g])([#♯b♭]?)\s*(major|maj|minor|min|m|)")
_CAMELOT = re.compile(r"(1[0-2]|[1-9])([ab])")
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')


@dataclass(frozen=True)
class MusicalKey:
    """A key as a pitch class (0 = C) and a mode."""

    pitch_class: int
    mode: str

    @property
    def name(self) -> str:
        """The key as the analyser stores it, e.g. ``"F# major"``."""
        return f"{KEY_NAMES[self.mode][self.pitch_class]} {self.mode}"

    @property
    def camelot(self) -> str:
        """The key's Camelot code, e.g. ``"8A"`` for A minor."""
        # Camelot numbers walk the circle of fifths (7 semitones a step) with C major at 8B;
        # a minor key shares the number of its relative major, three semitones up.
        major_pc = self.pitch_class if self.mode == "major" else (self.pitch_class + 3) % 12
        return f"{(7 * major_pc + 7) % 12 + 1}{'B' if self.mode == 'major' else 'A'}"

    def compatible(self) -> list[MusicalKey]:
        """Return this key and its harmonic neighbours: the other mode of the same Camelot
        number, and one step either way around the wheel in the same mode."""
        number, letter = int(self.camelot[:-1]), self.camelot[-1]
        other = "A" if letter == "B" else "B"
        codes = [f"{number}{letter}", f"{number}{other}",
                 f"{number % 12 + 1}{letter}", f"{(number - 2) % 12 + 1}{letter}"]
        return [from_camelot(code) for code in codes]


def from_camelot(code: str) -> MusicalKey:
    """Return the key of a Camelot code such as ``"8A"``; ValueError if it is not one."""
    match = _CAMELOT.fullmatch(code.strip().lower())
    if match is None:
        raise ValueError(f"not a Camelot code: {code!r}")
    number, letter = int(match.group(1)), match.group(2)
    # Invert the walk in MusicalKey.camelot: 7 is its own inverse modulo 12.
    major_pc = 7 * (number - 8) % 12
    if letter == "b":
        return MusicalKey(major_pc, "major")
    return MusicalKey((major_pc - 3) % 12, "minor")


def parse_key(text: str) -> MusicalKey:
    """Return the key named by ``text`` ("A minor", "F#m", "Bb major", "8A"); ValueError if none."""
    folded = " ".join(text.strip().lower().split())
    if _CAMELOT.fullmatch(folded):
        return from_camelot(folded)
    match = _KEY.fullmatch(folded)
    if match is None:
        raise ValueError(f"unknown key {text!r}: use e.g. 'A minor', 'F# major' or '8A'")
    tonic, accidental, mode = match.groups()
    return MusicalKey((_NATURAL[tonic] + _ACCIDENTAL[accidental]) % 12, _MODES[mode])


@functools.lru_cache(maxsize=256)
def camelot_of(name: str | None) -> str | None:
    """Return the Camelot code of a stored key name, or None when there is no usable key."""
    if name is None:
        return None
    try:
        return parse_key(name).camelot
    except ValueError:
        return None


@dataclass(frozen=True)
class Query:
    """What a caller asked for, as received (validated by ``criteria``)."""

    q: str | None = None
    tempo_min: float | None = None
    tempo_max: float | None = None
    half_double: bool = False
    key: str | None = None
    compatible: bool = False
    loudness_min: float | None = None
    loudness_max: float | None = None
    duration_min: float | None = None
    duration_max: float | None = None
    genre: str | None = None
    tag: str | None = None


def criteria(query: Query) -> Criteria:
    """Check a query and return the criteria to run; ValidationError names every bad field."""
    errors: dict[str, str] = {}
    for name in ("q", "key", "genre", "tag"):
        value = getattr(query, name)
        # PostgreSQL text cannot hold NUL, and no title or tag has one.
        if value is not None and "\x00" in value:
            errors[name] = "must not contain NUL characters"
    ranges = {}
    for name in ("tempo", "loudness", "duration"):
        low, high = getattr(query, f"{name}_min"), getattr(query, f"{name}_max")
        if low is not None and high is not None and low > high:
            errors[f"{name}_min"] = f"must not exceed {name}_max ({high:g})"
        ranges[name] = Range(low, high)
    keys: tuple[str, ...] = ()
    if query.key is not None and "key" not in errors:
        try:
            wanted = parse_key(query.key)
        except ValueError as exc:
            errors["key"] = str(exc)
        else:
            chosen = wanted.compatible() if query.compatible else [wanted]
            keys = tuple(k.name for k in chosen)
    elif query.compatible:
        errors["compatible"] = "needs a key"
    if query.half_double and query.tempo_min is None and query.tempo_max is None:
        errors["half_double"] = "needs tempo_min or tempo_max"
    if errors:
        raise ValidationError(errors)
    text = " ".join((query.q or "").split()) or None
    fuzzy_text, excluded = _split_words(text or "")
    return Criteria(text=text, fuzzy_text=fuzzy_text, excluded=excluded,
                    tempo=ranges["tempo"], half_double=query.half_double, keys=keys,
                    loudness=ranges["loudness"], duration=ranges["duration"],
                    genre=query.genre.strip() if query.genre else None, tag=query.tag)


def _split_words(text: str) -> tuple[str | None, str | None]:
    """Return the unquoted words of a web-search text, to compare for typos, and the words or
    phrases it excludes (as a web-search text of alternatives)."""
    wanted, excluded = [], []
    for token in _TOKEN.findall(text):
        if token.startswith("-") and len(token) > 1:
            excluded.append(token[1:])
        elif token.lower() != "or" and not token.startswith('"'):
            # A quoted phrase is meant exactly: no near misses for it.
            wanted.append(token.replace('"', ""))
    return " ".join(wanted).strip() or None, " or ".join(w for w in excluded if w) or None


@dataclass(frozen=True)
class Page:
    """One page of results, best first, and the cursor of the next page (None at the end)."""

    hits: list[SearchHit]
    next_cursor: str | None
    mode: str  # "recent" (no text), "text", or "fuzzy" (typo-tolerant matches joined in)


def search(services: Services, query: Query, *, limit: int = 20,
           cursor: str | None = None) -> Page:
    """Return one page of public, ready tracks matching ``query``.

    Raises:
        ValidationError: a field of the query is invalid.
        InputError: the cursor was altered or belongs to another search (400).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": f"must be 1-{MAX_LIMIT}"})
    wanted = criteria(query)
    key = _cursor_key(services)
    digest = _digest(wanted)
    if cursor is not None:
        mode, after = _decode(key, digest, cursor)
    else:
        mode, after = ("text" if wanted.text else "recent"), None
    with single_reads(services.db) as uow:
        repo = SearchRepository(uow.cur)
        # One row past the page says whether there is a next one; on a first page, enough
        # rows to tell whether the text alone finds enough.
        fetch = max(limit + 1, MIN_TEXT_MATCHES) if cursor is None else limit + 1
        hits = repo.page(wanted, mode=mode, after=after, limit=fetch)
        if cursor is None and mode == "text" and len(hits) < MIN_TEXT_MATCHES:
            # So few text matches that the words are probably misspelt: the mode is kept in the
            # cursor, so every page of this search is cut from the same ordering.
            mode = "fuzzy"
            hits = repo.page(wanted, mode=mode, after=None, limit=limit + 1)
    more = len(hits) > limit
    hits = hits[:limit]
    next_cursor = _encode(key, digest, mode, hits[-1]) if more else None
    return Page(hits=hits, next_cursor=next_cursor, mode=mode)


# ---------------------------------------------------------------- cursors
# A cursor is the last row's sort key and the search mode, signed with a key derived from the
# platform's signing key and bound to the criteria: an altered cursor, or one from another search,
# is refused rather than silently paging through something else.


def _cursor_key(services: Services) -> bytes:
    return services.settings.derived_key("veza search cursors")


def _digest(wanted: Criteria) -> bytes:
    return hashlib.sha256(repr(astuple(wanted)).encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(key: bytes, digest: bytes, mode: str, last: SearchHit) -> str:
    position: Any = last.created_at.isoformat() if mode == "recent" else last.score
    payload = json.dumps([mode, position, str(last.id)], separators=(",", ":")).encode()
    tag = hmac.new(key, digest + payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(tag)}"


def _decode(key: bytes, digest: bytes, cursor: str) -> tuple[str, tuple[Any, UUID]]:
    bad = InputError("the cursor is not valid for this search; start again without it",
                     code="bad_cursor")
    try:
        body, tag = cursor.split(".")
        payload = _unb64(body)
        valid = hmac.compare_digest(
            hmac.new(key, digest + payload, hashlib.sha256).digest()[:16], _unb64(tag))
    except (ValueError, binascii.Error):
        raise bad from None
    if not valid:
        raise bad
    mode, position, last_id = json.loads(payload)
    if mode == "recent":
        return mode, (datetime.fromisoformat(position), UUID(last_id))
    return mode, (float(position), UUID(last_id))
