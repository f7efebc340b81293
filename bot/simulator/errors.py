"""The three error body shapes the real endpoints answer with, in one place.

ECS service errors, API-gateway errors and IAM errors look different on the wire; the
client must handle all three, so the simulator produces each exactly as documented.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

# Gateway codes.
API_NOT_FOUND = "APIGW.0101"
BAD_SIGNATURE = "APIGW.0301"
BAD_APP_AUTH = "APIGW.0303"
GATEWAY_THROTTLED = "APIGW.0308"
# ECS codes.
INVALID_PARAMETER = "Ecs.0005"
BAD_PASSWORD = "Ecs.0011"
NOT_PERMITTED = "Ecs.0003"
STATUS_FORBIDS = "Ecs.0100"
SERVER_NOT_FOUND = "Ecs.0114"
TOO_MANY_SERVERS = "Ecs.0118"
BUSY = "Ecs.0603"
SERVER_LOCKED = "Ecs.0605"
BATCH_FAILED = "Ecs.0611"
SYSTEM_ERROR = "Common.0001"
FLOW_LIMIT_2XX = "Common.0024"
FLOW_CONTROL = "Common.1503"


def internal_error(server_id: str, code: str, message: str) -> dict[str, str]:
    """One entry of a batch answer's `internalError` list."""
    return {"id": server_id, "error_code": code, "error_message": message}


def ecs_error(
    status: int,
    code: str,
    message: str,
    internal: list[dict[str, str]] | None = None,
) -> web.Response:
    """`{"error":{"code","message"}}` plus `internalError` when servers of a batch failed."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if internal is not None:
        body["internalError"] = internal
    return web.json_response(body, status=status)


def gateway_error(status: int, code: str, message: str, request_id: str) -> web.Response:
    """`{"error_code","error_msg","request_id"}` as the API gateway writes it."""
    return web.json_response(
        {"error_code": code, "error_msg": message, "request_id": request_id}, status=status
    )


def iam_error(status: int, title: str, message: str) -> web.Response:
    """Keystone-style `{"error":{"code","message","title"}}` from IAM."""
    return web.json_response({"error": {"code": status, "message": message, "title": title}}, status=status)
