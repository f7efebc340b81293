"""A scripted fake cloud over real HTTP (aiohttp on 127.0.0.1) that records every request it receives."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.ecs import RetryPolicy

PROJECT = "pid"
FAST_RETRY = RetryPolicy(max_attempts=4, deadline_s=10, initial_backoff_s=0.001, max_backoff_s=0.005)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Recorded], Awaitable[web.StreamResponse] | web.StreamResponse]


def reply(status: int = 200, body: object = None, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer (or an empty one when body is None; raw bytes are sent as they are)."""
    if isinstance(body, bytes):
        return web.Response(status=status, body=body, headers=headers)
    text = "" if body is None else json.dumps(body)
    return web.Response(status=status, text=text, headers=headers, content_type="application/json")


@dataclass
class FakeCloud:
    """Routes are (method, path regex) -> responder; a list of responses is played in order, last repeats."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _routes: list[tuple[str, re.Pattern[str], Responder]] = field(default_factory=list)

    def on(self, method: str, path: str, responder: Responder | web.Response | list[web.Response]) -> None:
        if isinstance(responder, web.Response):
            responder = [responder]
        if isinstance(responder, list):
            script = responder

            def play(_: Recorded) -> web.Response:
                answer = script.pop(0) if len(script) > 1 else script[0]
                # a Response object can only be sent once: send a copy
                return web.Response(status=answer.status, body=answer.body, headers=dict(answer.headers))

            responder = play
        self._routes.insert(0, (method, re.compile(path + r"\Z"), responder))

    def calls(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path + r"\Z")
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        recorded = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
        )
        self.requests.append(recorded)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for method, pattern, responder in self._routes:
                if method == request.method and pattern.match(request.path):
                    answer = responder(recorded)
                    return await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[return-value]
            return reply(404, {"error_code": "APIGW.0101", "error_msg": "no route in the fake"})
        finally:
            self.in_flight -= 1

    async def hang(self, _: Recorded) -> web.Response:
        """A responder that answers only when the test ends (to provoke client timeouts)."""
        await self.released.wait()
        return reply(200, {})
