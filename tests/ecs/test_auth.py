"""Token auth over real HTTP: one IAM call for concurrent callers, refresh before expiry, re-auth on 401."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from support.clock import FakeClock
from support.fake_cloud import FAST_RETRY, PROJECT, FakeCloud, Recorded, reply

from bot.ecs import (
    AkSkCredentials,
    EcsAuthError,
    EcsClient,
    PasswordCredentials,
    TokenAuthenticator,
)

IAM = "/v3/auth/tokens"
SERVER_PATH = "/v1/pid/cloudservers/s1"
SERVER = {"server": {"id": "s1", "name": "web-1", "status": "ACTIVE"}}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CREDS = PasswordCredentials(user="alice", password="Iam-Canary-Pw1", domain="OTC000")


class IamFake:
    """Issues tok-1, tok-2, ... each valid one hour after T0; can hold answers until released."""

    def __init__(self, expires_at: datetime = T0 + timedelta(hours=1)) -> None:
        self.numbers = itertools.count(1)
        self.expires_at = expires_at
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    async def __call__(self, _: Recorded) -> web.Response:
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        token = f"tok-{next(self.numbers)}"
        body = {"token": {"expires_at": self.expires_at.isoformat().replace("+00:00", "Z")}}
        return reply(201, body, {"X-Subject-Token": token})


def token_client(
    cloud: FakeCloud, session: aiohttp.ClientSession, clock: FakeClock, **kwargs: object
) -> EcsClient:
    auth = TokenAuthenticator(session, cloud.url, CREDS, PROJECT, retry=FAST_RETRY, clock=clock)
    return make(cloud, session, authenticator=auth, **kwargs)


def make(cloud: FakeCloud, session: aiohttp.ClientSession, **kwargs: object) -> EcsClient:
    from bot.ecs import Endpoints

    return EcsClient(
        session,
        Endpoints(ecs=cloud.url, iam=cloud.url),
        PROJECT,
        CREDS,
        retry=FAST_RETRY,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_token_request_and_use(cloud: FakeCloud, session: aiohttp.ClientSession) -> None:
    cloud.on("POST", IAM, IamFake())
    cloud.on("GET", SERVER_PATH, reply(200, SERVER))
    client = make(cloud, session)  # the default authenticator for password credentials
    assert (await client.get_server("s1")).id == "s1"
    (iam_call,) = cloud.calls("POST", IAM)
    assert iam_call.query == {"nocatalog": "true"}
    assert iam_call.json() == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "alice", "password": "Iam-Canary-Pw1", "domain": {"name": "OTC000"}}
                },
            },
            "scope": {"project": {"id": "pid"}},
        }
    }
    (ecs_call,) = cloud.calls("GET", SERVER_PATH)
    assert ecs_call.headers["X-Auth-Token"] == "tok-1"
    assert ecs_call.headers["X-Project-Id"] == "pid"
    assert "Authorization" not in ecs_call.headers


async def test_token_reused_then_refreshed_before_expiry(
    cloud: FakeCloud, session: aiohttp.ClientSession
) -> None:
    cloud.on("POST", IAM, IamFake())
    cloud.on("GET", SERVER_PATH, reply(200, SERVER))
    clock = FakeClock(T0)
    client = token_client(cloud, session, clock)
    await client.get_server("s1")
    clock.advance(timedelta(minutes=54))  # 6 min left: still outside the 5 min margin
    await client.get_server("s1")
    assert len(cloud.calls("POST", IAM)) == 1
    clock.advance(timedelta(minutes=2))  # 4 min left: refresh first
    await client.get_server("s1")
    assert len(cloud.calls("POST", IAM)) == 2
    assert [c.headers["X-Auth-Token"] for c in cloud.calls("GET", SERVER_PATH)] == ["tok-1", "tok-1", "tok-2"]


async def test_fifty_concurrent_callers_share_one_iam_call(
    cloud: FakeCloud, session: aiohttp.ClientSession
) -> None:
    iam = IamFake()
    iam.gate = asyncio.Event()
    cloud.on("POST", IAM, iam)
    cloud.on("GET", SERVER_PATH, reply(200, SERVER))
    client = token_client(cloud, session, FakeClock(T0), max_concurrency=50)
    calls = asyncio.gather(*(client.get_server("s1") for _ in range(50)))

    async def release_when_iam_called() -> None:
        await iam.arrived.wait()
        assert iam.gate is not None
        iam.gate.set()

    await asyncio.gather(calls, release_when_iam_called())
    assert len(cloud.calls("POST", IAM)) == 1
    assert {c.headers["X-Auth-Token"] for c in cloud.calls("GET", SERVER_PATH)} == {"tok-1"}
    assert len(cloud.calls("GET", SERVER_PATH)) == 50


async def test_401_reauthenticates_once_and_retries(cloud: FakeCloud, session: aiohttp.ClientSession) -> None:
    cloud.on("POST", IAM, IamFake())

    def ecs(request: Recorded) -> web.Response:
        if request.headers["X-Auth-Token"] == "tok-1":  # revoked before its expiry
            return reply(401, {"error": {"code": "Common.0013", "message": "token invalid"}})
        return reply(200, SERVER)

    cloud.on("GET", SERVER_PATH, ecs)
    client = token_client(cloud, session, FakeClock(T0))
    assert (await client.get_server("s1")).id == "s1"
    assert len(cloud.calls("POST", IAM)) == 2
    assert [c.headers["X-Auth-Token"] for c in cloud.calls("GET", SERVER_PATH)] == ["tok-1", "tok-2"]


async def test_401_twice_is_an_auth_error(cloud: FakeCloud, session: aiohttp.ClientSession) -> None:
    cloud.on("POST", IAM, IamFake())
    cloud.on("GET", SERVER_PATH, reply(401, {"error": {"code": "Common.0013", "message": "no"}}))
    with pytest.raises(EcsAuthError, match="token is invalid"):
        await token_client(cloud, session, FakeClock(T0)).get_server("s1")
    assert len(cloud.calls("GET", SERVER_PATH)) == 2
    assert len(cloud.calls("POST", IAM)) == 2


async def test_iam_refusal_is_a_clear_auth_error(cloud: FakeCloud, session: aiohttp.ClientSession) -> None:
    cloud.on(
        "POST",
        IAM,
        reply(401, {"error": {"code": 401, "message": "The username or password is wrong.", "title": "x"}}),
    )
    with pytest.raises(EcsAuthError) as info:
        await token_client(cloud, session, FakeClock(T0)).get_server("s1")
    assert "IAM refused to issue a token for user alice" in str(info.value)
    assert "Iam-Canary-Pw1" not in str(info.value) + repr(info.value)
    assert len(cloud.calls("POST", IAM)) == 1
    assert not cloud.calls("GET", SERVER_PATH)


async def test_aksk_requests_are_signed_and_401_not_retried(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", SERVER_PATH, reply(401, {"error_code": "APIGW.0301", "error_msg": "bad signature"}))
    with pytest.raises(EcsAuthError):
        await make_client().get_server("s1")
    (call,) = cloud.calls("GET", SERVER_PATH)
    assert call.headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, SignedHeaders=")
    assert "X-Sdk-Date" in call.headers


def test_credentials_hide_secrets() -> None:
    aksk = AkSkCredentials(access_key="AK", secret_key="SK-Canary-1")
    assert "SK-Canary-1" not in repr(aksk) + str(aksk)
    assert "Iam-Canary-Pw1" not in repr(CREDS) + str(CREDS)


async def test_concurrent_401s_share_one_reauthentication(
    cloud: FakeCloud, session: aiohttp.ClientSession
) -> None:
    cloud.on("POST", IAM, IamFake())
    revoked = False

    def ecs(request: Recorded) -> web.Response:
        if revoked and request.headers["X-Auth-Token"] == "tok-1":
            return reply(401, {"error": {"code": "Common.0013", "message": "revoked"}})
        return reply(200, SERVER)

    cloud.on("GET", SERVER_PATH, ecs)
    client = token_client(cloud, session, FakeClock(T0), max_concurrency=20)
    await client.get_server("s1")  # tok-1 is accepted: the credential gate lets calls go together
    revoked = True
    # all 20 send tok-1, get 401: only one of them may fetch tok-2
    servers = await asyncio.gather(*(client.get_server("s1") for _ in range(20)))
    assert len(servers) == 20
    assert len(cloud.calls("POST", IAM)) == 2
    tokens = [c.headers["X-Auth-Token"] for c in cloud.calls("GET", SERVER_PATH)]
    assert tokens.count("tok-1") == 21
    assert tokens.count("tok-2") == 20
