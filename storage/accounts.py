"""SQL for accounts: credentials, roles, sessions and refresh tokens (see migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg2.errors
from psycopg2.extras import RealDictCursor

from veza.errors import ConflictError


@dataclass(frozen=True)
class Account:
    id: UUID
    handle: str
    display_name: str | None
    email: str | None
    role: str
    password_hash: str | None
    created_at: datetime


@dataclass(frozen=True)
class RefreshToken:
    session_id: UUID
    user_id: UUID
    expires_at: datetime
    used_at: datetime | None
    session_revoked_at: datetime | None
    expired: bool


_ACCOUNT = "id, handle, display_name, email, role, password_hash, created_at"


class Accounts:
    """Accounts over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def create(self, *, handle: str, email: str, password_hash: str, role: str,
               display_name: str | None) -> Account:
        """Insert an account; ConflictError names the handle or email already taken."""
        try:
            self.cur.execute("SAVEPOINT account_create")
            self.cur.execute(
                f"""
                INSERT INTO users (handle, email, password_hash, role, display_name)
                VALUES (%s, %s, %s, %s, %s)
                RETURNING {_ACCOUNT}
                """,
                (handle, email, password_hash, role, display_name),
            )
        except psycopg2.errors.UniqueViolation as exc:
            self.cur.execute("ROLLBACK TO SAVEPOINT account_create")
            field = "email" if "email" in str(exc) else "handle"
            raise ConflictError(f"that {field} is already taken", field=field) from None
        return Account(**self.cur.fetchone())

    def get(self, user_id: UUID, *, for_update: bool = False) -> Account | None:
        lock = " FOR UPDATE" if for_update else ""
        self.cur.execute(f"SELECT {_ACCOUNT} FROM users WHERE id = %s{lock}", (user_id,))
        row = self.cur.fetchone()
        return Account(**row) if row else None

    def find(self, login: str) -> Account | None:
        """Return the account whose handle or email is ``login`` (already lower-cased)."""
        self.cur.execute(f"SELECT {_ACCOUNT} FROM users WHERE handle = %s OR email = %s",
                         (login, login))
        row = self.cur.fetchone()
        return Account(**row) if row else None

    def set_password(self, user_id: UUID, password_hash: str, *, changed: bool) -> None:
        """Store a new hash; ``changed`` False for a rehash of the same password."""
        stamp = ", password_changed_at = now()" if changed else ""
        self.cur.execute(f"UPDATE users SET password_hash = %s{stamp} WHERE id = %s",
                         (password_hash, user_id))

    def set_role(self, user_id: UUID, role: str) -> None:
        self.cur.execute("UPDATE users SET role = %s WHERE id = %s", (role, user_id))

    # ------------------------------------------------------------------ sessions

    def open_session(self, user_id: UUID, *, user_agent: str | None, ip: str | None) -> UUID:
        self.cur.execute(
            "INSERT INTO sessions (user_id, user_agent, ip) VALUES (%s, %s, %s) RETURNING id",
            (user_id, (user_agent or "")[:300] or None, ip),
        )
        return UUID(str(self.cur.fetchone()["id"]))

    def session_role(self, session_id: UUID, user_id: UUID) -> str | None:
        """Return the user's role if the session is theirs and not revoked, else None."""
        self.cur.execute(
            """
            SELECT u.role FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = %s AND s.user_id = %s AND s.revoked_at IS NULL
            """,
            (session_id, user_id),
        )
        row = self.cur.fetchone()
        return None if row is None else str(row["role"])

    def revoke_session(self, session_id: UUID, reason: str) -> None:
        self.cur.execute(
            """
            UPDATE sessions SET revoked_at = now(), revoked_reason = %s
            WHERE id = %s AND revoked_at IS NULL
            """,
            (reason, session_id),
        )

    def revoke_all_sessions(self, user_id: UUID, reason: str) -> int:
        self.cur.execute(
            """
            UPDATE sessions SET revoked_at = now(), revoked_reason = %s
            WHERE user_id = %s AND revoked_at IS NULL
            """,
            (reason, user_id),
        )
        return int(self.cur.rowcount)

    # ------------------------------------------------------------- refresh tokens

    def add_refresh_token(self, session_id: UUID, token_hash: bytes, ttl_s: int) -> None:
        self.cur.execute(
            """
            INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
            VALUES (%s, %s, now() + make_interval(secs => %s))
            """,
            (token_hash, session_id, ttl_s),
        )

    def refresh_token(self, token_hash: bytes) -> RefreshToken | None:
        """Return the token and its session, locked for this transaction."""
        self.cur.execute(
            """
            SELECT t.session_id, s.user_id, t.expires_at, t.used_at,
                   s.revoked_at AS session_revoked_at, t.expires_at <= now() AS expired
            FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
            WHERE t.token_hash = %s
            FOR UPDATE OF t, s
            """,
            (token_hash,),
        )
        row = self.cur.fetchone()
        return RefreshToken(**row) if row else None

    def spend_refresh_token(self, token_hash: bytes, *, unreceived: bool = False) -> None:
        """Mark a token spent; ``unreceived`` for a replacement whose answer never arrived: it
        counts as spent when issued, so nothing replaced it and it gets no grace of its own."""
        used_at = "issued_at" if unreceived else "now()"
        self.cur.execute(f"UPDATE refresh_tokens SET used_at = {used_at} WHERE token_hash = %s",
                         (token_hash,))
        self.cur.execute(
            """
            UPDATE sessions SET last_used_at = now()
            WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = %s)
            """,
            (token_hash,),
        )

    def unused_replacement(self, token_hash: bytes, grace_s: int) -> bytes | None:
        """The hash of the token that replaced a spent one, if the spent one was spent less than
        ``grace_s`` seconds ago and its replacement has never been used; locked for this
        transaction. A refresh spends one token and issues the next in one transaction, so the
        replacement is the session's token issued at the very time the spent one was used."""
        if grace_s <= 0:
            return None
        self.cur.execute(
            """
            SELECT r.token_hash
            FROM refresh_tokens t
            JOIN refresh_tokens r ON r.session_id = t.session_id AND r.issued_at = t.used_at
            WHERE t.token_hash = %s AND t.used_at > now() - make_interval(secs => %s)
              AND r.used_at IS NULL AND r.expires_at > now()
            FOR UPDATE OF r
            """,
            (token_hash, grace_s),
        )
        row = self.cur.fetchone()
        return None if row is None else bytes(row["token_hash"])
