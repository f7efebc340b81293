"""The aiohttp application: IAM and ECS under one base URL, behind a gateway middleware.

The middleware does what the real gateway does before a call reaches the service
(request id, faults, unknown API, authentication, project check) and what tests need
around it (latency, in-flight counting, the call record with passwords masked).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.simulator import errors, iam_api, reset_api, servers_api
from bot.simulator.faults import fault_response
from bot.simulator.gateway import authenticate
from bot.simulator.records import Arrival, RecordedCall, redact
from bot.simulator.state import BODY, BODY_OK, STATE, SimState

BATCH_RESET_ROUTE = "batch-reset"
_NO_ANSWER = 0  # recorded status when the connection was dropped on purpose


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    if not raw:
        return None, True
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False


def _error_code(response: web.StreamResponse) -> str | None:
    """The error code of an error answer, for the record (cheap: only small error bodies are read)."""
    if not isinstance(response, web.Response) or not (response.status >= 300 or response.status == 202):
        return None
    if not isinstance(response.body, bytes):
        return None
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("error_code") or (body.get("error") or {}).get("code")
    return str(code) if code is not None else None


async def _gatekeeper(
    request: web.Request, handler: Handler, state: SimState, request_id: str, raw: bytes
) -> tuple[web.StreamResponse, str]:
    """Everything before the handler; returns the answer and how the caller authenticated."""
    if state.latency_s > 0:
        await asyncio.sleep(state.latency_s)
    fault = state.matching_fault(request.method, request.path)
    if fault is not None:
        return await fault_response(fault, request, request_id, state.stopping), "none"
    route_name = request.match_info.route.name
    if request.match_info.http_exception is not None or (
        route_name == BATCH_RESET_ROUTE and not state.batch_api_available
    ):
        return errors.gateway_error(
            404,
            errors.API_NOT_FOUND,
            "The API does not exist or has not been published in the environment",
            request_id,
        ), "none"
    auth = "none"
    if not request.path.startswith("/v3/"):
        auth, refused = authenticate(request, raw, state, request_id)
        if refused is not None:
            return refused, auth
        if request.match_info.get("project_id") != state.project_id:
            return errors.ecs_error(
                403, errors.NOT_PERMITTED, "You are not permitted to access this project"
            ), auth
    try:
        return await handler(request), auth
    except Exception:
        return errors.ecs_error(500, errors.SYSTEM_ERROR, "System exception"), auth


@web.middleware
async def _gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    request_id = uuid.uuid4().hex
    started_at = state.now()
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    response: web.StreamResponse | None = None
    auth = "none"
    shown: Any = None
    try:
        raw = await request.read()
        body, ok = _parse_json(raw)
        request[BODY] = body
        request[BODY_OK] = ok
        shown = redact(body) if ok else "<not JSON>"
        state.arrivals.append(Arrival(request.method, request.path, started_at, shown))
        response, auth = await _gatekeeper(request, handler, state, request_id, raw)
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        state.in_flight -= 1
        dropped = request.transport is None or request.transport.is_closing()
        state.calls.append(
            RecordedCall(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                status=_NO_ANSWER if response is None or dropped else response.status,
                body=shown,
                request_id=request_id,
                auth=auth,
                error_code=_error_code(response) if response is not None else None,
                started_at=started_at,
            )
        )


def build_app(state: SimState) -> web.Application:
    """The application serving IAM and ECS for this state."""
    app = web.Application(middlewares=[_gateway_middleware], client_max_size=8 * 1024 * 1024)
    app[STATE] = state
    pid = "/v1/{project_id}"
    app.router.add_post("/v3/auth/tokens", iam_api.issue_token)
    app.router.add_get(f"{pid}/cloudservers/detail", servers_api.list_servers)
    app.router.add_put(
        f"{pid}/cloudservers/os-reset-passwords", reset_api.reset_passwords, name=BATCH_RESET_ROUTE
    )
    app.router.add_post(f"{pid}/cloudservers/action", servers_api.server_action)
    app.router.add_get(f"{pid}/cloudservers/{{server_id}}", servers_api.show_server)
    app.router.add_get(f"{pid}/cloudservers/{{server_id}}/os-resetpwd-flag", servers_api.reset_flag)
    app.router.add_put(f"{pid}/cloudservers/{{server_id}}/os-reset-password", reset_api.reset_password)
    app.router.add_get(f"{pid}/jobs/{{job_id}}", servers_api.show_job)
    return app
