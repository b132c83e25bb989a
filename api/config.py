"""Client settings over HTTP: what the web app asks before it connects anywhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_openapi3 import APIBlueprint, Tag

from api.schemas import ClientConfig
from veza.settings import Settings

TAG = Tag(name="config", description="client settings")
bp = APIBlueprint("config", __name__, url_prefix="/api/v1", abp_tags=[TAG])

_ANNOUNCED = "veza.chat_url"


def announce_chat_url(app: Flask, url: str) -> None:
    """Tell ``app`` where its chat gateway listens, once that is known (``veza up`` starts
    the gateway after the API is built, perhaps on a port of its choosing)."""
    app.extensions[_ANNOUNCED] = url


def chat_url(app: Flask) -> str:
    """Return where browsers reach the chat: VEZA_CHAT_PUBLIC_URL, else the gateway that
    announced itself, else the configured host and port."""
    settings: Settings = app.config["VEZA_SETTINGS"]
    if settings.chat_public_url:
        return settings.chat_public_url
    announced = app.extensions.get(_ANNOUNCED)
    if announced:
        return str(announced)
    return f"ws://{settings.chat_host}:{settings.chat_port}/ws"


@bp.get("/config", responses={200: ClientConfig})
def client_config() -> dict[str, Any]:
    """Where the chat is, the version, and the limits a client should respect."""
    app = current_app
    settings: Settings = app.config["VEZA_SETTINGS"]
    return {"chat_url": chat_url(app),
            "version": app.config["VEZA_VERSION"],
            "max_upload_bytes": settings.max_upload_bytes,
            "signed_url_ttl_s": settings.signed_url_ttl_s}
