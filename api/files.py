"""Objects of the local-directory store, served to holders of a signed URL."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from api.context import services
from api.errors import problem
from veza.errors import NotFoundError, SignatureError

bp = Blueprint("files", __name__)


@bp.get("/files/<path:key>")
def get_file(key: str) -> Response:
    store = services().store
    verify = getattr(store, "verify", None)
    if verify is None:
        raise NotFoundError("objects are served by the object store, not the API")
    expires = request.args.get("expires", "")
    signature = request.args.get("signature", "")
    if not expires or not signature:
        raise SignatureError("URL is not signed")
    verify(key, expires, signature)
    info = store.stat(key)
    path = store.path_for(key)  # type: ignore[attr-defined]
    # conditional=True answers Range requests with 206 and honours If-None-Match.
    response = send_file(path, mimetype=info.content_type, conditional=True, etag=info.etag,
                         max_age=3600)
    if response.status_code == 412:  # Werkzeug keeps the whole object as the 412's body
        response.close()
        return problem(412, "precondition_failed", "Precondition failed",
                       "If-Match names no version of this object")
    return response
