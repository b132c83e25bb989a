"""Moderation as users see it: roles, mutes until they expire, bans that kick and hold."""

from __future__ import annotations

import time

import pytest

from tests.integration.chat_support import Chat, chat_fixture  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_muted_member_cannot_send_until_the_mute_ends(chat: Chat) -> None:
    owner, ada = chat.user(), chat.user()
    o, a = chat.connect(owner), chat.connect(ada)
    room = o.ok("room.create", name="r", kind="public")["room"]["id"]
    a.ok("room.join", room_id=room)
    assert a.call("mod.mute", room_id=room, user_id=owner.id, minutes=5)["code"] == "not_allowed"
    o.ok("mod.mute", room_id=room, user_id=ada.id, minutes=0.05)  # 3 s
    assert a.call("message.send", room_id=room, body="hello")["code"] == "muted"
    assert a.ok("history", room_id=room)["messages"] == []  # a muted member still reads
    time.sleep(3.3)
    a.ok("message.send", room_id=room, body="back")


def test_a_banned_user_is_kicked_and_cannot_rejoin_or_read(chat: Chat) -> None:
    owner, ada, bob = chat.user(), chat.user(), chat.user()
    o, a, b = chat.connect(owner), chat.connect(ada), chat.connect(bob)
    room = o.ok("room.create", name="r", kind="public")["room"]["id"]
    a.ok("room.join", room_id=room)
    b.ok("room.join", room_id=room)
    o.ok("mod.ban", room_id=room, user_id=ada.id)
    assert a.expect("room.banned") == {"type": "room.banned", "room_id": room}
    ack = b.ok("message.send", room_id=room, body="after the ban")
    o.expect("message", id=ack["id"])
    a.nothing("message", wait=0.3)
    assert a.call("room.join", room_id=room)["code"] == "banned"
    assert a.call("history", room_id=room)["code"] == "banned"
    assert a.call("message.send", room_id=room, body="let me in")["code"] == "banned"
    o.ok("mod.unban", room_id=room, user_id=ada.id)
    a.ok("room.join", room_id=room)


def test_roles_owner_appoints_moderators_who_may_ban_members(chat: Chat) -> None:
    owner, mod, ada = chat.user(), chat.user(), chat.user()
    o, m, a = chat.connect(owner), chat.connect(mod), chat.connect(ada)
    room = o.ok("room.create", name="r", kind="public")["room"]["id"]
    m.ok("room.join", room_id=room)
    a.ok("room.join", room_id=room)
    assert m.call("mod.ban", room_id=room, user_id=ada.id)["code"] == "not_allowed"
    assert m.call("room.role", room_id=room, user_id=mod.id,
                  role="moderator")["code"] == "not_allowed"
    o.ok("room.role", room_id=room, user_id=mod.id, role="moderator")
    assert m.call("mod.ban", room_id=room, user_id=owner.id)["code"] == "not_allowed"
    m.ok("mod.ban", room_id=room, user_id=ada.id)
    a.expect("room.banned")
    roles = {x["id"]: x["role"] for x in o.ok("room.members", room_id=room)["members"]}
    assert roles == {owner.id: "owner", mod.id: "moderator"}
