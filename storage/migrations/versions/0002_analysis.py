"""Analysis results on tracks, and when a track became playable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE tracks
            ADD COLUMN playable_at timestamptz,
            ADD COLUMN analysis jsonb;
        COMMENT ON COLUMN tracks.playable_at IS
            'first master playlist published: listeners may start while processing goes on';
        COMMENT ON COLUMN tracks.analysis IS
            'loudness, gain, tempo, key, cue points (the same as analysis/{id}/analysis.json)';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE tracks DROP COLUMN playable_at, DROP COLUMN analysis")
