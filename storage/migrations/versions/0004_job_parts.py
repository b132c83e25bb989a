"""Parts of a job encoded in parallel, and the job's plan and one-time finalisation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE jobs
            ADD COLUMN plan jsonb,
            ADD COLUMN part_count integer CHECK (part_count > 0),
            ADD COLUMN finalised_at timestamptz;
        COMMENT ON COLUMN jobs.plan IS
            'how a long track is cut into parts: ladder, segment and sample ranges, analysis';
        COMMENT ON COLUMN jobs.finalised_at IS
            'set once, by the one delivery that publishes the stitched playlists';

        CREATE TABLE job_parts (
            job_id            uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            index             integer NOT NULL CHECK (index >= 0),
            first_segment     integer NOT NULL CHECK (first_segment >= 1),
            segment_count     integer NOT NULL CHECK (segment_count >= 1),
            start_sample      bigint NOT NULL CHECK (start_sample >= 0),
            end_sample        bigint NOT NULL,
            state             text NOT NULL DEFAULT 'queued'
                              CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
            attempts          integer NOT NULL DEFAULT 0,
            worker            text,
            lease_expires_at  timestamptz,
            result            jsonb,
            error_code        text,
            error_message     text,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            started_at        timestamptz,
            finished_at       timestamptz,
            PRIMARY KEY (job_id, index),
            CHECK (end_sample > start_sample)
        );
        CREATE INDEX job_parts_expired_leases ON job_parts (lease_expires_at)
            WHERE state = 'running';
        COMMENT ON COLUMN job_parts.start_sample IS
            'first sample of the part on the 48 kHz output timeline (segment boundary)';
        COMMENT ON COLUMN job_parts.result IS
            'per rendition: segment sizes (bytes) and durations (s) the part wrote';
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE job_parts;"
        " ALTER TABLE jobs DROP COLUMN finalised_at, DROP COLUMN part_count, DROP COLUMN plan"
    )
