"""Who may act in a room, against a real gateway: a track's room follows the track's access as
it changes, and ids of rooms one may not see are refused as if they did not exist."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

import pytest

from chat.rooms import TRACK_TTL_S
from tasks.engine import TaskEngine
from tasks.events import EventPublisher
from tasks.outbox import OutboxRelay
from tests.integration.chat_support import Chat, Client, User, chat_fixture, chat_settings  # noqa: F401
from veza import catalogue

pytestmark = pytest.mark.integration


def _make_private(chat: Chat, owner: User, track: str) -> None:
    """Change the track's visibility as the API's PATCH does (the event waits in the outbox)."""
    who = chat.accounts.authenticate(f"Bearer {owner.token}")
    catalogue.update(chat.services, UUID(track), who, {"visibility": "private"})


def _public_track_room(chat: Chat) -> tuple[User, User, Client, Client, str, str]:
    owner, fan = chat.user(), chat.user()
    o, f = chat.connect(owner), chat.connect(fan)
    track = chat.track(owner)
    room = f.ok("room.join", track_id=track)["room"]["id"]
    o.ok("room.join", room_id=room)
    f.ok("message.send", room_id=room, body="love this one")
    f.expect("message", room_id=room)
    return owner, fan, o, f, track, room


def _shut_out(chat: Chat, fan: User, f: Client, room: str) -> None:
    """What a member who may no longer see the track sees."""
    assert f.expect("room.removed", room_id=room)["reason"] == "the track is private now"
    assert f.call("message.send", room_id=room, body="still here?")["code"] == "not_found"
    assert f.call("history", room_id=room)["code"] == "not_found"
    assert f.call("room.join", room_id=room)["code"] == "not_found"
    assert f.ok("unread")["rooms"] == []
    assert room not in chat.connect(fan).welcome["rooms"]


def test_making_a_track_private_removes_and_tells_the_members_at_once(chat: Chat) -> None:
    owner, fan, o, f, track, room = _public_track_room(chat)
    # As `veza up` wires it: the outbox relay hands events to the gateway in process.
    publisher = EventPublisher(None)
    publisher.subscribe(chat.thread.deliver_track_event)
    relay = OutboxRelay(chat.services.db, TaskEngine.from_url(None, {}), events=publisher)
    _make_private(chat, owner, track)
    assert relay.relay_once() == 1
    left = o.expect("member", room_id=room, left=True)
    assert left["user"]["id"] == fan.id
    _shut_out(chat, fan, f, room)
    # The owner keeps the room; the fan's socket no longer receives it.
    ack = o.ok("message.send", room_id=room, body="just for me now")
    assert [m["id"] for m in o.ok("history", room_id=room)["messages"]][0] == ack["id"]
    f.nothing("message", wait=0.3)
    assert room in chat.connect(owner).welcome["rooms"]


def test_without_the_event_every_read_and_write_checks_the_tracks_visibility(
    chat: Chat,
) -> None:
    owner, fan, o, f, track, room = _public_track_room(chat)
    _make_private(chat, owner, track)  # no relay runs: the event never arrives
    # Before any gateway has acted on it, a new socket is not given the room.
    later = chat.connect(fan)
    assert room not in later.welcome["rooms"] and later.ok("unread")["rooms"] == []
    time.sleep(TRACK_TTL_S + 0.2)
    assert f.call("history", room_id=room)["code"] == "not_found"
    _shut_out(chat, fan, f, room)
    # Made visible again, the room is open to join like any track's room.
    chat.services.db.execute("UPDATE tracks SET visibility = 'unlisted' WHERE id = %s",
                             (track,))
    time.sleep(TRACK_TTL_S + 0.2)
    f.ok("room.join", room_id=room)
    f.ok("message.send", room_id=room, body="back again")


def test_a_track_visibility_event_through_the_broker_reaches_the_gateway(
    database_url: str, broker_url: str, key_prefix: str, tmp_path: Path,
) -> None:
    chat = Chat(chat_settings(database_url, tmp_path, broker_url=broker_url,
                              queue_prefix=key_prefix))
    publisher = EventPublisher(broker_url)
    try:
        owner, fan = chat.user(), chat.user()
        o, f = chat.connect(owner), chat.connect(fan)
        track = chat.track(owner)
        room = f.ok("room.join", track_id=track)["room"]["id"]
        o.ok("room.join", room_id=room)
        relay = OutboxRelay(chat.services.db, TaskEngine.from_url(None, {}), events=publisher)
        _make_private(chat, owner, track)
        assert relay.relay_once() == 1
        # Nothing but the event can tell the gateway: neither socket sends a frame.
        assert f.expect("room.removed", room_id=room, timeout=10)["room_id"] == room
        assert o.expect("member", room_id=room, left=True)["user"]["id"] == fan.id
    finally:
        publisher.close()
        chat.close()


def test_reply_to_and_read_up_to_must_be_messages_of_the_same_room(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    secret = a.ok("room.create", name="secret", kind="private")["room"]["id"]
    hidden = a.ok("message.send", room_id=secret, body="for my eyes")["id"]
    room = b.ok("room.create", name="open", kind="public")["room"]["id"]
    mine = b.ok("message.send", room_id=room, body="hello")["id"]
    error = b.call("message.send", room_id=room, body="re", reply_to=hidden)
    assert error["code"] == "not_found" and "reply_to" in error["message"]
    error = b.call("read", room_id=room, up_to=hidden)
    assert error["code"] == "not_found" and "up_to" in error["message"]
    unknown = "00000000-0000-7000-8000-000000000000"
    assert b.call("read", room_id=room, up_to=unknown)["code"] == "not_found"
    assert b.ok("message.send", room_id=room, body="re", reply_to=mine)["id"]
    b.ok("read", room_id=room, up_to=mine)


@pytest.mark.parametrize(("kind", "fields"), [
    ("mod.mute", {"minutes": 5}), ("mod.ban", {}), ("mod.unban", {}),
    ("room.role", {"role": "moderator"}),
])
def test_moderating_a_private_room_from_outside_is_not_found(chat: Chat, kind: str,
                                                             fields: dict[str, object]) -> None:
    owner, member, stranger = chat.user(), chat.user(), chat.user()
    o, s = chat.connect(owner), chat.connect(stranger)
    room = o.ok("room.create", name="secret", kind="private")["room"]["id"]
    o.ok("room.invite", room_id=room, user_id=member.id)
    error = s.call(kind, room_id=room, user_id=member.id, **fields)
    assert error["code"] == "not_found", error
    assert error == {**s.call(kind, room_id="00000000-0000-4000-8000-000000000000",
                              user_id=member.id, **fields), "cid": error["cid"]}


def test_leaving_a_private_room_from_outside_is_not_found(chat: Chat) -> None:
    owner, stranger = chat.user(), chat.user()
    o, s = chat.connect(owner), chat.connect(stranger)
    room = o.ok("room.create", name="secret", kind="private")["room"]["id"]
    error = s.call("room.leave", room_id=room)
    assert error["code"] == "not_found", error
    assert error == {**s.call("room.leave", room_id="00000000-0000-4000-8000-000000000000"),
                     "cid": error["cid"]}
    o.nothing("member", wait=0.3)
    # A member leaves as before, and one who is not in a public room is told it is done.
    open_room = o.ok("room.create", name="open", kind="public")["room"]["id"]
    assert s.ok("room.leave", room_id=open_room)["room_id"] == open_room
    assert o.ok("room.leave", room_id=room)["room_id"] == room


def test_a_listening_room_host_cannot_play_a_track_they_may_not_see(chat: Chat) -> None:
    host, other, guest = chat.user(), chat.user(), chat.user()
    h, g = chat.connect(host), chat.connect(guest)
    room = h.ok("room.create", name="listening", kind="public")["room"]["id"]
    g.ok("room.join", room_id=room)
    hidden, mine = chat.track(other, "private"), chat.track(host, "private")
    error = h.call("listen.control", room_id=room, action="play", position_ms=0,
                   track_id=hidden)
    assert error["code"] == "not_found"
    g.nothing("listen", wait=0.3)
    h.ok("listen.control", room_id=room, action="play", position_ms=0, track_id=mine)
    assert g.expect("listen")["track_id"] == mine
