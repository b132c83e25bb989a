"""Accounts: passwords, roles, and sessions with rotating refresh tokens.

A session is one login on one device: its refresh tokens form a family. Each refresh spends a token
and issues the next one; a spent token presented again revokes the whole session (RFC 9700,
refresh-token rotation with reuse detection).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE users
            ADD COLUMN email          text UNIQUE CHECK (email = lower(email)),
            ADD COLUMN password_hash  text,
            ADD COLUMN role           text NOT NULL DEFAULT 'artist'
                                      CHECK (role IN ('listener', 'artist', 'admin')),
            ADD COLUMN password_changed_at timestamptz;

        CREATE TABLE sessions (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz NOT NULL DEFAULT now(),
            user_agent  text,
            ip          text,
            revoked_at  timestamptz,
            revoked_reason text
        );
        CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

        CREATE TABLE refresh_tokens (
            token_hash  bytea PRIMARY KEY,
            session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            issued_at   timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL,
            used_at     timestamptz
        );
        CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE refresh_tokens;
        DROP TABLE sessions;
        ALTER TABLE users DROP COLUMN password_changed_at, DROP COLUMN role,
            DROP COLUMN password_hash, DROP COLUMN email;
        """
    )
