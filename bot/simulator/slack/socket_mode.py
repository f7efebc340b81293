"""Socket Mode: ``apps.connections.open``, the WebSocket, envelopes and acks, and disconnects.

Slack opens with ``hello``, sends each payload as an envelope the app must ack by ``envelope_id``, and
tells the app to go with ``{"type": "disconnect", "reason": …}``: ``warning`` (a refresh is coming),
``refresh_requested`` (reconnect now), ``link_disabled`` (Socket Mode was turned off). An app holds at
most 10 connections at once; the one past the limit is told ``too_many_websockets`` and closed.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import aiohttp
from aiohttp import web

from bot.simulator.slack.records import JsonDict
from bot.simulator.slack.signed import SignedRequest
from bot.simulator.slack.state import SlackState

DISCONNECT_REASONS = ("warning", "refresh_requested", "link_disabled", "too_many_websockets")


class SocketMode(SlackState):
    """The Socket Mode side of the fake; `socket_deliver` sends what `SlackRequests` builds."""

    @property
    def socket_count(self) -> int:
        """Connections open now."""
        return len(self._sockets)

    def apps_connections_open(self, args: JsonDict) -> JsonDict:
        return {"url": self.url.replace("http://", "ws://", 1) + "/socket"}

    async def handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: `hello` (or a refusal past the limit), envelopes, acks back."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.socket_connections_opened += 1
        if len(self._sockets) >= self.max_socket_connections:
            await socket.send_json(self._disconnect_envelope("too_many_websockets"))
            await socket.close()
            return socket
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets)})
        await self._sockets_changed()
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiter = self._socket_acks.pop(str(ack.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack.get("payload") or {})
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)
            await self._sockets_changed()
        return socket

    async def _sockets_changed(self) -> None:
        async with self._socket_changed:
            self._socket_changed.notify_all()

    def _disconnect_envelope(self, reason: str) -> JsonDict:
        return {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}

    async def socket_disconnect(self, reason: str = "refresh_requested", *, index: int = 0) -> None:
        """Send a ``disconnect`` envelope on connection `index`; all but ``warning`` then close it."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"not a Socket Mode disconnect reason: {reason}")
        socket = self._sockets[index]
        await socket.send_json(self._disconnect_envelope(reason))
        if reason != "warning":
            self._sockets.remove(socket)
            await socket.close()
            await self._sockets_changed()

    async def socket_connected(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        count: int = 1,
        opened: int = 0,
    ) -> None:
        """Wait until a bot holds `count` connections, having opened at least `opened` in all."""

        def ready() -> bool:
            return len(self._sockets) >= count and self.socket_connections_opened >= opened

        async with asyncio.timeout(timeout), self._socket_changed:
            await self._socket_changed.wait_for(ready)

    async def socket_deliver(self, request: SignedRequest, timeout: float = 5.0) -> JsonDict:  # noqa: ASYNC109
        """Send what `SlackRequests` built over Socket Mode instead of HTTP; return the ack's payload."""
        await self.socket_connected(timeout)
        kind, payload = request.decoded()
        envelope_id = secrets.token_hex(8)
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = waiter
        await self._sockets[0].send_json(
            {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        )
        async with asyncio.timeout(timeout):
            return await waiter
