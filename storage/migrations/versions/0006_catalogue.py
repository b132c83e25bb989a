"""The catalogue: track metadata and visibility, search, profiles, follows, likes, playlists
and plays.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ------------------------------------------------------------ track metadata
    op.execute(
        """
        ALTER TABLE tracks
            ADD COLUMN artist       text CHECK (length(artist) <= 200),
            ADD COLUMN album        text CHECK (length(album) <= 200),
            ADD COLUMN genre        text CHECK (length(genre) <= 100),
            ADD COLUMN tags         text[] NOT NULL DEFAULT '{}'
                                    CHECK (cardinality(tags) <= 20),
            ADD COLUMN description  text CHECK (length(description) <= 5000),
            ADD COLUMN visibility   text NOT NULL DEFAULT 'public'
                                    CHECK (visibility IN ('public', 'unlisted', 'private')),
            ADD COLUMN cover_key    text;
        CREATE INDEX tracks_public_created ON tracks (created_at DESC, id DESC)
            WHERE visibility = 'public';
        """
    )
    # ------------------------------------------------------------------- search
    # Filters read the analysis through generated columns, so they can be indexed; the text
    # search vector weighs the title above the artist above the tags.
    op.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE FUNCTION veza_words(text[]) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT array_to_string($1, ' ') $$;
        ALTER TABLE tracks
            ADD COLUMN tempo_bpm double precision
                GENERATED ALWAYS AS ((analysis ->> 'tempo_bpm')::double precision) STORED,
            ADD COLUMN musical_key text
                GENERATED ALWAYS AS (analysis ->> 'key') STORED,
            ADD COLUMN loudness_lufs double precision
                GENERATED ALWAYS AS
                    ((analysis -> 'loudness' ->> 'integrated_lufs')::double precision) STORED,
            ADD COLUMN search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') ||
                setweight(to_tsvector('simple'::regconfig, coalesce(artist, '')), 'B') ||
                setweight(to_tsvector('simple'::regconfig, coalesce(veza_words(tags), '')), 'C')
            ) STORED;
        CREATE INDEX tracks_search ON tracks USING gin (search);
        CREATE INDEX tracks_title_trgm ON tracks USING gin (lower(title) gin_trgm_ops);
        CREATE INDEX tracks_artist_trgm ON tracks USING gin (lower(artist) gin_trgm_ops);
        CREATE INDEX tracks_tempo ON tracks (tempo_bpm) WHERE visibility = 'public';
        CREATE INDEX tracks_key ON tracks (musical_key) WHERE visibility = 'public';
        CREATE INDEX tracks_loudness ON tracks (loudness_lufs) WHERE visibility = 'public';
        CREATE INDEX tracks_duration ON tracks (duration_s) WHERE visibility = 'public';
        """
    )
    # ------------------------------------------------------------------- social
    op.execute(
        """
        ALTER TABLE users
            ADD COLUMN bio         text CHECK (length(bio) <= 2000),
            ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

        CREATE TABLE follows (
            follower_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            followee_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (follower_id, followee_id),
            CHECK (follower_id <> followee_id)
        );
        CREATE INDEX follows_followee ON follows (followee_id, created_at DESC);
        -- Following lists page newest first by (created_at, id).
        CREATE INDEX follows_follower ON follows (follower_id, created_at DESC, followee_id DESC);

        CREATE TABLE track_likes (
            user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            track_id    uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, track_id)
        );
        CREATE INDEX track_likes_track ON track_likes (track_id);
        -- A listener's liked tracks page newest first by (created_at, id).
        CREATE INDEX track_likes_user ON track_likes (user_id, created_at DESC, track_id DESC);

        CREATE TABLE playlists (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            description  text CHECK (length(description) <= 5000),
            visibility   text NOT NULL DEFAULT 'public'
                         CHECK (visibility IN ('public', 'unlisted', 'private')),
            created_at   timestamptz NOT NULL DEFAULT now(),
            updated_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX playlists_owner ON playlists (owner_id, created_at DESC);

        CREATE TABLE playlist_items (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            playlist_id  uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
            track_id     uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
            position     integer NOT NULL CHECK (position >= 0),
            added_at     timestamptz NOT NULL DEFAULT now(),
            -- Deferred, so a reorder can move every position in one transaction.
            UNIQUE (playlist_id, position) DEFERRABLE INITIALLY DEFERRED
        );
        CREATE INDEX playlist_items_track ON playlist_items (track_id);

        CREATE TABLE playlist_likes (
            user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            playlist_id  uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, playlist_id)
        );
        CREATE INDEX playlist_likes_playlist ON playlist_likes (playlist_id);
        """
    )
    # -------------------------------------------------------------------- plays
    # One row per listening session: a listener (an account, or an anonymous client's key)
    # fetching a track again within the session window extends the row instead of adding one.
    op.execute(
        """
        CREATE TABLE plays (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            track_id      uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
            listener_id   uuid REFERENCES users (id) ON DELETE SET NULL,
            listener_key  text NOT NULL,
            started_at    timestamptz NOT NULL DEFAULT now(),
            last_seen_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX plays_listener_track ON plays (listener_key, track_id, last_seen_at DESC);
        CREATE INDEX plays_history ON plays (listener_id, started_at DESC)
            WHERE listener_id IS NOT NULL;
        CREATE INDEX plays_track ON plays (track_id, started_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE plays;
        DROP TABLE playlist_likes;
        DROP TABLE playlist_items;
        DROP TABLE playlists;
        DROP TABLE track_likes;
        DROP TABLE follows;
        ALTER TABLE users DROP COLUMN updated_at, DROP COLUMN bio;
        DROP INDEX tracks_duration, tracks_loudness, tracks_key, tracks_tempo,
            tracks_artist_trgm, tracks_title_trgm, tracks_search, tracks_public_created;
        ALTER TABLE tracks DROP COLUMN search, DROP COLUMN loudness_lufs, DROP COLUMN musical_key,
            DROP COLUMN tempo_bpm, DROP COLUMN cover_key, DROP COLUMN visibility,
            DROP COLUMN description, DROP COLUMN tags, DROP COLUMN genre, DROP COLUMN album,
            DROP COLUMN artist;
        DROP FUNCTION veza_words(text[]);
        """
    )
