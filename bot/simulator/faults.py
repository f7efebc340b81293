"""Injected failures: the throttling, outages and broken connections a real cloud produces.

A `Fault` matches requests by method and path regex and fires a given number of times
(or always); the client's retry, timeout and error handling is tested against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from bot.simulator import errors

FaultKind = Literal[
    "throttle",  # 429 gateway APIGW.0308 (Retry-After when retry_after is set)
    "flow_control",  # 429 ECS Common.1503 (Retry-After when retry_after is set)
    "server_error",  # 500 Common.0001
    "busy",  # 501 Ecs.0603
    "flow_limit_202",  # 202 with a Common.0024 error body: a 2xx that is an error
    "unavailable",  # 503 with a plain-text body, no code: a load balancer in front of the cloud answers
    "timeout",  # hold the request for hold_s (longer than the client waits), then 504
    "malformed_json",  # 200, JSON content type, truncated body
    "app_auth",  # 401 APIGW.0303: the path is an API published with APIG app authentication (a wrong
    # endpoint): the gateway refuses the IAM signature as an app signature
    "reset",  # TCP reset (RST) without an answer
    "disconnect",  # orderly close without an answer
    # Behaviours seen in the field: the call is answered by its handler, differently.
    "page_size_cap",  # the server list serves at most `cap` per page whatever `limit` asks
    "ignore_offset",  # the server list always serves the first page (`omit_count`: and no `count`)
    "echo_password",  # resets name the new password in an error message: a batch answers 200 with the
    # first server reset and the others in `internalError`, a single reset answers 400
]

#: Kinds that change how a handler answers instead of answering in its place.
BEHAVIOURS: frozenset[FaultKind] = frozenset({"page_size_cap", "ignore_offset", "echo_password"})


@dataclass
class Fault:
    """A rule: requests matching `method` and `path` (regex, searched) get `kind` `times` times."""

    kind: FaultKind
    path: str = ".*"
    method: str | None = None
    times: int | None = 1  # None: always
    after: int = 0
    """The first `after` matching requests are answered normally: a fault that starts mid-flow (the dry
    run passes, the real call is refused)."""
    retry_after: float | None = None
    hold_s: float = 30.0
    cap: int = 100
    omit_count: bool = False
    hits: int = 0
    passed: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        """True when this rule applies to the request and has firings left."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self._pattern.search(path) is not None

    def fire(self, method: str, path: str) -> bool:
        """Whether this rule answers the request, counted as fired when it does (or as passed while
        `after` requests are still to be let through)."""
        if not self.matches(method, path):
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        self.hits += 1
        return True


def _retry_headers(fault: Fault) -> dict[str, str]:
    if fault.retry_after is None:
        return {}
    return {"Retry-After": f"{fault.retry_after:g}"}


def _kill_connection(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # SO_LINGER with a zero timeout turns close() into a RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort() if reset else transport.close()


async def fault_response(
    fault: Fault, request: web.Request, request_id: str, stopping: asyncio.Event
) -> web.StreamResponse:
    """The answer (or the lack of one) this fault gives."""
    kind = fault.kind
    if kind == "throttle":
        response = errors.gateway_error(
            429, errors.GATEWAY_THROTTLED, "The throttling threshold has been reached", request_id
        )
        response.headers.update(_retry_headers(fault))
        return response
    if kind == "flow_control":
        response = errors.ecs_error(429, errors.FLOW_CONTROL, "Flow control: too many requests")
        response.headers.update(_retry_headers(fault))
        return response
    if kind == "app_auth":
        return errors.gateway_error(
            401,
            errors.BAD_APP_AUTH,
            "Incorrect app authentication information: app not found, appkey unknown",
            request_id,
        )
    if kind == "server_error":
        return errors.ecs_error(500, errors.SYSTEM_ERROR, "System exception")
    if kind == "busy":
        return errors.ecs_error(501, errors.BUSY, "Commands are being executed; retry in a minute")
    if kind == "flow_limit_202":
        return errors.ecs_error(202, errors.FLOW_LIMIT_2XX, "Flow limit exceeded")
    if kind == "unavailable":
        # A load balancer's own answer: plain text, no ECS error body, no code.
        return web.Response(status=503, text="503 Service Unavailable: no healthy upstream")
    if kind == "timeout":
        # Wake early on shutdown so stop() never waits for a held request.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), fault.hold_s)
        return errors.gateway_error(504, "APIGW.0201", "Backend timeout", request_id)
    if kind == "malformed_json":
        return web.Response(status=200, text='{"response": [{"id": ', content_type="application/json")
    _kill_connection(request, reset=kind == "reset")
    return web.Response(status=500)  # never reaches the client: the connection is gone
