"""Retries over real HTTP: exact call counts per failure kind, Retry-After honoured, the deadline kept."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from support.fake_cloud import FakeCloud, reply

from bot.ecs import (
    EcsAuthError,
    EcsBadRequest,
    EcsClient,
    EcsServerError,
    EcsThrottled,
    EcsUnavailable,
    Endpoints,
    RetryPolicy,
)
from bot.ecs.errors import EcsBusy

SERVER = {"server": {"id": "s1", "name": "web-1", "status": "ACTIVE"}}
PATH = "/v1/pid/cloudservers/s1"


@pytest.mark.parametrize(
    ("failure", "cls"),
    [
        (reply(429, {"error_code": "APIGW.0308", "error_msg": "slow down"}), EcsThrottled),
        (
            reply(429, {"error": {"code": "Common.1503", "message": "flow"}}, {"Retry-After": "0"}),
            EcsThrottled,
        ),
        (reply(500, {"error": {"code": "Common.0001", "message": "boom"}}), EcsServerError),
        (reply(202, {"error": {"code": "Common.0024", "message": "flow limit"}}), EcsThrottled),
        (reply(501, {"error": {"code": "Ecs.0603", "message": "busy"}}), EcsBusy),
        (reply(502, b"<html>bad gateway</html>"), EcsServerError),
    ],
)
async def test_retryable_then_success(
    cloud: FakeCloud, make_client: Callable[..., EcsClient], failure: object, cls: type[Exception]
) -> None:
    cloud.on("GET", PATH, [failure, failure, reply(200, SERVER)])  # type: ignore[list-item]
    server = await make_client().get_server("s1")
    assert server.name == "web-1"
    assert len(cloud.calls("GET", PATH)) == 3

    cloud.requests.clear()
    cloud.on("GET", PATH, failure)  # type: ignore[arg-type]
    with pytest.raises(cls):
        await make_client(retry=RetryPolicy(3, 10, 0.001, 0.005)).get_server("s1")
    assert len(cloud.calls("GET", PATH)) == 3


@pytest.mark.parametrize(
    ("failure", "cls"),
    [
        (reply(400, {"error": {"code": "Ecs.0005", "message": "bad"}}), EcsBadRequest),
        (reply(403, {"error": {"code": "Ecs.0003", "message": "no"}}), EcsAuthError),
        (reply(401, {"error_code": "APIGW.0301", "error_msg": "sig"}), EcsAuthError),
    ],
)
async def test_client_errors_never_retried(
    cloud: FakeCloud, make_client: Callable[..., EcsClient], failure: object, cls: type[Exception]
) -> None:
    cloud.on("GET", PATH, failure)  # type: ignore[arg-type]
    with pytest.raises(cls):
        await make_client().get_server("s1")
    assert len(cloud.calls("GET", PATH)) == 1


async def test_retry_after_is_honoured(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on(
        "GET", PATH, [reply(429, {"error_code": "APIGW.0308"}, {"Retry-After": "0.3"}), reply(200, SERVER)]
    )
    started = time.monotonic()
    await make_client().get_server("s1")
    assert time.monotonic() - started >= 0.3  # the fast policy alone would wait at most 5 ms
    assert len(cloud.calls("GET", PATH)) == 2


async def test_deadline_stops_before_a_wait_that_would_cross_it(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", PATH, reply(429, {"error_code": "APIGW.0308"}, {"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(EcsThrottled):
        await make_client(retry=RetryPolicy(10, 1.0, 0.001, 0.005)).get_server("s1")
    assert time.monotonic() - started < 1.0
    assert len(cloud.calls("GET", PATH)) == 1


async def test_timeout_retried_then_unavailable(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", PATH, cloud.hang)
    with pytest.raises(EcsUnavailable) as info:
        await make_client(timeout_s=0.1, retry=RetryPolicy(3, 10, 0.001, 0.005)).get_server("s1")
    assert info.value.maybe_sent
    assert "did not answer within 0.1 s" in str(info.value)
    assert len(cloud.calls("GET", PATH)) == 3


async def test_per_attempt_timeout_shrinks_to_the_deadline(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", PATH, cloud.hang)
    started = time.monotonic()
    with pytest.raises(EcsUnavailable):
        await make_client(timeout_s=30, retry=RetryPolicy(5, 0.3, 0.001, 0.005)).get_server("s1")
    assert time.monotonic() - started < 2


async def test_connection_refused_retried(
    make_client: Callable[..., EcsClient], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level("DEBUG", logger="bot.ecs")
    client = make_client(
        endpoints=Endpoints(ecs=f"http://127.0.0.1:{port}", iam=f"http://127.0.0.1:{port}"),
        retry=RetryPolicy(3, 10, 0.001, 0.005),
    )
    with pytest.raises(EcsUnavailable) as info:
        await client.get_server("s1")
    assert not info.value.maybe_sent
    attempts = [r for r in caplog.records if "ClientConnectorError" in r.getMessage()]
    assert len(attempts) == 3
