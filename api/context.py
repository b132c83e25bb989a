"""Per-request access to the services, and the one place the current user is resolved."""

from __future__ import annotations

from uuid import UUID

from flask import current_app, g

from veza.runtime import Services


def services() -> Services:
    return current_app.extensions["veza"]  # type: ignore[no-any-return]


def current_user_id() -> UUID:
    """Return the user making this request.

    Until accounts exist every request acts as the local artist; authentication will
    resolve the user here and nowhere else.
    """
    if "user_id" not in g:
        g.user_id = services().local_user_id()
    return g.user_id  # type: ignore[no-any-return]
