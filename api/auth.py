"""Accounts over HTTP: register, login, refresh, logout, change password, who am I."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from api.context import accounts, principal
from storage.accounts import Accounts
from storage.repositories import unit_of_work
from veza.accounts import public_user
from veza.errors import InputError, NotFoundError

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


def _body() -> Any:
    if not request.is_json:
        raise InputError("send a JSON body (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise InputError("the body is not valid JSON")
    return body


def _client() -> dict[str, str | None]:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent")}


@bp.post("/auth/register")
def register() -> tuple[dict[str, Any], int]:
    return accounts().register(_body(), **_client()).as_json(), 201


@bp.post("/auth/login")
def login() -> dict[str, Any]:
    return accounts().login(_body(), **_client()).as_json()


@bp.post("/auth/refresh")
def refresh() -> dict[str, Any]:
    return accounts().refresh(_body()).as_json()


@bp.post("/auth/logout")
def logout() -> Response:
    accounts().logout(principal())
    return Response(status=204)


@bp.post("/auth/password")
def change_password() -> dict[str, Any]:
    return accounts().change_password(principal(), _body(), **_client()).as_json()


@bp.get("/me")
def me() -> dict[str, Any]:
    who = principal()
    with unit_of_work(accounts().services.db) as uow:
        account = Accounts(uow.cur).get(who.user_id)
    if account is None:
        raise NotFoundError("this account no longer exists")
    return {**public_user(account), "email": account.email}
