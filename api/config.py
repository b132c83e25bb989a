"""Client settings over HTTP: what the web app asks before it connects anywhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request
from flask_openapi3 import APIBlueprint, Tag

from api.schemas import ClientConfig
from veza.settings import Settings

TAG = Tag(name="config", description="client settings")
bp = APIBlueprint("config", __name__, url_prefix="/api/v1", abp_tags=[TAG])

_ANNOUNCED = "veza.chat_url"
_EVERY_ADDRESS = {"0.0.0.0", "::"}


def announce_chat_url(app: Flask, url: str) -> None:
    """Tell ``app`` where its chat gateway listens, once that is known (``veza up`` starts
    the gateway after the API is built, perhaps on a port of its choosing)."""
    app.extensions[_ANNOUNCED] = url


def gateway_url(host: str, port: int) -> str:
    """Return the URL of a gateway listening on ``host`` and ``port``."""
    return f"ws://{'[' + host + ']' if ':' in host else host}:{port}/ws"


def chat_url(app: Flask) -> str:
    """Return where browsers reach the chat: VEZA_CHAT_PUBLIC_URL, else the gateway that
    announced itself, else the configured host and port."""
    settings: Settings = app.config["VEZA_SETTINGS"]
    if settings.chat_public_url:
        return settings.chat_public_url
    announced = app.extensions.get(_ANNOUNCED)
    url = str(announced) if announced else gateway_url(settings.chat_host, settings.chat_port)
    host = urlsplit(url).hostname
    if host in _EVERY_ADDRESS and has_request_context():
        # A gateway listening on every address is reached under the name the page used.
        asked = request.host if request.host.endswith("]") else request.host.rsplit(":", 1)[0]
        url = url.replace(f"//{'[' + host + ']' if ':' in host else host}:", f"//{asked}:", 1)
    return url


@bp.get("/config", responses={200: ClientConfig})
def client_config() -> dict[str, Any]:
    """Where the chat is, the version, and the limits a client should respect."""
    app = current_app
    settings: Settings = app.config["VEZA_SETTINGS"]
    return {"chat_url": chat_url(app),
            "version": app.config["VEZA_VERSION"],
            "max_upload_bytes": settings.max_upload_bytes,
            "signed_url_ttl_s": settings.signed_url_ttl_s}
