"""Proxies on 127.0.0.1 that tests put between the bot and the world: a forward proxy as corporate networks
run them, and a TCP relay the test can cut (a database going away) and restore."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class ForwardProxy:
    """`CONNECT host:port` tunnels (https, wss) and absolute-form requests (`GET http://host/path`) for plain
    http. It records what it was asked for."""

    seen: list[str] = field(default_factory=list)
    """One line per request: `CONNECT host:port`, or `METHOD http://host:port/path`."""
    port: int = 0
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode().split(" ", 2)
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe_both(reader, writer, upstream_reader, upstream_writer)
            return
        # absolute-form: rewrite to origin-form and forward this one request, then tunnel the rest
        without_scheme = target.split("://", 1)[1]
        hostport, _, path = without_scheme.partition("/")
        host, _, port = hostport.partition(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port or 80))
        upstream_writer.write(f"{method} /{path} {version}\r\n".encode() + rest)
        await self._pipe_both(reader, writer, upstream_reader, upstream_writer)

    async def _pipe_both(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


class CuttableRelay:
    """Relays TCP to `host:port` (PostgreSQL) until `cut()`: every connection is aborted and new ones are
    closed at once, as when the database goes away under a running bot; `restore()` lets them through."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._cut = False

    async def start(self) -> int:
        """Starts listening; returns the port to connect to instead of the upstream's."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._connections |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._connections -= {writer, up_writer}
