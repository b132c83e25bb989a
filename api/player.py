"""A track's page, ``/play/{id}``: the web app's track page, which plays the stream (a private
track's through the stream grant ``?access=`` its ``player_url`` carries, left in the URL for
the app to read); where the app was not built, a minimal page with an audio element."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response, render_template_string, request

from api import web
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
    if web.built():
        return web.app_page()
    # The grant is checked where it is used, by the playlists; here it is only passed on.
    master = f"/api/v1/tracks/{track_id}/master.m3u8" + grant_query(request.args.get("access"))
    return Response(render_template_string(PAGE, track_id=track_id, master=master),
                    mimetype="text/html")
