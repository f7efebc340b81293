"""Raw HTTP to the ECS/IAM simulator for its tests: a fake clock and a signing caller.

Requests are signed with `bot.simulator.signature.sign` (cross-checked against the official
SDK signer and the reference test vector in test_sim_signature.py), never with bot.ecs.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDict
from support.clock import ManualClock
from yarl import URL

from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, Simulator
from bot.simulator.signature import DATE_FORMAT, sign

START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@dataclass
class Answer:
    status: int
    headers: CIMultiDict[str]
    body: Any


class Api:
    """Raw HTTP to the simulator: AK/SK-signed by default, or with a token, or unauthenticated."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession, clock: ManualClock) -> None:
        self.sim = sim
        self.session = session
        self.clock = clock

    def ecs(self, suffix: str) -> str:
        return f"/v1/{self.sim.project_id}{suffix}"

    def signed_headers(
        self,
        method: str,
        url: URL,
        body: bytes,
        *,
        ak: str = DEMO_ACCESS_KEY,
        sk: str = DEMO_SECRET_KEY,
        date: float | None = None,
    ) -> dict[str, str]:
        headers = {
            "Host": url.raw_authority,
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": self.sim.project_id,
            "X-Sdk-Date": datetime.fromtimestamp(self.clock() if date is None else date, UTC).strftime(
                DATE_FORMAT
            ),
        }
        headers["Authorization"] = sign(ak, sk, method, url.raw_path, url.query.items(), headers, body)
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        token: str | None = None,
        auth: bool = True,
        raw: bytes | None = None,
        **sign_options: Any,
    ) -> Answer:
        url = URL(self.sim.url + path)
        if params:
            url = url.with_query(params)
        body = raw if raw is not None else (jsonlib.dumps(json).encode() if json is not None else b"")
        if token is not None:
            headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
        elif auth:
            headers = self.signed_headers(method, url, body, **sign_options)
        else:
            headers = {"Content-Type": "application/json"}
        async with self.session.request(method, url, data=body or None, headers=headers) as response:
            text = await response.text()
            parsed = jsonlib.loads(text) if text else None
            return Answer(response.status, CIMultiDict(response.headers), parsed)

    def token_body(self, **overrides: Any) -> dict[str, Any]:
        """The IAM password-auth body for the simulator's first user; `overrides` change one field."""
        user = self.sim.users[0]
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": overrides.get("name", user.name),
                            "password": overrides.get("password", user.password),
                            "domain": {"name": overrides.get("domain", user.domain)},
                        }
                    },
                },
                "scope": {"project": {"id": overrides.get("project_id", self.sim.project_id)}},
            }
        }

    async def token(self, **overrides: Any) -> str:
        body = self.token_body(**overrides)
        answer = await self.call("POST", "/v3/auth/tokens?nocatalog=true", json=body, auth=False)
        assert answer.status == 201, answer.body
        return answer.headers["X-Subject-Token"]
