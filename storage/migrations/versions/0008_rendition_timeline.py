"""Renditions: the timeline a gapless player needs, the priming and the exact length after it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: renditions recorded before, and those of a track still being encoded, do not
    # know their length.
    op.execute(
        """
        ALTER TABLE renditions
            ADD COLUMN priming_samples integer CHECK (priming_samples >= 0),
            ADD COLUMN samples bigint CHECK (samples > 0);
        COMMENT ON COLUMN renditions.priming_samples IS
            'samples (48 kHz) of encoder priming that start the timeline, before the audio';
        COMMENT ON COLUMN renditions.samples IS
            'samples (48 kHz) of audio after the priming, exactly; null when unknown';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE renditions DROP COLUMN samples, DROP COLUMN priming_samples")
