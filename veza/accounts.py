"""Accounts: registration, login, token refresh with rotation, logout, password change.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second profile). Access
tokens are short-lived HS256 JWTs (PyJWT) naming the user, their role and their session; every
request checks that the session is still open, so logging out, a password change or a detected
refresh-token reuse takes effect at once. Refresh tokens are random, stored only as SHA-256
hashes, and single-use: each refresh spends one and returns the next in the same session.
Presenting a spent token again means it leaked, so the whole session is revoked; except for
``VEZA_REFRESH_REUSE_GRACE_S`` seconds after it was spent while the token that replaced it is
still unused (the browser lost the answer): then the replacement is spent in its stead.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storage.accounts import Account, Accounts
from storage.repositories import unit_of_work
from veza.errors import AuthError, ConflictError, ForbiddenError, InputError, ValidationError
from veza.ratelimit import RateLimiter
from veza.runtime import Services
from veza.tags import DISPLAY_NAME_LIMIT, clean

log = logging.getLogger(__name__)

ROLES = ("listener", "artist", "admin")
SELF_SERVICE_ROLES = ("listener", "artist")
ISSUER = "veza"
ALGORITHM = "HS256"
HANDLE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD, MAX_PASSWORD = 10, 256
TAKEN = "that handle or email is already taken"
# Registrations from one address that may meet a taken handle or email.
REGISTER_TAKEN_LIMIT = "10/hour"

_hasher = PasswordHasher()
# Verified against when the login names nobody, so an unknown account costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: Account

    def as_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": "Bearer",
                "expires_in": self.expires_in, "refresh_token": self.refresh_token,
                "user": public_user(self.user)}


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, from a verified access token."""

    user_id: UUID
    role: str
    session_id: UUID

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise ForbiddenError(f"this needs the {' or '.join(roles)} role; "
                                 f"you are a {self.role}")


def public_user(account: Account) -> dict[str, Any]:
    return {"id": str(account.id), "handle": account.handle,
            "display_name": account.display_name, "role": account.role}


def signing_key(services: Services) -> bytes:
    """The JWT key, derived from the platform's signing key (kept apart from URL signatures)."""
    return services.settings.derived_key("veza access tokens")


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_password(password: Any, field: str = "password") -> str:
    if not isinstance(password, str):
        raise ValidationError({field: "required, a string"})
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError({field: f"must be {MIN_PASSWORD}-{MAX_PASSWORD} characters"})
    return password


