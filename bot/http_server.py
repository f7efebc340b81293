"""The bot's HTTP listeners, hardened against clients that hold connections open.

aiohttp answers well-formed requests quickly but, left at its defaults, keeps a connection whose request
never finishes for an hour: a few hundred slow clients exhaust the process's file descriptors, and then
Slack's signed requests and `/healthz` go unanswered. Here every listener has:
- a read timeout: a connection must finish its headers within `read_timeout_s` of opening (or of its
  previous response, on keep-alive: aiohttp's keep-alive timer, which closes a connection still waiting
  for a whole request), and the body within `read_timeout_s` of the headers (408 otherwise);
- a cap on concurrent connections: beyond it a new connection is closed at once, logged, before it
  costs more than its socket;
- aiohttp's body size cap (`client_max_size`, 413).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost a listener: seconds to send a request, connections open at once."""

    read_timeout_s: float = 10.0
    max_connections: int = 100


LIMITS_KEY = web.AppKey("http_limits", HttpLimits)


@web.middleware
async def read_body_in_time(request: web.Request, handler: Any) -> web.StreamResponse:
    """Reads the whole body before any handler, within the listener's read timeout (408 otherwise);
    handlers then read it from memory (aiohttp keeps what `read()` returned)."""
    limits: HttpLimits = request.app.get(LIMITS_KEY) or HttpLimits()
    if request.can_read_body:
        try:
            await asyncio.wait_for(request.read(), limits.read_timeout_s)
        except TimeoutError:
            log.warning("request to %s: body not sent in time; answered 408", request.path)
            timed_out = web.Response(status=408, text="request body not sent in time")
            timed_out.force_close()  # no lingering for the rest of a body that is not coming
            return timed_out
        except ConnectionResetError:
            # The peer left mid-body (a stopped client, a proxy's reset): nobody to answer, nothing to
            # retry. aiohttp would log it as an ERROR with a traceback for a request that never was.
            log.debug("request to %s: connection lost before the body was read", request.path)
            gone = web.Response(status=400, text="connection lost")
            gone.force_close()
            return gone
    response: web.StreamResponse = await handler(request)
    return response


class _Admitted(asyncio.Protocol):
    """aiohttp's protocol for one connection, admitted only while the listener has room."""

    def __init__(self, inner: asyncio.Protocol, gate: _Gate) -> None:
        self._inner = inner
        self._gate = gate
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._gate.open >= self._gate.limit:
            self._gate.refused += 1
            if self._gate.refused == 1 or self._gate.refused % 100 == 0:
                log.warning(
                    "%s: %d connections open, the most allowed; closed a new one (%d so far)",
                    self._gate.name,
                    self._gate.open,
                    self._gate.refused,
                )
            transport.close()
            return
        self._admitted = True
        self._gate.open += 1
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self._gate.open -= 1
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@dataclass
class _Gate:
    name: str
    limit: int
    open: int = 0
    refused: int = 0


class LimitedSite(web.BaseSite):
    """A TCP listener like aiohttp's TCPSite, admitting at most `max_connections` at once."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self.port = port
        """The port listened on once started (the one the OS chose when 0 was asked for)."""
        self.gate = _Gate(f"http://{host}:{port}", max_connections)

    @property
    def name(self) -> str:
        return self.gate.name

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        gate = self.gate
        listening = await asyncio.get_running_loop().create_server(
            lambda: _Admitted(server(), gate), self._host, self._port, reuse_address=True
        )
        self._server = listening
        self.port = int(listening.sockets[0].getsockname()[1])
        self.gate.name = f"http://{self._host}:{self.port}"


async def serve(
    app: web.Application, host: str, port: int, limits: HttpLimits
) -> tuple[web.AppRunner, LimitedSite]:
    """Starts `app` on host:port (0: any free port, see `site.port`) with these limits; keep-alive
    connections idle longer than the read timeout are closed. `runner.cleanup()` stops it."""
    app[LIMITS_KEY] = limits
    app.middlewares.insert(0, read_body_in_time)
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=limits.read_timeout_s,
        lingering_time=min(1.0, limits.read_timeout_s),  # after an answer, the rest of a body
    )
    await runner.setup()
    site = LimitedSite(runner, host, port, max_connections=limits.max_connections)
    await site.start()
    return runner, site
