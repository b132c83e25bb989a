"""A minimal page that plays a track's HLS stream in the browser (a private track's with the
stream grant its ``player_url`` carries)."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response, render_template_string, request

from veza.streaming import grant_query

bp = Blueprint("player", __name__)

# The page's one style block: its Content-Security-Policy allows it by its hash (api/security.py).
STYLE = """body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
audio{width:100%}"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veza · {{ track_id }}</title>
<style>""" + STYLE + """</style></head>
<body><h1>Veza</h1><p>Track <code>{{ track_id }}</code></p>
<audio id="player" controls preload="metadata" src="{{ master }}"></audio>
<p>Stream URL (HLS): <a href="{{ master }}">{{ master }}</a></p>
</body></html>
"""


@bp.get("/play/<uuid:track_id>")
def play(track_id: UUID) -> Response:
    # The grant is checked where it is used, by the playlists; here it is only passed on.
    master = f"/api/v1/tracks/{track_id}/master.m3u8" + grant_query(request.args.get("access"))
    return Response(render_template_string(PAGE, track_id=track_id, master=master),
                    mimetype="text/html")
