"""Chat: rooms (public, private, direct, one per track), members with roles, read markers,
mutes and bans, messages with reactions, edits and deletes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE chat_rooms (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            kind         text NOT NULL CHECK (kind IN ('public', 'private', 'direct', 'track')),
            name         text CHECK (length(name) BETWEEN 1 AND 100),
            topic        text CHECK (length(topic) <= 500),
            -- A track's room: one per track, made on first use, gone with the track.
            track_id     uuid UNIQUE REFERENCES tracks (id) ON DELETE CASCADE,
            -- A direct room's two members as 'smaller-uuid:larger-uuid', so a pair has one room.
            direct_key   text UNIQUE,
            created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            -- The last play/pause/seek of a listening room's host, for those who join later.
            listening    jsonb,
            CHECK ((kind = 'track') = (track_id IS NOT NULL)),
            CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
        );

        CREATE TABLE chat_members (
            room_id       uuid NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
            user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            role          text NOT NULL DEFAULT 'member'
                          CHECK (role IN ('owner', 'moderator', 'member')),
            joined_at     timestamptz NOT NULL DEFAULT now(),
            -- Moderation: a muted member reads but cannot post until then; a banned user is
            -- kept here (so a ban holds on public rooms too) and may neither read nor post.
            muted_until   timestamptz,
            banned_at     timestamptz,
            banned_by     uuid REFERENCES users (id) ON DELETE SET NULL,
            -- Read marker: the newest message id (time-ordered) this member has read.
            last_read_id  uuid,
            PRIMARY KEY (room_id, user_id)
        );
        CREATE INDEX chat_members_user ON chat_members (user_id) WHERE banned_at IS NULL;

        -- Messages arrive through the archiver, possibly more than once: ids are time-ordered
        -- UUIDs (v7) made by the gateway, and a client's retry of the same client id by the
        -- same author maps to the first one.
        CREATE TABLE chat_messages (
            id          uuid PRIMARY KEY,
            room_id     uuid NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
            author_id   uuid REFERENCES users (id) ON DELETE SET NULL,
            client_id   text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
            body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
            -- A timestamped comment: where in the room's track (milliseconds) it refers to.
            track_ms    integer CHECK (track_ms >= 0),
            reply_to    uuid,
            mentions    uuid[] NOT NULL DEFAULT '{}',
            created_at  timestamptz NOT NULL,
            edited_at   timestamptz,
            deleted_at  timestamptz,
            deleted_by  uuid,
            UNIQUE (author_id, client_id)
        );
        CREATE INDEX chat_messages_room ON chat_messages (room_id, id DESC);
        CREATE INDEX chat_messages_mentions ON chat_messages USING gin (mentions)
            WHERE deleted_at IS NULL;

        CREATE TABLE chat_reactions (
            message_id  uuid NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
            user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            emoji       text NOT NULL CHECK (length(emoji) BETWEEN 1 AND 32),
            created_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (message_id, user_id, emoji)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE chat_reactions;
        DROP TABLE chat_messages;
        DROP TABLE chat_members;
        DROP TABLE chat_rooms;
        """
    )
