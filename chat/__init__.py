"""The chat service: a WebSocket gateway over rooms, messages, presence and moderation."""