class AccountService:
    """Account operations on one process's services and rate limiter."""

    def __init__(self, services: Services, limiter: RateLimiter | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.limiter = limiter or RateLimiter.for_settings(services.settings)
        self._key = signing_key(services)

    # ------------------------------------------------------------------ accounts

    def register(self, body: Any, *, user_agent: str | None = None,
                 ip: str | None = None) -> Tokens:
        """Create a listener or artist account and log it in."""
        if not isinstance(body, dict):
            raise InputError("the body must be a JSON object")
        problems: dict[str, str] = {}
        handle = body.get("handle")
        if not isinstance(handle, str) or not HANDLE.match(handle.strip().lower()):
            problems["handle"] = "required: 1-64 of a-z 0-9 _ . - (not starting with . or -)"
        email = body.get("email")
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            problems["email"] = "required: an email address"
        password = body.get("password")
        try:
            _check_password(password)
        except ValidationError as exc:
            problems.update(exc.fields)
        role = body.get("role", "listener")
        if role not in SELF_SERVICE_ROLES:
            problems["role"] = f"must be one of {', '.join(SELF_SERVICE_ROLES)}"
        display_name = body.get("display_name")
        if display_name is not None and (not isinstance(display_name, str)
                                         or not 0 < len(display_name) <= 100):
            problems["display_name"] = "a string of 1-100 characters"
        if problems:
            raise ValidationError(problems)
        assert isinstance(handle, str) and isinstance(email, str) and isinstance(password, str)
        display_name = clean(display_name, DISPLAY_NAME_LIMIT)  # as titles are (U+202E...)
        # Whether an email is registered is nobody else's business: a taken handle and a taken
        # email answer alike, and an address that keeps meeting taken ones is slowed down
        # (registering logs in at once, so a fresh handle with someone's email would still tell).
        client = ip or "unknown"
        self.limiter.check("register-taken", client, REGISTER_TAKEN_LIMIT,
                           what="registrations with a taken handle or email from this address")
        try:
            return self.create(handle.strip().lower(), email.strip().lower(), password, role,
                               display_name=display_name, user_agent=user_agent, ip=ip)
        except ConflictError:
            self.limiter.allow("register-taken", client, REGISTER_TAKEN_LIMIT)
            raise ConflictError(TAKEN) from None

    def create(self, handle: str, email: str, password: str, role: str, *,
               display_name: str | None = None, user_agent: str | None = None,
               ip: str | None = None) -> Tokens:
        """Create an account of any role (operators use this for admins) and log it in."""
        problems = {}
        if not HANDLE.match(handle):
            problems["handle"] = "1-64 of a-z 0-9 _ . - (not starting with . or -)"
        if not EMAIL.match(email):
            problems["email"] = "not an email address"
        if role not in ROLES:
            problems["role"] = f"must be one of {', '.join(ROLES)}"
        if problems:
            raise ValidationError(problems)
        _check_password(password)
        password_hash = _hasher.hash(password)
        with unit_of_work(self.services.db) as uow:
            accounts = Accounts(uow.cur)
            account = accounts.create(handle=handle, email=email, password_hash=password_hash,
                                      role=role, display_name=display_name)
            tokens = self.open_session(accounts, account, user_agent=user_agent, ip=ip)
        log.info("account %s (%s) registered", account.handle, account.role)
        return tokens

    def login(self, body: Any, *, ip: str | None, user_agent: str | None = None) -> Tokens:
        """Check a handle-or-email and password; rate-limited per account and per address."""
        if not isinstance(body, dict):
            raise InputError("the body must be a JSON object")
        login, password = body.get("login"), body.get("password")
        problems = {}
        if not isinstance(login, str) or not login.strip():
            problems["login"] = "required: your handle or email"
        if not isinstance(password, str) or not password:
            problems["password"] = "required"
        if problems:
            raise ValidationError(problems)
        assert isinstance(login, str) and isinstance(password, str)
        login = login.strip().lower()[:320]
        self.limiter.hit("login-ip", ip or "unknown", self.settings.login_limit_ip,
                         what="login attempts from this address")
        with unit_of_work(self.services.db) as uow:
            account = Accounts(uow.cur).find(login)
        # Counted per account, whichever of its handle or email is tried; a login naming
        # nobody is counted under itself, and answers alike.
        counted = f"account:{account.id}" if account is not None else f"login:{login}"
        self.limiter.hit("login-account", counted, self.settings.login_limit_account,
                         what="login attempts for this account")
        if not self._verify(account, password[:MAX_PASSWORD]):
            raise AuthError("wrong login or password", code="bad_credentials")
        assert account is not None and account.password_hash is not None
        with unit_of_work(self.services.db) as uow:
            accounts = Accounts(uow.cur)
            if _hasher.check_needs_rehash(account.password_hash):
                accounts.set_password(account.id, _hasher.hash(password), changed=False)
            tokens = self.open_session(accounts, account, user_agent=user_agent, ip=ip)
        self.limiter.clear("login-account", counted, self.settings.login_limit_account)
        return tokens

    def refresh(self, body: Any) -> Tokens:
        """Spend a refresh token and return new tokens in the same session."""
        token = body.get("refresh_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ValidationError({"refresh_token": "required"})
        digest = _hash_token(token)
        with unit_of_work(self.services.db) as uow:
            accounts = Accounts(uow.cur)
            found = accounts.refresh_token(digest)
            if found is None:
                raise AuthError("unknown refresh token", code="invalid_token")
            if found.session_revoked_at is not None:
                raise AuthError("this session was signed out", code="session_revoked")
            replacement = None if found.used_at is None else accounts.unused_replacement(
                digest, self.settings.refresh_reuse_grace_s)
            if replacement is not None:
                # Spent moments ago and its replacement never used: the answer was lost (a
                # reload aborted the request), not stolen. Hand out a fresh pair in place of
                # the unused replacement, so the session still has one live refresh token.
                reused = False
                accounts.spend_refresh_token(replacement, unreceived=True)
                account = accounts.get(found.user_id)
                assert account is not None
                tokens = self._issue(accounts, account, found.session_id)
            elif found.used_at is not None:
                # A spent token came back: someone holds a copy. End the whole session.
                accounts.revoke_session(found.session_id, "refresh token reused")
                reused = True
            elif found.expired:
                raise AuthError("the refresh token expired; log in again", code="token_expired")
            else:
                reused = False
                accounts.spend_refresh_token(digest)
                account = accounts.get(found.user_id)
                assert account is not None
                tokens = self._issue(accounts, account, found.session_id)
        if reused:
            log.warning("session %s revoked: a spent refresh token was presented again",
                        found.session_id)
            raise AuthError("this refresh token was already used; the session is signed out",
                            code="token_reused")
        return tokens

    def logout(self, principal: Principal) -> None:
        with unit_of_work(self.services.db) as uow:
            Accounts(uow.cur).revoke_session(principal.session_id, "logout")

    def change_password(self, principal: Principal, body: Any, *, ip: str | None = None,
                        user_agent: str | None = None) -> Tokens:
        """Check the current password, store the new one, sign out every session, and open a
        new one for the caller."""
        if not isinstance(body, dict):
            raise InputError("the body must be a JSON object")
        current = body.get("current_password")
        if not isinstance(current, str) or not current:
            raise ValidationError({"current_password": "required"})
        new = _check_password(body.get("new_password"), "new_password")
        self.limiter.hit("password", str(principal.user_id), self.settings.login_limit_account,
                         what="password attempts")
        with unit_of_work(self.services.db) as uow:
            account = Accounts(uow.cur).get(principal.user_id)
        if not self._verify(account, current[:MAX_PASSWORD]):
            raise AuthError("the current password is wrong", code="bad_credentials")
        assert account is not None
        with unit_of_work(self.services.db) as uow:
            accounts = Accounts(uow.cur)
            accounts.set_password(account.id, _hasher.hash(new), changed=True)
            revoked = accounts.revoke_all_sessions(account.id, "password changed")
            tokens = self.open_session(accounts, account, user_agent=user_agent, ip=ip)
        log.info("account %s changed its password; %d sessions signed out", account.handle,
                 revoked)
        return tokens

    def set_role(self, user_id: UUID, role: str) -> None:
        if role not in ROLES:
            raise ValidationError({"role": f"must be one of {', '.join(ROLES)}"})
        with unit_of_work(self.services.db) as uow:
            Accounts(uow.cur).set_role(user_id, role)

    # -------------------------------------------------------------------- tokens

    def authenticate(self, header: str | None) -> Principal:
        """Return who an ``Authorization: Bearer`` header speaks for."""
        if not header:
            raise AuthError("this needs an access token (Authorization: Bearer ...)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <access token>'",
                            code="invalid_token")
        try:
            claims = jwt.decode(token.strip(), self._key, algorithms=[ALGORITHM],
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "sid"]})
            user_id, session_id = UUID(claims["sub"]), UUID(claims["sid"])
        except jwt.ExpiredSignatureError:
            raise AuthError("the access token expired; refresh it", code="token_expired") \
                from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise AuthError("the access token is not valid", code="invalid_token") from None
        with unit_of_work(self.services.db) as uow:
            role = Accounts(uow.cur).session_role(session_id, user_id)
        if role is None:
            raise AuthError("this session was signed out; log in again", code="session_revoked")
        return Principal(user_id=user_id, role=role, session_id=session_id)

    def _verify(self, account: Account | None, password: str) -> bool:
        stored = account.password_hash if account is not None else None
        try:
            _hasher.verify(stored or _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored is not None

    def open_session(self, accounts: Accounts, account: Account, *, user_agent: str | None,
                     ip: str | None) -> Tokens:
        """Open a session for an account the caller has already vouched for (registration,
        login, operators' tools) and return its first tokens."""
        session_id = accounts.open_session(account.id, user_agent=user_agent, ip=ip)
        return self._issue(accounts, account, session_id)

    def _issue(self, accounts: Accounts, account: Account, session_id: UUID) -> Tokens:
        now = int(time.time())
        ttl = self.settings.access_token_ttl_s
        access = jwt.encode({"iss": ISSUER, "sub": str(account.id), "sid": str(session_id),
                             "role": account.role, "iat": now, "exp": now + ttl,
                             "jti": secrets.token_hex(8)}, self._key, algorithm=ALGORITHM)
        refresh = secrets.token_urlsafe(32)
        accounts.add_refresh_token(session_id, _hash_token(refresh),
                                   self.settings.refresh_token_ttl_s)
        return Tokens(access_token=access, refresh_token=refresh, expires_in=ttl, user=account)
