"""Accounts over HTTP: register, login, refresh, logout, change password, who am I."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag

from api.context import accounts, principal
from api.openapi import BEARER, problems
from api.schemas import LoginBody, Me, PasswordBody, RefreshBody, RegisterBody, Tokens
from storage.accounts import Accounts
from storage.repositories import unit_of_work
from veza.accounts import public_user
from veza.errors import NotFoundError

TAG = Tag(name="accounts", description="registration, login and sessions")
bp = APIBlueprint("auth", __name__, url_prefix="/api/v1", abp_tags=[TAG])


def _client() -> dict[str, str | None]:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent")}


@bp.post("/auth/register", responses={201: Tokens, **problems(400, 409, 422)})
def register(body: RegisterBody) -> tuple[dict[str, Any], int]:
    """Create a listener or artist account and log it in."""
    return accounts().register(body.model_dump(), **_client()).as_json(), 201


@bp.post("/auth/login", responses={200: Tokens, **problems(400, 401, 422, 429)})
def login(body: LoginBody) -> dict[str, Any]:
    """Exchange a handle or email and a password for tokens (rate-limited)."""
    return accounts().login(body.model_dump(), **_client()).as_json()


@bp.post("/auth/refresh", responses={200: Tokens, **problems(400, 401, 422)})
def refresh(body: RefreshBody) -> dict[str, Any]:
    """Spend a refresh token for new tokens; a spent one presented again ends the session."""
    return accounts().refresh(body.model_dump()).as_json()


@bp.post("/auth/logout", security=BEARER, responses={204: None, **problems(401)})
def logout() -> Response:
    """End the session of this access token."""
    accounts().logout(principal())
    return Response(status=204)


@bp.post("/auth/password", security=BEARER,
         responses={200: Tokens, **problems(400, 401, 422, 429)})
def change_password(body: PasswordBody) -> dict[str, Any]:
    """Change the password: every session ends, and tokens for a new one come back."""
    return accounts().change_password(principal(), body.model_dump(), **_client()).as_json()


@bp.get("/me", security=BEARER, responses={200: Me, **problems(401, 404)})
def me() -> dict[str, Any]:
    """The caller's own account."""
    who = principal()
    with unit_of_work(accounts().services.db) as uow:
        account = Accounts(uow.cur).get(who.user_id)
    if account is None:
        raise NotFoundError("this account no longer exists")
    return {**public_user(account), "email": account.email}
