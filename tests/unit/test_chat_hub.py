"""The hub writes frames as websockets would, each socket's in order, several in one write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode

from chat.hub import MAX_PENDING, Conn, Hub, ws_frame


class NoFanout:
    """A fan-out with no other process: the tests hand frames to ``Hub.deliver`` themselves."""

    async def start(self, deliver: Callable[[str, bytes], None]) -> None:
        pass

    async def subscribe(self, channel: str) -> None:
        pass

    async def unsubscribe(self, channel: str) -> None:
        pass

    def publish(self, channel: str, payload: bytes) -> None:
        pass

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70_000])
def test_a_frame_has_the_bytes_websockets_would_send_for_it(size):
    payload = ("é" * size).encode()[:size]
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert ws_frame(payload) == expected


Scenario = Callable[[Hub, list[ServerConnection], list[ClientConnection]], Awaitable[None]]


def _run(n: int, scenario: Scenario) -> None:
    async def main() -> None:
        server_side: list[ServerConnection] = []
        ready = asyncio.Event()

        async def handler(ws: ServerConnection) -> None:
            server_side.append(ws)
            if len(server_side) == n:
                ready.set()
            await ws.wait_closed()

        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            clients = [await connect(f"ws://127.0.0.1:{port}", compression=None)
                       for _ in range(n)]
            await asyncio.wait_for(ready.wait(), 10)
            try:
                await scenario(Hub(NoFanout()), server_side, clients)  # type: ignore[arg-type]
            finally:
                for c in clients:
                    await c.close()

    asyncio.run(main())


async def _received(client: ClientConnection, count: int) -> list[str]:
    return [str(await asyncio.wait_for(client.recv(), 5)) for _ in range(count)]


def test_frames_of_one_loop_turn_reach_every_member_in_order_before_a_direct_frame():
    async def scenario(hub: Hub, ws: list[ServerConnection],
                       clients: list[ClientConnection]) -> None:
        hub.channels["room:a"] = set(ws)
        hub.channels["user:1"] = {ws[0]}
        hub.deliver("room:a", b'{"n":1}')
        hub.deliver("user:1", b'{"n":2}')
        hub.deliver("room:a", b'{"n":3}')
        # Written now, yet after the room's frames that came first.
        conn = Conn(ws[0], user_id="1", handle="a", conn_id="c", session_id="s", role="listener")
        hub.send(conn, b'{"n":4}')
        assert await _received(clients[0], 4) == ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']
        for client in clients[1:]:
            assert await _received(client, 2) == ['{"n":1}', '{"n":3}']

    _run(3, scenario)


def test_pending_frames_go_out_at_the_end_of_the_loop_turn_and_past_the_cap():
    async def scenario(hub: Hub, ws: list[ServerConnection],
                       clients: list[ClientConnection]) -> None:
        hub.channels["room:a"] = set(ws)
        total = MAX_PENDING + 5
        for i in range(total):
            hub.deliver("room:a", f'{{"n":{i}}}'.encode())
        for client in clients:
            assert await _received(client, total) == [f'{{"n":{i}}}' for i in range(total)]

    _run(2, scenario)


def test_a_member_that_joins_after_a_frame_came_does_not_get_it():
    async def scenario(hub: Hub, ws: list[ServerConnection],
                       clients: list[ClientConnection]) -> None:
        hub.channels["room:a"] = {ws[0]}
        hub.deliver("room:a", b'{"n":1}')
        hub.channels["room:a"].add(ws[1])
        hub.deliver("room:a", b'{"n":2}')
        assert await _received(clients[0], 2) == ['{"n":1}', '{"n":2}']
        assert await _received(clients[1], 1) == ['{"n":2}']

    _run(2, scenario)


def test_a_closing_socket_is_skipped_and_the_others_still_get_the_frame():
    async def scenario(hub: Hub, ws: list[ServerConnection],
                       clients: list[ClientConnection]) -> None:
        hub.channels["room:a"] = set(ws)
        await ws[0].close(1001, "going away")
        hub.deliver("room:a", b'{"n":1}')
        assert await _received(clients[1], 1) == ['{"n":1}']
        with pytest.raises(Exception, match="1001"):
            await clients[0].recv()

    _run(2, scenario)
