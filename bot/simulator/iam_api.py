"""The simulated IAM: password authentication that issues project-scoped tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.simulator import errors
from bot.simulator.state import BODY, BODY_OK, STATE, SimState


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _scope_matches(state: SimState, project: Any) -> bool:
    if not isinstance(project, dict):
        return False
    return project.get("id") == state.project_id or project.get("name") == state.project_name


async def issue_token(request: web.Request) -> web.Response:
    """`POST /v3/auth/tokens`: 201, the token in `X-Subject-Token`, `token.expires_at` in the body."""
    state = request.app[STATE]
    body = request[BODY] if request[BODY_OK] else None
    identity = _dig(body, "auth", "identity")
    user = _dig(identity, "password", "user")
    if _dig(identity, "methods") != ["password"] or not isinstance(user, dict):
        return errors.iam_error(400, "Bad Request", "Expected password authentication")
    known = next(
        (
            u
            for u in state.users
            if u.name == user.get("name")
            and u.password == user.get("password")
            and u.domain == _dig(user, "domain", "name")
        ),
        None,
    )
    if known is None:
        return errors.iam_error(401, "Unauthorized", "The username or password is wrong.")
    if not _scope_matches(state, _dig(body, "auth", "scope", "project")):
        return errors.iam_error(
            401, "Unauthorized", "The project in the scope does not exist or is not yours."
        )
    token, issued = state.tokens.issue(known.name, state.project_id, state.token_lifetime_s)
    now = state.now()
    answer = {
        "token": {
            "expires_at": _iso(issued.expires_at),
            "issued_at": _iso(now),
            "methods": ["password"],
            "project": {"id": state.project_id, "name": state.project_name, "domain": {"name": known.domain}},
            "user": {"name": known.name, "domain": {"name": known.domain}},
            "catalog": [],
        }
    }
    return web.json_response(answer, status=201, headers={"X-Subject-Token": token})
