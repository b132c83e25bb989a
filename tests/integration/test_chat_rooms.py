"""Rooms as users see them: messages reach members, history, private and direct rooms, resends,
edits, reactions, typing, presence, mentions, read markers, track rooms and listening rooms."""

from __future__ import annotations

import pytest

from chat.local import LocalPresence
from tests.integration.chat_support import Chat, chat_fixture  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_message_reaches_every_members_sockets_and_the_sender_gets_its_id(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    ada1, ada2, bob1 = chat.connect(ada), chat.connect(ada), chat.connect(bob)
    room = ada1.ok("room.create", name="lobby", kind="public", topic="hi")["room"]
    assert room["kind"] == "public" and room["name"] == "lobby"
    joined = bob1.ok("room.join", room_id=room["id"])
    assert joined["room"]["id"] == room["id"] and ada.id in joined["online"]
    ack = bob1.ok("message.send", room_id=room["id"], body="hello @" + ada.handle, cid="m-1")
    stored = chat.services.db.execute("SELECT body FROM chat_messages WHERE id = %s",
                                      (ack["id"],))
    assert stored == [{"body": "hello @" + ada.handle}]  # acked only once durable
    for client in (ada1, ada2, bob1):
        message = client.expect("message", id=ack["id"])
        assert message["author"] == {"id": bob.id, "handle": bob.handle}
        assert message["cid"] == "m-1" and message["room_id"] == room["id"]
    assert message["mentions"] == [ada.id]


def test_history_is_newest_first_and_pages_with_before(chat: Chat) -> None:
    client = chat.connect(chat.user())
    room = client.ok("room.create", name="log", kind="public")["room"]["id"]
    ids = [client.ok("message.send", room_id=room, body=f"line {i}")["id"] for i in range(5)]
    first = client.ok("history", room_id=room, limit=2)
    assert [m["body"] for m in first["messages"]] == ["line 4", "line 3"]
    assert first["next_before"] == ids[3]
    second = client.ok("history", room_id=room, limit=2, before=first["next_before"])
    assert [m["id"] for m in second["messages"]] == [ids[2], ids[1]]
    last = client.ok("history", room_id=room, before=ids[1])
    assert [m["id"] for m in last["messages"]] == [ids[0]] and last["next_before"] is None


def test_a_private_room_is_for_its_members_and_those_invited(chat: Chat) -> None:
    owner, guest, stranger = chat.user(), chat.user(), chat.user()
    o, g, s = chat.connect(owner), chat.connect(guest), chat.connect(stranger)
    room = o.ok("room.create", name="secret", kind="private")["room"]["id"]
    o.ok("message.send", room_id=room, body="for members")
    assert s.call("room.join", room_id=room)["code"] == "not_found"
    assert s.call("history", room_id=room)["code"] == "not_found"
    assert s.call("message.send", room_id=room, body="hi")["code"] == "not_found"
    assert s.call("room.invite", room_id=room, user_id=stranger.id)["code"] == "not_found"
    o.ok("room.invite", room_id=room, user_id=guest.id)
    added = g.expect("room.added")
    assert added["room"]["id"] == room
    assert [m["body"] for m in g.ok("history", room_id=room)["messages"]] == ["for members"]
    ack = g.ok("message.send", room_id=room, body="thanks")
    o.expect("message", id=ack["id"])


def test_direct_messages_between_two_users(chat: Chat) -> None:
    ada, bob, eve = chat.user(), chat.user(), chat.user()
    a, b, e = chat.connect(ada), chat.connect(bob), chat.connect(eve)
    room = a.ok("dm.open", user_id=bob.id)["room"]
    assert room["kind"] == "direct"
    assert b.ok("dm.open", user_id=ada.id)["room"]["id"] == room["id"]
    ack = a.ok("message.send", room_id=room["id"], body="psst")
    assert b.expect("message", id=ack["id"])["body"] == "psst"
    assert e.call("history", room_id=room["id"])["code"] == "not_found"
    assert a.call("dm.open", user_id=ada.id)["code"] == "invalid"


def test_a_resent_cid_makes_one_message_with_the_same_id(chat: Chat) -> None:
    user = chat.user()
    client = chat.connect(user)
    room = client.ok("room.create", name="r", kind="public")["room"]["id"]
    first = client.ok("message.send", room_id=room, body="once", cid="same")
    again = client.ok("message.send", room_id=room, body="once", cid="same")
    client.close()
    reconnected = chat.connect(user)  # as after a dropped connection
    third = reconnected.ok("message.send", room_id=room, body="once", cid="same")
    assert first["id"] == again["id"] == third["id"]
    count = chat.services.db.execute("SELECT count(*) AS n FROM chat_messages")
    assert count == [{"n": 1}]


def test_edit_own_message_but_not_anothers_and_a_moderator_deletes_any(chat: Chat) -> None:
    owner, ada, bob = chat.user(), chat.user(), chat.user()
    o, a, b = chat.connect(owner), chat.connect(ada), chat.connect(bob)
    room = o.ok("room.create", name="r", kind="public")["room"]["id"]
    a.ok("room.join", room_id=room)
    b.ok("room.join", room_id=room)
    mine = a.ok("message.send", room_id=room, body="typo")["id"]
    a.ok("message.edit", id=mine, body="fixed")
    assert b.expect("message.edited", id=mine)["body"] == "fixed"
    assert b.call("message.edit", id=mine, body="mine now")["code"] == "not_allowed"
    assert b.call("message.delete", id=mine)["code"] == "not_allowed"
    o.ok("message.delete", id=mine)
    assert b.expect("message.deleted", id=mine)["deleted_by"] == owner.id
    shown = o.ok("history", room_id=room)["messages"][0]
    assert shown["deleted"] is True and shown["body"] is None


def test_reactions_reach_the_room_and_history(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    room = a.ok("room.create", name="r", kind="public")["room"]["id"]
    b.ok("room.join", room_id=room)
    message = a.ok("message.send", room_id=room, body="react to me")["id"]
    b.ok("reaction.add", id=message, emoji="🔥")
    assert a.expect("reaction", id=message) == {
        "type": "reaction", "room_id": room, "id": message, "user_id": bob.id, "emoji": "🔥",
        "on": True}
    assert a.ok("history", room_id=room)["messages"][0]["reactions"] == {"🔥": [bob.id]}
    b.ok("reaction.remove", id=message, emoji="🔥")
    assert a.expect("reaction", id=message)["on"] is False
    assert a.ok("history", room_id=room)["messages"][0]["reactions"] == {}


def test_typing_is_forwarded_at_most_once_in_three_seconds(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    room = a.ok("room.create", name="r", kind="public")["room"]["id"]
    b.ok("room.join", room_id=room)
    a.send({"type": "typing", "room_id": room})
    assert b.expect("typing") == {"type": "typing", "room_id": room, "user_id": ada.id}
    a.send({"type": "typing", "room_id": room})
    b.nothing("typing", wait=1.0)


def test_presence_online_away_offline_and_members_with_states(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    room = a.ok("room.create", name="r", kind="public")["room"]["id"]
    b.ok("room.join", room_id=room)
    members = {m["id"]: m for m in a.ok("room.members", room_id=room)["members"]}
    assert members[ada.id]["role"] == "owner" and members[bob.id]["state"] == "online"
    b.send({"type": "presence.set", "state": "away"})
    assert a.expect("presence", user_id=bob.id)["state"] == "away"
    states = {m["id"]: m["state"] for m in a.ok("room.members", room_id=room)["members"]}
    assert states[bob.id] == "away"
    b.close()
    assert a.expect("presence", user_id=bob.id)["state"] == "offline"
    states = {m["id"]: m["state"] for m in a.ok("room.members", room_id=room)["members"]}
    assert states[bob.id] == "offline"


def test_presence_expires_without_heartbeats() -> None:
    import asyncio

    async def scenario() -> tuple[dict[str, str], dict[str, str], list[str]]:
        presence = LocalPresence()
        # A connection of another gateway process that died: nobody renews it.
        await presence.heartbeat("u1", "c1", "online", ["r1"], ttl_s=0.3)
        before = await presence.states(["u1"])
        await asyncio.sleep(0.5)
        return before, await presence.states(["u1"]), await presence.in_room("r1")

    before, after, in_room = asyncio.run(scenario())
    assert before == {"u1": "online"} and after == {"u1": "offline"} and in_room == []


def test_a_mention_notifies_the_user_even_outside_the_room(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    room = a.ok("room.create", name="r", kind="public")["room"]["id"]
    ack = a.ok("message.send", room_id=room, body=f"ping @{bob.handle} and @nobody-here")
    mention = b.expect("mention")
    assert mention["room_id"] == room and mention["message"]["id"] == ack["id"]
    b.nothing("message", wait=0.3)  # not in the room: the mention only


def test_read_markers_and_unread_counts(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    a, b = chat.connect(ada), chat.connect(bob)
    room = a.ok("room.create", name="r", kind="public")["room"]["id"]
    b.ok("room.join", room_id=room)
    ids = [a.ok("message.send", room_id=room, body=body)["id"]
           for body in ("one", f"two @{bob.handle}", "three")]
    assert b.ok("unread")["rooms"] == [{"room_id": room, "unread": 3, "mentions": 1}]
    b.ok("read", room_id=room, up_to=ids[1])
    assert b.ok("unread")["rooms"] == [{"room_id": room, "unread": 1, "mentions": 0}]
    b.ok("read", room_id=room, up_to=ids[0])  # a marker never moves back
    assert b.ok("unread")["rooms"][0]["unread"] == 1
    assert a.ok("unread")["rooms"] == [{"room_id": room, "unread": 0, "mentions": 0}]


def test_a_track_room_follows_the_tracks_visibility(chat: Chat) -> None:
    owner, fan = chat.user(), chat.user()
    o, f = chat.connect(owner), chat.connect(fan)
    public, private = chat.track(owner), chat.track(owner, "private")
    room = f.ok("room.join", track_id=public)["room"]
    assert room["kind"] == "track" and room["track_id"] == public
    assert o.ok("room.join", track_id=public)["room"]["id"] == room["id"]
    assert f.call("room.join", track_id=private)["code"] == "not_found"
    assert o.ok("room.join", track_id=private)["room"]["track_id"] == private
    ack = f.ok("message.send", room_id=room["id"], body="the drop!", track_ms=61_500)
    comment = o.expect("message", id=ack["id"])
    assert comment["track_ms"] == 61_500
    assert o.ok("history", room_id=room["id"])["messages"][0]["track_ms"] == 61_500


def test_a_listening_room_follows_its_host(chat: Chat) -> None:
    host, guest, late = chat.user(), chat.user(), chat.user()
    h, g = chat.connect(host), chat.connect(guest)
    track = chat.track(host)
    room = h.ok("room.join", track_id=track)["room"]["id"]
    g.ok("room.join", room_id=room)
    h.ok("listen.control", room_id=room, action="play", position_ms=0)
    assert g.expect("listen")["action"] == "play"
    h.ok("listen.control", room_id=room, action="seek", position_ms=42_000)
    seek = g.expect("listen", action="seek")
    assert seek["position_ms"] == 42_000 and seek["host_id"] == host.id
    assert seek["track_id"] == track
    assert g.call("listen.control", room_id=room, action="pause",
                  position_ms=1)["code"] == "not_allowed"
    state = chat.connect(late).ok("room.join", room_id=room)["listening"]
    assert state["action"] == "seek" and state["position_ms"] == 42_000


def test_track_events_reach_the_uploaders_sockets_only(chat: Chat) -> None:
    owner, other = chat.user(), chat.user()
    o, x = chat.connect(owner), chat.connect(other)
    track = chat.track(owner)
    event = {"schema": 1, "type": "track.ready", "track_id": track, "job_id": None,
             "at": "2026-11-25T00:00:00+00:00"}
    chat.thread.deliver_track_event("track.ready", event)
    got = o.expect("track.ready")
    assert got["track_id"] == track
    x.nothing("track.ready", wait=0.3)
