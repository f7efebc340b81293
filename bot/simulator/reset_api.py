"""The password resets: the batch call of the seed page and the single-server fallback.

Request-level problems (bad JSON, bad password, too many servers) fail the whole call;
server-level ones (unknown, locked, no plug-in, wrong status) go to `internalError`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.simulator import errors
from bot.simulator.fleet import RESETTABLE_STATUSES, Fleet
from bot.simulator.password_rules import password_violations
from bot.simulator.servers_api import MAX_PAGE_SIZE, _server_ids
from bot.simulator.state import BODY, BODY_OK, STATE

MAX_BATCH = MAX_PAGE_SIZE


def _server_problem(fleet: Fleet, server_id: str) -> tuple[str, str] | None:
    """(code, message) when this server cannot be reset, else None."""
    server = fleet.get(server_id)
    if server is None:
        return errors.SERVER_NOT_FOUND, f"Server {server_id} does not exist"
    if server.locked:
        return errors.SERVER_LOCKED, f"Server {server_id} is locked"
    if server.status not in RESETTABLE_STATUSES:
        return (
            errors.STATUS_FORBIDS,
            f"Server {server_id} is {server.status}; the reset needs ACTIVE or SHUTOFF",
        )
    if not server.plugin_installed:
        return errors.STATUS_FORBIDS, f"Server {server_id} has no password reset plug-in installed"
    return None


def _password_error(password: str, *, windows: bool) -> web.Response | None:
    problems = password_violations(password, windows=windows)
    if not problems:
        return None
    return errors.ecs_error(400, errors.BAD_PASSWORD, "The password " + "; ".join(problems))


async def reset_passwords(request: web.Request) -> web.Response:
    """`PUT …/cloudservers/os-reset-passwords` `{"new_password","dry_run","servers":[{"id"}]}`."""
    state = request.app[STATE]
    body: Any = request[BODY]
    if not request[BODY_OK] or not isinstance(body, dict):
        return errors.ecs_error(400, errors.INVALID_PARAMETER, "The request body is not a JSON object")
    dry_run = body.get("dry_run", False)
    password = body.get("new_password")
    ids = _server_ids(body.get("servers"))
    if not isinstance(dry_run, bool):
        return errors.ecs_error(400, errors.INVALID_PARAMETER, "dry_run must be a boolean")
    if (password is None and not dry_run) or (password is not None and not isinstance(password, str)):
        return errors.ecs_error(400, errors.INVALID_PARAMETER, "new_password must be a string")
    if not ids:
        return errors.ecs_error(400, errors.INVALID_PARAMETER, 'servers must be a non-empty list of {"id"}')
    if len(ids) > MAX_BATCH:
        return errors.ecs_error(400, errors.TOO_MANY_SERVERS, f"At most {MAX_BATCH} servers per batch")
    if len(set(ids)) != len(ids):
        return errors.ecs_error(400, errors.INVALID_PARAMETER, "servers contains the same id twice")
    fleet = state.fleet
    if password is not None:
        windows = any((s := fleet.get(i)) is not None and s.os_type == "Windows" for i in ids)
        refused = _password_error(password, windows=windows)
        if refused is not None:
            return refused
    good: list[str] = []
    failed: list[dict[str, str]] = []
    for server_id in ids:
        problem = _server_problem(fleet, server_id)
        if problem is None:
            good.append(server_id)
        else:
            failed.append(errors.internal_error(server_id, *problem))
    if not good:
        return errors.ecs_error(400, errors.BATCH_FAILED, "No server could be reset", failed)
    if password is not None and state.behaviour("echo_password", request.method, request.path):
        # As seen: the first server is reset, the others are refused with the password in the message.
        good, echoed = good[:1], good[1:]
        failed += [
            errors.internal_error(i, "Ecs.9999", f"new_password '{password}' rejected") for i in echoed
        ]
    if not dry_run and password is not None:
        fleet.set_passwords(good, password)
    answer: dict[str, Any] = {"response": [{"id": server_id} for server_id in good]}
    if failed:
        answer["internalError"] = failed
    return web.json_response(answer)


async def reset_password(request: web.Request) -> web.Response:
    """`PUT …/cloudservers/{id}/os-reset-password` `{"reset-password":{"new_password"}}`: 204."""
    state = request.app[STATE]
    body: Any = request[BODY]
    inner = body.get("reset-password") if request[BODY_OK] and isinstance(body, dict) else None
    password = inner.get("new_password") if isinstance(inner, dict) else None
    if not isinstance(password, str):
        return errors.ecs_error(400, errors.INVALID_PARAMETER, 'Expected {"reset-password":{"new_password"}}')
    server_id = request.match_info["server_id"]
    server = state.fleet.get(server_id)
    if server is None:
        return errors.ecs_error(404, errors.SERVER_NOT_FOUND, f"Server {server_id} does not exist")
    refused = _password_error(password, windows=server.os_type == "Windows")
    if refused is not None:
        return refused
    problem = _server_problem(state.fleet, server_id)
    if problem is not None:
        return errors.ecs_error(400, *problem)
    if state.behaviour("echo_password", request.method, request.path):
        return errors.ecs_error(400, "Ecs.9999", f"new_password '{password}' rejected")
    state.fleet.set_password(server_id, password)
    return web.Response(status=204)
