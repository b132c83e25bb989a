"""Users, tracks, renditions, jobs and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            handle        text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9_][a-z0-9_.-]{0,63}$'),
            display_name  text,
            created_at    timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE tracks (
            id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            owner_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            status             text NOT NULL DEFAULT 'queued'
                               CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
            title              text NOT NULL,
            original_filename  text,
            original_key       text,
            size_bytes         bigint CHECK (size_bytes >= 0),
            source_format      text,
            source_codec       text,
            sample_rate        integer,
            channels           integer,
            duration_s         double precision,
            metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
            error_code         text,
            error_message      text,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now(),
            ready_at           timestamptz
        );
        CREATE INDEX tracks_owner_created ON tracks (owner_id, created_at DESC);

        CREATE TABLE renditions (
            track_id           uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
            name               text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,32}$'),
            codec              text NOT NULL,
            bitrate            integer NOT NULL,
            bandwidth          integer NOT NULL,
            average_bandwidth  integer NOT NULL,
            playlist_key       text NOT NULL,
            segment_count      integer NOT NULL,
            created_at         timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (track_id, name)
        );

        CREATE TABLE jobs (
            id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            track_id       uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
            kind           text NOT NULL,
            state          text NOT NULL DEFAULT 'queued'
                           CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
            attempts       integer NOT NULL DEFAULT 0,
            progress       smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
            error_code     text,
            error_message  text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now(),
            started_at     timestamptz,
            finished_at    timestamptz
        );
        CREATE INDEX jobs_track ON jobs (track_id);
        CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN ('queued', 'running');

        CREATE TABLE outbox (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            task          text NOT NULL,
            payload       jsonb NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            published_at  timestamptz,
            attempts      integer NOT NULL DEFAULT 0,
            last_error    text
        );
        CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE outbox, jobs, renditions, tracks, users")
