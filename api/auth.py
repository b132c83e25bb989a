"""Accounts over HTTP: register, login, refresh, logout, change password, who am I.

Two ways to hold the refresh token. By default it travels in the JSON bodies. A browser sends
``X-Veza-Session: cookie`` instead: the token then leaves the body for an ``HttpOnly; Secure;
SameSite=Strict`` cookie scoped to ``/api/v1/auth``, which no script can read, and /auth/refresh
reads it from there. Against cross-site requests, the cookie is read only with that header
(a form cannot send it; a fetch from another site needs a CORS preflight the API refuses) and
only when the request's ``Origin``, if any, is this API's own (403 ``bad_origin`` otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Response, after_this_request, current_app, jsonify, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ValidationError as PydanticValidationError

from api.context import accounts, principal
from api.openapi import BEARER, _validation_error, problems
from api.schemas import LoginBody, Me, PasswordBody, RefreshBody, RegisterBody, Tokens
from api.security import _origin
from storage.accounts import Accounts
from storage.repositories import unit_of_work
from veza.accounts import Tokens as Issued
from veza.accounts import public_user
from veza.errors import AuthError, ForbiddenError, InputError, NotFoundError
from veza.settings import Settings

TAG = Tag(name="accounts", description="registration, login and sessions")
bp = APIBlueprint("auth", __name__, url_prefix="/api/v1", abp_tags=[TAG])

COOKIE = "veza_refresh"
COOKIE_PATH = "/api/v1/auth"
# Beside the refresh cookie, one a script may read that holds no secret: it only tells the app
# that a session may exist, so that an anonymous page load does not ask /auth/refresh in vain.
SESSION_COOKIE = "veza_session"
SESSION_HEADER = "X-Veza-Session"
_SESSION_PARAMETER = {
    "name": SESSION_HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "enum": ["cookie"]},
    "description": "`cookie`: the refresh token travels in the HttpOnly cookie `veza_refresh` "
                   "(path /api/v1/auth) instead of the JSON body; the request's Origin, if "
                   "sent, must be this API's (403 `bad_origin`)",
}
COOKIE_MODE: dict[str, Any] = {"parameters": [_SESSION_PARAMETER]}


def _client() -> dict[str, str | None]:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent")}


def _settings() -> Settings:
    return current_app.config["VEZA_SETTINGS"]  # type: ignore[no-any-return]


def _cookie_mode() -> bool:
    """Whether this call keeps the refresh token in the cookie; refuse a foreign Origin."""
    mode = request.headers.get(SESSION_HEADER)
    if mode is None:
        return False
    if mode.strip().lower() != "cookie":
        raise InputError(f"{SESSION_HEADER} must be 'cookie' (or absent), got {mode[:40]!r}")
    origin = request.headers.get("Origin")
    if origin is not None:
        # This host as the request named it (localhost or 127.0.0.1 alike), or the public URL.
        own = {request.host_url.rstrip("/").lower(), _origin(_settings().base_url).lower()}
        if origin.rstrip("/").lower() not in own:
            raise ForbiddenError(f"cookie sessions are for pages of this site; Origin "
                                 f"{origin[:200]!r} is not", code="bad_origin")
    return True


def _answer(tokens: Issued, status: int = 200) -> tuple[Response, int]:
    """Return the tokens: all of them in the body, or the refresh token in the cookie."""
    body = tokens.as_json()
    if not _cookie_mode():
        return jsonify(body), status
    response = jsonify({k: v for k, v in body.items() if k != "refresh_token"})
    response.set_cookie(COOKIE, tokens.refresh_token, max_age=_settings().refresh_token_ttl_s,
                        path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict")
    response.set_cookie(SESSION_COOKIE, "1", max_age=_settings().refresh_token_ttl_s, path="/",
                        secure=True, httponly=False, samesite="Strict")
    return response, status


def _forget(response: Response) -> Response:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True,
                           samesite="Strict")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, samesite="Strict")
    return response


@bp.post("/auth/register", responses={201: Tokens, **problems(400, 403, 409, 422)},
         openapi_extensions=COOKIE_MODE)
def register(body: RegisterBody) -> tuple[Response, int]:
    """Create a listener or artist account and log it in."""
    _cookie_mode()  # a foreign Origin is refused before anything is created
    return _answer(accounts().register(body.model_dump(), **_client()), 201)


@bp.post("/auth/login", responses={200: Tokens, **problems(400, 401, 403, 422, 429)},
         openapi_extensions=COOKIE_MODE)
def login(body: LoginBody) -> tuple[Response, int]:
    """Exchange a handle or email and a password for tokens (rate-limited)."""
    _cookie_mode()
    return _answer(accounts().login(body.model_dump(), **_client()))


@bp.post("/auth/refresh", responses={200: Tokens, **problems(400, 401, 403, 422)},
         openapi_extensions={
             **COOKIE_MODE,
             "requestBody": {
                 "description": "the refresh token; none in cookie mode",
                 "required": False,
                 "content": {"application/json": {"schema": RefreshBody.model_json_schema()}},
             }})
def refresh() -> tuple[Response, int] | Response:
    """Spend a refresh token for new tokens; a spent one presented again ends the session."""
    if _cookie_mode():
        token = request.cookies.get(COOKIE)
        if not token:
            raise AuthError("no refresh cookie: log in again")
        # A token that is refused (reused, revoked, expired) is of no more use: drop it.
        after_this_request(lambda response: _forget(response)
                           if response.status_code == 401 else response)
        return _answer(accounts().refresh({"refresh_token": token}))
    try:
        body = RefreshBody.model_validate(request.get_json(silent=True))
    except PydanticValidationError as exc:
        return _validation_error(exc)
    return _answer(accounts().refresh(body.model_dump()))


@bp.post("/auth/logout", security=BEARER, responses={204: None, **problems(401, 403)},
         openapi_extensions=COOKIE_MODE)
def logout() -> Response:
    """End the session of this access token (and, in cookie mode, drop the cookie)."""
    cookie = _cookie_mode()
    accounts().logout(principal())
    response = Response(status=204)
    return _forget(response) if cookie else response


@bp.post("/auth/password", security=BEARER,
         responses={200: Tokens, **problems(400, 401, 403, 422, 429)},
         openapi_extensions=COOKIE_MODE)
def change_password(body: PasswordBody) -> tuple[Response, int]:
    """Change the password: every session ends, and tokens for a new one come back."""
    _cookie_mode()
    return _answer(accounts().change_password(principal(), body.model_dump(), **_client()))


@bp.get("/me", security=BEARER, responses={200: Me, **problems(401, 404)})
def me() -> dict[str, Any]:
    """The caller's own account."""
    who = principal()
    with unit_of_work(accounts().services.db) as uow:
        account = Accounts(uow.cur).get(who.user_id)
    if account is None:
        raise NotFoundError("this account no longer exists")
    return {**public_user(account), "email": account.email}
