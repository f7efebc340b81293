"""The API-gateway checks in front of every ECS call: AK/SK signature or IAM token, project.

Answers use the gateway's own body shape, as the real APIG does, so the client's error
mapping is exercised on the same bytes it will meet in production.
"""

from __future__ import annotations

from aiohttp import web

from bot.simulator import errors
from bot.simulator.auth import MAX_CLOCK_SKEW_S, sdk_date_skew
from bot.simulator.signature import parse_authorization, signature_valid
from bot.simulator.state import SimState


def _unauthorized(code: str, message: str, request_id: str) -> web.Response:
    return errors.gateway_error(401, code, message, request_id)


def authenticate(
    request: web.Request, raw_body: bytes, state: SimState, request_id: str
) -> tuple[str, web.Response | None]:
    """How the caller authenticated ("aksk" / "token") and, when refused, the answer to send."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        return "aksk", _check_signature(request, authorization, raw_body, state, request_id)
    token = request.headers.get("X-Auth-Token")
    if token is not None:
        issued = state.tokens.valid(token)
        if issued is None:
            return "token", _unauthorized(
                errors.BAD_SIGNATURE,
                "Incorrect IAM authentication information: verify token fail",
                request_id,
            )
        if issued.project_id != request.match_info.get("project_id", issued.project_id):
            return "token", errors.ecs_error(
                403, errors.NOT_PERMITTED, "The token is not scoped to the project in the request path"
            )
        return "token", None
    return "none", _unauthorized(
        errors.BAD_SIGNATURE, "Incorrect IAM authentication information: x-auth-token not found", request_id
    )


def _check_signature(
    request: web.Request, authorization: str, raw_body: bytes, state: SimState, request_id: str
) -> web.Response | None:
    auth = parse_authorization(authorization)
    if auth is None:
        return _unauthorized(
            errors.BAD_SIGNATURE,
            "Incorrect IAM authentication information: unsupported authorization",
            request_id,
        )
    secret_key = state.access_keys.get(auth.access_key)
    if secret_key is None:
        return _unauthorized(
            errors.BAD_SIGNATURE, "Incorrect IAM authentication information: access key not found", request_id
        )
    if state.key_guard.locked(auth.access_key):
        return _unauthorized(
            errors.BAD_SIGNATURE,
            "Incorrect IAM authentication information: access key locked after repeated signature failures",
            request_id,
        )
    # A date more than 15 minutes off is a bad signature like any other (same answer, and it counts
    # toward the lockout): the gateway says nothing of the clock.
    skew = sdk_date_skew(request.headers.get("X-Sdk-Date", ""), state.now())
    path = request.raw_path.partition("?")[0]
    good = (
        skew is not None
        and skew <= MAX_CLOCK_SKEW_S
        and signature_valid(
            auth, secret_key, request.method, path, request.query.items(), request.headers, raw_body
        )
    )
    state.key_guard.record(auth.access_key, good=good)
    if not good:
        return _unauthorized(
            errors.BAD_SIGNATURE,
            "Incorrect IAM authentication information: verify aksk signature fail",
            request_id,
        )
    header_project = request.headers.get("X-Project-Id")
    if header_project is not None and header_project != request.match_info.get("project_id", header_project):
        return errors.ecs_error(
            403, errors.NOT_PERMITTED, "X-Project-Id does not match the project in the path"
        )
    return None
