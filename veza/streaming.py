"""Playlists for listeners: stored HLS playlists rewritten with URLs that work and expire.

A private track streams to whoever holds a stream grant: a short-lived token for one track,
handed to those who may see it (its owner, an admin) in the track's ``stream`` URLs, because
an audio element or an HLS player cannot send an ``Authorization`` header. The grant rides in
the playlist URLs as ``?access=``; segment URLs are signed by the object store as for any track.
"""

from __future__ import annotations

import posixpath
import time
from urllib.parse import urlencode
from uuid import UUID

import jwt
import m3u8

from pipeline.hls import MASTER, SAMPLE_RATE  # noqa: F401 - the rate of every rendition, for the API
from storage.objects import MAX_EXPIRES_S
from veza.errors import NotFoundError, SignatureError
from veza.layout import hls_prefix
from veza.records import Rendition, Track
from veza.runtime import Services

GRANT_AUDIENCE = "veza:stream"
_ALGORITHM = "HS256"


def _resolve(base_key: str, uri: str) -> str:
    if "://" in uri or uri.startswith("/"):
        raise NotFoundError(f"playlist refers outside the track: {uri!r}")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_key), uri))


def playable(track: Track) -> bool:
    """Return whether listeners can start: ready, or far enough along to stream while it works."""
    return track.status == "ready" or (
        track.status == "processing" and track.playable_at is not None
    )


def url_lifetime_s(services: Services, track: Track) -> int:
    """Seconds a listener's URLs stay valid: the signed-URL lifetime plus the track's length,
    so that a player which reads a playlist once can play it to the end."""
    return min(services.settings.signed_url_ttl_s + int(track.duration_s or 0), MAX_EXPIRES_S)


def _grant_key(services: Services) -> bytes:
    # A key of its own: an access token is never a grant, nor a grant an access token.
    return services.settings.derived_key("veza stream grants")


def grant(services: Services, track: Track) -> str:
    """Return a stream grant for ``track``; give it only to someone who may see the track."""
    claims = {"aud": GRANT_AUDIENCE, "sub": str(track.id),
              "exp": int(time.time()) + url_lifetime_s(services, track)}
    return jwt.encode(claims, _grant_key(services), algorithm=_ALGORITHM)


def check_grant(services: Services, track_id: UUID, token: str) -> None:
    """Raise SignatureError unless ``token`` is an unexpired stream grant for ``track_id``."""
    try:
        claims = jwt.decode(token, _grant_key(services), algorithms=[_ALGORITHM],
                            audience=GRANT_AUDIENCE, options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise SignatureError("the stream grant (access) expired; fetch the track again "
                             "for fresh stream URLs") from None
    except jwt.InvalidTokenError:
        raise SignatureError("the stream grant (access) is not valid") from None
    if claims["sub"] != str(track_id):
        raise SignatureError(f"the stream grant (access) is not for track {track_id}")


def grant_query(access: str | None) -> str:
    """The query string that carries a grant on to the next URL ('' without one)."""
    return "?" + urlencode({"access": access}) if access else ""


def master_playlist(services: Services, track: Track, renditions: list[Rendition], *,
                    access: str | None = None) -> str:
    """Return the master playlist with each variant pointing at the API's media playlist URL
    (carrying the stream grant ``access``, if the master was fetched with one)."""
    if not playable(track) or not renditions:
        raise NotFoundError(f"track {track.id} is not ready to stream (status: {track.status})")
    master_key = hls_prefix(track.id) + MASTER
    playlist = m3u8.loads(services.store.get(master_key).decode("utf-8"))
    known = {r.name for r in renditions}
    base = services.settings.base_url
    for variant in playlist.playlists:
        name = posixpath.dirname(variant.uri)
        if name not in known:
            raise NotFoundError(f"master playlist names an unknown rendition {name!r}")
        variant.uri = (f"{base}/api/v1/tracks/{track.id}/hls/{name}/index.m3u8"
                       + grant_query(access))
    return str(playlist.dumps())


def media_playlist(services: Services, track: Track, rendition: Rendition) -> str:
    """Return a rendition's playlist with init and segment URLs signed for long enough to play
    the track to its end (``url_lifetime_s``)."""
    if not playable(track):
        raise NotFoundError(f"track {track.id} is not ready to stream (status: {track.status})")
    store = services.store
    ttl = url_lifetime_s(services, track)
    playlist = m3u8.loads(store.get(rendition.playlist_key).decode("utf-8"))
    signed: dict[str, str] = {}

    def sign(uri: str) -> str:
        if uri in signed.values():  # an init section shared by several segments
            return uri
        if uri not in signed:
            signed[uri] = store.presign_get(_resolve(rendition.playlist_key, uri), expires_s=ttl)
        return signed[uri]

    for segment in playlist.segments:
        segment.uri = sign(segment.uri)
        if segment.init_section is not None and segment.init_section.uri:
            segment.init_section.uri = sign(segment.init_section.uri)
    return str(playlist.dumps())
