"""Leases on running jobs, so a job whose worker died is taken over.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE jobs
            ADD COLUMN lease_expires_at timestamptz,
            ADD COLUMN worker text;
        CREATE INDEX jobs_expired_leases ON jobs (lease_expires_at) WHERE state = 'running';
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX jobs_expired_leases;"
               " ALTER TABLE jobs DROP COLUMN lease_expires_at, DROP COLUMN worker")
