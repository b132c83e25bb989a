"""Per-request access to the services, and the one place the caller is resolved."""

from __future__ import annotations

from uuid import UUID

from flask import current_app, g, request

from veza.accounts import AccountService, Principal
from veza.runtime import Services


def services() -> Services:
    return current_app.extensions["veza"]  # type: ignore[no-any-return]


def accounts() -> AccountService:
    return current_app.extensions["veza.accounts"]  # type: ignore[no-any-return]


def principal() -> Principal:
    """Return who this request acts for; AuthError (401) without a valid access token."""
    if "principal" not in g:
        g.principal = accounts().authenticate(request.headers.get("Authorization"))
    return g.principal  # type: ignore[no-any-return]


def optional_principal() -> Principal | None:
    """Return the caller when the request carries a token (which must be valid), else None."""
    if not request.headers.get("Authorization"):
        return None
    return principal()


def require_role(*roles: str) -> Principal:
    """Return the caller if they hold one of ``roles``; ForbiddenError (403) otherwise."""
    who = principal()
    who.require(*roles)
    return who


def current_user_id() -> UUID:
    """Return the id of the caller; AuthError (401) without a valid access token."""
    return principal().user_id
