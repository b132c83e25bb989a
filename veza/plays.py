"""Plays: counted once per listener per listening session; history and per-track counts.

A listener is an account, or for a client without one a key derived from its address and user
agent: an HMAC under the server's signing key, so the address is never stored and cannot be
recovered by hashing the address space. A fetch within ``SESSION_WINDOW_S`` of the listener's
last fetch of the track extends that play instead of counting another one. A client picks its
own user agent, so clients without an account count at most ``ANONYMOUS_PLAYS`` new plays of a
track per address (an IPv6 client: per /64) within the window; more fetches still play.

The owner's own plays are recorded (they appear in the owner's history) but are left out of the
track's statistics, so an artist checking an upload does not inflate its counts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from storage.plays import HistoryEntry, Plays, PlayStats
from storage.repositories import unit_of_work
from veza.access import check_owner
from veza.accounts import Principal
from veza.errors import NotFoundError, ValidationError
from veza.ratelimit import RateLimiter
from veza.runtime import Services

SESSION_WINDOW_S = 30 * 60
# New anonymous plays of one track counted per address and window: a few people behind one
# address (a household, an office) still count apart; a client changing its agent does not.
ANONYMOUS_PLAYS = 3
STATS_DAYS = 30
# Longest user agent taken into an anonymous listener's key; the rest adds nothing.
_MAX_AGENT = 512


@dataclass(frozen=True)
class Listener:
    """Who is listening: ``key`` identifies them across fetches; ``user_id`` for an account;
    ``address_key`` (a keyed hash too) the address an anonymous listener's plays are bounded by."""

    key: str
    user_id: UUID | None
    address_key: str | None = None


def listener_secret(services: Services) -> bytes:
    """Return the key of anonymous listeners' hashes, derived from the platform's signing key."""
    return services.settings.derived_key("veza anonymous listeners")


def listener_for(who: Principal | None, *, address: str | None, user_agent: str | None,
                 secret: bytes) -> Listener:
    """Return the listener of a request: its account, else a keyed hash of address and agent."""
    if who is not None:
        return Listener(key=f"user:{who.user_id}", user_id=who.user_id)
    message = f"{address or ''}\n{(user_agent or '')[:_MAX_AGENT]}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()
    network = hmac.new(secret, f"address\n{_network(address)}".encode(), hashlib.sha256)
    return Listener(key=f"anon:{digest}", user_id=None, address_key=network.hexdigest())


def _network(address: str | None) -> str:
    """Return the address plays are bounded by: an IPv4 address, an IPv6 address's /64 (one
    client usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def record_play(services: Services, track_id: UUID, listener: Listener,
                limiter: RateLimiter | None = None) -> bool:
    """Count a play of the track unless the listener's session with it is still open, or
    (with ``limiter``) an anonymous listener's address has had its ``ANONYMOUS_PLAYS`` of it
    within the window; return True when a new play was counted."""
    with unit_of_work(services.db) as uow:
        found = Plays(uow.cur)
        if found.extend(track_id, listener_key=listener.key, window_s=SESSION_WINDOW_S):
            return False
        if listener.address_key is not None and limiter is not None and not limiter.allow(
                "anonymous-plays", f"{listener.address_key}:{track_id}",
                f"{ANONYMOUS_PLAYS}/{SESSION_WINDOW_S}second"):
            return False
        found.start(track_id, listener_key=listener.key, listener_id=listener.user_id)
        return True


def history(services: Services, who: Principal, *, limit: int, cursor: str | None
            ) -> tuple[list[HistoryEntry], str | None]:
    """Return one page of the caller's plays, newest first, and the cursor of the next page."""
    before = decode_cursor(cursor) if cursor else None
    with unit_of_work(services.db) as uow:
        rows = Plays(uow.cur).history(who.user_id, is_admin=who.role == "admin",
                                      limit=limit + 1, before=before)
    page = rows[:limit]
    following = encode_cursor(page[-1]) if len(rows) > limit else None
    return page, following


def stats(services: Services, track_id: UUID, who: Principal) -> PlayStats:
    """Return the track's play counts for its owner or an admin.

    Raises:
        NotFoundError: no such track, or one the caller may not see.
        ForbiddenError: the caller may see the track but does not own it.
    """
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
        if track is None:
            raise NotFoundError(f"no track with id {track_id}")
        check_owner("track", track.id, track.owner_id, track.visibility, who)
        return Plays(uow.cur).stats(track_id, exclude_listener=track.owner_id, days=STATS_DAYS)


def encode_cursor(entry: HistoryEntry) -> str:
    """Return an opaque cursor that pages past ``entry``."""
    raw = f"{entry.started_at.isoformat()}|{entry.play_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Return the (started_at, play id) a cursor points past; ValidationError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, play_id = raw.split("|")
        started = datetime.fromisoformat(when)
        if started.tzinfo is None:
            raise ValueError("naive time")
        return started, int(play_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValidationError({"cursor": "not a cursor this API gave out"}) from exc
