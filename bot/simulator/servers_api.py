"""Read-only server calls (list, show, reset flag) and batch reboot with its job.

Shapes follow the real `cloudservers` API closely enough that the client's parsing and
pagination are tested for real; listing is O(n) per page, lookups are by id.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.simulator import errors
from bot.simulator.fleet import SimServer
from bot.simulator.state import BODY, BODY_OK, STATE

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
NETWORK_ID = "0d8c7a6e-3c2f-4a8b-9d1e-5f6a7b8c9d00"


def server_json(server: SimServer) -> dict[str, Any]:
    """The server as `cloudservers/detail` shows it (the fields the bot reads, and a few more)."""
    return {
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "locked": server.locked,
        "tags": list(server.tags),
        "metadata": {"os_type": server.os_type, "image_name": f"Standard_{server.os_type}"},
        "addresses": {
            NETWORK_ID: [
                {"addr": ip, "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": ""}
                for ip in server.addresses
            ]
        },
        "OS-EXT-STS:vm_state": "active" if server.status == "ACTIVE" else server.status.lower(),
    }


def _matches(
    server: SimServer, name: str | None, status: str | None, tags: list[str], ip: str | None
) -> bool:
    if name is not None and name.lower() not in server.name.lower():
        return False
    if status is not None and server.status != status:
        return False
    if tags and not set(tags) <= set(server.tags):
        return False
    return ip is None or any(ip in address for address in server.addresses)


def _positive_int(raw: str | None, default: int) -> int | None:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 1 else None


async def list_servers(request: web.Request) -> web.Response:
    """`GET …/cloudservers/detail`: filters, then the page `offset` (from 1; 0 also means the first) of
    `limit` servers; the `page_size_cap` and `ignore_offset` behaviours answer as clouds seen in the field."""
    state = request.app[STATE]
    query = request.query
    page = 1 if query.get("offset") == "0" else _positive_int(query.get("offset"), 1)
    limit = _positive_int(query.get("limit"), DEFAULT_PAGE_SIZE)
    if page is None or limit is None or limit > MAX_PAGE_SIZE:
        return errors.ecs_error(
            400, errors.INVALID_PARAMETER, f"offset must be >= 1 and limit between 1 and {MAX_PAGE_SIZE}"
        )
    tags = [tag for tag in query.get("tags", "").split(",") if tag]
    matching = [
        server
        for server in state.fleet
        if _matches(server, query.get("name"), query.get("status"), tags, query.get("ip"))
    ]
    answer: dict[str, Any] = {"count": len(matching)}
    capped = state.behaviour("page_size_cap", request.method, request.path)
    if capped is not None:
        limit = min(limit, capped.cap)
    ignoring = state.behaviour("ignore_offset", request.method, request.path)
    if ignoring is not None:
        page = 1
        if ignoring.omit_count:
            del answer["count"]
    start = (page - 1) * limit
    answer["servers"] = [server_json(s) for s in matching[start : start + limit]]
    return web.json_response(answer)


def _server_or_404(request: web.Request) -> SimServer | web.Response:
    server_id = request.match_info["server_id"]
    server = request.app[STATE].fleet.get(server_id)
    if server is None:
        return errors.ecs_error(404, errors.SERVER_NOT_FOUND, f"Server {server_id} does not exist")
    return server


async def show_server(request: web.Request) -> web.Response:
    """`GET …/cloudservers/{id}`."""
    server = _server_or_404(request)
    if isinstance(server, web.Response):
        return server
    return web.json_response({"server": server_json(server)})


async def reset_flag(request: web.Request) -> web.Response:
    """`GET …/cloudservers/{id}/os-resetpwd-flag`: the plug-in flag, as the string "True"/"False"."""
    server = _server_or_404(request)
    if isinstance(server, web.Response):
        return server
    return web.json_response({"resetpwd_flag": str(server.plugin_installed)})


def _server_ids(value: Any) -> list[str] | None:
    """The ids of a `servers: [{"id"}]` list, or None when it is not shaped like that."""
    if not isinstance(value, list):
        return None
    ids = [item.get("id") for item in value if isinstance(item, dict)]
    if len(ids) != len(value) or not all(isinstance(i, str) and i for i in ids):
        return None
    return [str(i) for i in ids]


async def server_action(request: web.Request) -> web.Response:
    """`POST …/cloudservers/action` with `{"reboot":{"type","servers"}}`: starts a job."""
    state = request.app[STATE]
    body = request[BODY]
    reboot = body.get("reboot") if request[BODY_OK] and isinstance(body, dict) else None
    if not isinstance(reboot, dict) or reboot.get("type") not in ("SOFT", "HARD"):
        return errors.ecs_error(
            400, errors.INVALID_PARAMETER, 'Expected {"reboot":{"type":"SOFT"|"HARD","servers":[…]}}'
        )
    ids = _server_ids(reboot.get("servers"))
    if not ids:
        return errors.ecs_error(400, errors.INVALID_PARAMETER, 'servers must be a non-empty list of {"id"}')
    if len(ids) > MAX_PAGE_SIZE:
        return errors.ecs_error(400, errors.TOO_MANY_SERVERS, f"At most {MAX_PAGE_SIZE} servers per batch")
    job = state.jobs.start_reboot(str(reboot["type"]), ids)
    return web.json_response({"job_id": job.job_id})


async def show_job(request: web.Request) -> web.Response:
    """`GET …/jobs/{job_id}`: each poll moves the job along (INIT, RUNNING, then SUCCESS/FAIL)."""
    state = request.app[STATE]
    job = state.jobs.get(request.match_info["job_id"])
    if job is None:
        return errors.ecs_error(
            404, errors.INVALID_PARAMETER, f"Job {request.match_info['job_id']} does not exist"
        )
    return web.json_response(state.jobs.poll(job))
