"""Connecting, the welcome, acks, and what a client sees for frames the gateway cannot use."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.integration.chat_support import Chat, chat_fixture, chat_settings  # noqa: F401

pytestmark = pytest.mark.integration


def _refused(url: str, **headers: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        connect(url, additional_headers=headers, open_timeout=10, legacy=True)
    return caught.value


def test_a_connection_without_a_valid_token_is_refused_before_the_upgrade(chat: Chat) -> None:
    user = chat.user()
    assert _refused(chat.url).response.status_code == 401
    bad = _refused(chat.url, Authorization="Bearer not-a-token").response
    assert bad.status_code == 401
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert json.loads(bad.body)["code"] == "invalid_token"
    key = chat.accounts._key
    claims = jwt.decode(user.token, key, algorithms=["HS256"], issuer="veza")
    claims.update(exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    expired = jwt.encode(claims, key, algorithm="HS256")
    answer = _refused(chat.url, Authorization=f"Bearer {expired}").response
    assert json.loads(answer.body)["code"] == "token_expired"
    principal = chat.accounts.authenticate(f"Bearer {user.token}")
    chat.accounts.logout(principal)
    revoked = _refused(chat.url, Authorization=f"Bearer {user.token}").response
    assert json.loads(revoked.body)["code"] == "session_revoked"


def test_health_and_a_token_in_the_query_string(chat: Chat) -> None:
    health = requests.get(f"http://127.0.0.1:{chat.port}/healthz", timeout=5)
    assert health.status_code == 200 and health.text.strip() == "ok"
    user = chat.user()
    with connect(f"{chat.url}?token={user.token}", open_timeout=10) as ws:
        welcome = json.loads(ws.recv(timeout=5))
    assert welcome["type"] == "welcome"
    assert welcome["user"] == {"id": user.id, "handle": user.handle}
    assert welcome["limits"]["max_body_chars"] == 4000
    assert welcome["heartbeat_s"] > 0 and welcome["conn_id"]


def test_ping_is_acked(chat: Chat) -> None:
    client = chat.connect(chat.user())
    assert client.call("ping", cid="p-1") == {"type": "ack", "cid": "p-1"}


@pytest.mark.parametrize(("frame", "code"), [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    (b'{"type": "ping"}', "bad_json"),
    ('{"type": "shout", "cid": "x1"}', "unknown_type"),
    ('{"type": "message.send", "cid": "x1"}', "invalid"),
    ('{"type": "message.send", "cid": "x1", "room_id": 5, "body": ["a"]}', "invalid"),
    ('{"type": "history", "cid": "x1", "room_id": "00000000-0000-0000-0000-000000000000", '
     '"limit": 1000}', "invalid"),
])
def test_a_bad_frame_gets_an_error_and_others_keep_working(chat: Chat, frame: str | bytes,
                                                            code: str) -> None:
    bad, good = chat.connect(chat.user()), chat.connect(chat.user())
    bad.send(frame)
    error = bad.expect("error")
    assert error["code"] == code, error
    if code == "invalid":
        assert error["cid"] == "x1" and error["fields"]
    assert bad.call("ping")["type"] == "ack"
    assert good.call("ping")["type"] == "ack"


def test_missing_fields_are_named(chat: Chat) -> None:
    client = chat.connect(chat.user())
    error = client.call("room.create", kind="secret")
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "kind"}


def test_a_frame_over_the_size_limit_closes_with_1009(chat: Chat) -> None:
    client, other = chat.connect(chat.user()), chat.connect(chat.user())
    limit = client.welcome["limits"]["max_frame_bytes"]
    client.send(json.dumps({"type": "ping", "cid": "x", "pad": "a" * limit}))
    with pytest.raises(ConnectionClosed) as closed:
        client.expect("ack", timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert other.call("ping")["type"] == "ack"


def test_many_bad_frames_in_a_row_close_with_1008(chat: Chat) -> None:
    client = chat.connect(chat.user())
    for _ in range(10):
        client.send("nope")
    with pytest.raises(ConnectionClosed) as closed:
        client.expect("ack", timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_a_signed_out_session_closes_the_socket_with_4001(chat: Chat) -> None:
    user = chat.user()
    client = chat.connect(user)
    chat.accounts.logout(chat.accounts.authenticate(f"Bearer {user.token}"))
    with pytest.raises(ConnectionClosed) as closed:
        client.expect("ack", timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def test_stopping_the_gateway_closes_sockets_with_1001(database_url: str,
                                                       tmp_path: Path) -> None:
    running = Chat(chat_settings(database_url, tmp_path))
    try:
        client = running.connect(running.user())
        running.thread.stop()
        with pytest.raises(ConnectionClosed) as closed:
            client.expect("ack", timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    finally:
        running.close()


@pytest.fixture
def limited_chat(database_url: str, tmp_path: Path) -> Iterator[Chat]:
    running = Chat(chat_settings(database_url, tmp_path, chat_rate_limit="3/minute"))
    yield running
    running.close()


def test_over_the_rate_limit_then_closed_when_ignored(limited_chat: Chat) -> None:
    client = limited_chat.connect(limited_chat.user())
    room = client.ok("room.create", name="busy", kind="public")["room"]["id"]
    for i in range(3):
        client.ok("message.send", room_id=room, body=f"m{i}")
    error = client.call("message.send", room_id=room, body="one too many")
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    for _ in range(2):
        assert client.call("message.send", room_id=room, body="again")["code"] == "rate_limited"
    client.send({"type": "message.send", "cid": "last", "room_id": room, "body": "and again"})
    with pytest.raises(ConnectionClosed) as closed:
        client.expect("ack", timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008


def test_a_message_over_4000_characters_is_too_large(chat: Chat) -> None:
    client = chat.connect(chat.user())
    room = client.ok("room.create", name="r", kind="public")["room"]["id"]
    error = client.call("message.send", room_id=room, body="é" * 4001)
    assert error["code"] == "too_large"
    assert client.ok("message.send", room_id=room, body="é" * 4000)["id"]


def test_the_welcome_is_the_first_frame_even_while_the_users_rooms_are_busy(
    database_url: str, redis_url: str, key_prefix: str, tmp_path: Path,
) -> None:
    # With Redis, joining rooms and recording presence wait on the network: room frames
    # could slip in before the welcome if it were not queued first.
    chat = Chat(chat_settings(database_url, tmp_path, redis_url=redis_url,
                              queue_prefix=key_prefix))
    try:
        _welcome_first(chat)
    finally:
        chat.close()


def _welcome_first(chat: Chat) -> None:
    ada, bob = chat.user(), chat.user()
    busy = chat.connect(bob)
    room = busy.ok("room.create", name="busy", kind="public")["room"]["id"]
    first = chat.connect(ada)
    first.ok("room.join", room_id=room)
    first.close()
    stop = threading.Event()

    def chatter() -> None:  # a steady stream of presence frames to the room
        while not stop.is_set():
            for state in ("away", "online"):
                busy.send({"type": "presence.set", "state": state})
                time.sleep(0.002)

    thread = threading.Thread(target=chatter, daemon=True)
    thread.start()
    try:
        for _ in range(15):
            with connect(chat.url, additional_headers={"Authorization": f"Bearer {ada.token}"},
                         open_timeout=10, legacy=True) as ws:
                assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
    finally:
        stop.set()
        thread.join(5)


@pytest.mark.parametrize("frame", [
    "[" * 1500 + "]" * 1500,
    '{"type": "ping", "cid": "deep", "x": ' + "[" * 1500 + "]" * 1500 + "}",
    '{"type": "ping", "cid": "deep", "x": ' + "[" * 8 + "]" * 8 + "}",
])
def test_a_deeply_nested_frame_is_bad_json_and_the_socket_stays_open(chat: Chat,
                                                                     frame: str) -> None:
    client = chat.connect(chat.user())
    client.send(frame)
    error = client.expect("error")
    assert error["code"] == "bad_json"
    assert error["message"] == "a frame nests at most 8 levels deep"
    assert client.call("ping")["type"] == "ack"
    client.send('{"type": "ping", "cid": "flat", "x": ' + "[" * 7 + "]" * 7 + "}")
    assert client.expect("ack") == {"type": "ack", "cid": "flat"}


@pytest.mark.parametrize(("frame", "field", "cid"), [
    ('{"type": "ping", "cid": "\\udcff"}', "cid", None),
    ('{"type": "ping", "cid": "s1", "x": {"\\ud800": [1]}}', "x", "s1"),
    ('{"type": "\\udcff", "cid": "s2"}', "type", "s2"),
])
def test_text_that_cannot_be_encoded_is_invalid_and_the_socket_stays_open(
    chat: Chat, frame: str, field: str, cid: str | None,
) -> None:
    client = chat.connect(chat.user())
    client.send(frame)
    error = client.expect("error")
    assert error["code"] == "invalid" and error["cid"] == cid
    assert error["fields"] == {field: "must not contain NUL characters or unpaired surrogates"}
    assert client.call("ping")["type"] == "ack"


@pytest.mark.parametrize("body", ["before\x00after", "lone \udcff surrogate"])
def test_a_body_with_nul_or_a_lone_surrogate_is_invalid_naming_the_body(chat: Chat,
                                                                        body: str) -> None:
    client = chat.connect(chat.user())
    room = client.ok("room.create", name="r", kind="public")["room"]["id"]
    error = client.call("message.send", room_id=room, body=body)
    assert error["code"] == "invalid"
    assert error["fields"] == {"body": "must not contain NUL characters or unpaired surrogates"}
    client.ok("message.send", room_id=room, body="still here")
    error = client.call("room.create", name="a\x00b", kind="public")
    assert error["code"] == "invalid" and set(error["fields"]) == {"name"}


def test_room_create_is_rate_limited(database_url: str, tmp_path: Path) -> None:
    running = Chat(chat_settings(database_url, tmp_path, chat_room_limit="3/minute"))
    try:
        client = running.connect(running.user())
        for i in range(3):
            client.ok("room.create", name=f"r{i}", kind="public")
        error = client.call("room.create", name="one too many", kind="private")
        assert error["code"] == "rate_limited" and error["retry_after"] >= 1
        assert error["message"].startswith("too many rooms made")
        other = running.connect(running.user())  # the limit is per user
        other.ok("room.create", name="mine", kind="public")
    finally:
        running.close()


def test_sockets_over_the_per_user_limit_are_closed_with_1008(database_url: str,
                                                              tmp_path: Path) -> None:
    running = Chat(chat_settings(database_url, tmp_path, chat_max_sockets=3))
    try:
        user, other = running.user(), running.user()
        clients = [running.connect(user) for _ in range(3)]
        with connect(running.url, additional_headers={"Authorization": f"Bearer {user.token}"},
                     open_timeout=10, legacy=True) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "at most 3" in closed.value.rcvd.reason
        assert running.connect(other).call("ping")["type"] == "ack"  # others are not counted
        clients[0].close()
        deadline = time.monotonic() + 5
        while True:  # the closed one's place is free once the gateway has seen it go
            with connect(running.url,
                         additional_headers={"Authorization": f"Bearer {user.token}"},
                         open_timeout=10, legacy=True) as ws:
                try:
                    assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
                    break
                except ConnectionClosed:
                    assert time.monotonic() < deadline, "no socket after one closed"
                    time.sleep(0.1)
    finally:
        running.close()


def test_the_socket_limit_counts_a_users_sockets_on_every_gateway(
    database_url: str, redis_url: str, key_prefix: str, tmp_path: Path,
) -> None:
    settings = chat_settings(database_url, tmp_path, redis_url=redis_url,
                             queue_prefix=key_prefix, chat_max_sockets=2)
    one = Chat(settings)
    two = Chat(settings)
    try:
        user = one.user()
        # A ping's ack means the gateway has recorded the socket's presence.
        assert one.connect(user).call("ping")["type"] == "ack"
        assert two.connect(user).call("ping")["type"] == "ack"
        with connect(one.url, additional_headers={"Authorization": f"Bearer {user.token}"},
                     open_timeout=10, legacy=True) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        one.close()
        two.close()
