"""Playlists for listeners: stored HLS playlists rewritten with URLs that work and expire."""

from __future__ import annotations

import posixpath

import m3u8

from veza.errors import NotFoundError
from veza.layout import hls_prefix
from veza.records import Rendition, Track
from veza.runtime import Services


def _resolve(base_key: str, uri: str) -> str:
    if "://" in uri or uri.startswith("/"):
        raise NotFoundError(f"playlist refers outside the track: {uri!r}")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_key), uri))


def playable(track: Track) -> bool:
    """Return whether listeners can start: ready, or far enough along to stream while it works."""
    return track.status == "ready" or (
        track.status == "processing" and track.playable_at is not None
    )


def master_playlist(services: Services, track: Track, renditions: list[Rendition]) -> str:
    """Return the master playlist with each variant pointing at the API's media playlist URL."""
    if not playable(track) or not renditions:
        raise NotFoundError(f"track {track.id} is not ready to stream (status: {track.status})")
    master_key = hls_prefix(track.id) + "master.m3u8"
    playlist = m3u8.loads(services.store.get(master_key).decode("utf-8"))
    known = {r.name for r in renditions}
    base = services.settings.base_url
    for variant in playlist.playlists:
        name = posixpath.dirname(variant.uri)
        if name not in known:
            raise NotFoundError(f"master playlist names an unknown rendition {name!r}")
        variant.uri = f"{base}/api/v1/tracks/{track.id}/hls/{name}/index.m3u8"
    return str(playlist.dumps())


def media_playlist(services: Services, track: Track, rendition: Rendition) -> str:
    """Return a rendition's playlist with init and segment URLs signed for a few minutes."""
    if not playable(track):
        raise NotFoundError(f"track {track.id} is not ready to stream (status: {track.status})")
    store = services.store
    ttl = services.settings.signed_url_ttl_s
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
