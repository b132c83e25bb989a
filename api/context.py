"""Per-request access to the services, and the one place the caller is resolved."""

from __future__ import annotations

import re
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


def check_presented_token() -> None:
    """Authenticate before anything else looks at the request.

    A request whose Authorization header is not valid is refused wherever it goes (RFC 6750
    §3.1): a stale or forged token never silently degrades to anonymous access. The account
    calls that issue tokens are left alone, so a client holding a stale token can log in. An
    operation the OpenAPI document marks as needing a token answers 401 without one, before
    its input is validated: the document is the one statement of who must sign in.
    """
    if not request.path.startswith("/api/v1/") or request.endpoint in _ISSUING:
        return
    if request.headers.get("Authorization"):
        principal()
    elif (request.endpoint, request.method) in secured_operations():
        principal()  # raises the 401 that names the missing token


_ISSUING = {"auth.register", "auth.login", "auth.refresh"}


def secured_operations() -> set[tuple[str, str]]:
    """Return (endpoint, method) of every operation whose documentation asks for a token."""
    app = current_app
    cached = app.extensions.get("veza.secured")
    if cached is None:
        spec = app.api_doc  # type: ignore[attr-defined]
        cached = set()
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            for method, operation in spec.get("paths", {}).get(path, {}).items():
                if isinstance(operation, dict) and operation.get("security"):
                    cached.add((rule.endpoint, method.upper()))
        app.extensions["veza.secured"] = cached
    return cached  # type: ignore[no-any-return]
