"""Injected faults, latency, the call record (passwords masked) and in-flight counting."""

from __future__ import annotations

import asyncio
import json
import time
from typing import get_args

import aiohttp
import pytest
from sim_http import Api
from support.polling import eventually

from bot.simulator import Simulator
from bot.simulator.faults import BEHAVIOURS, FaultKind

DETAIL = "/cloudservers/detail"


# Each kind that answers in place of the handler -> (status, the code of its error body; None: the body is
# not the cloud's JSON error, like a load balancer's text or a truncated answer).
ANSWERS: dict[FaultKind, tuple[int, str | None]] = {
    "throttle": (429, "APIGW.0308"),
    "flow_control": (429, "Common.1503"),
    "server_error": (500, "Common.0001"),
    "busy": (501, "Ecs.0603"),
    "flow_limit_202": (202, "Common.0024"),
    "app_auth": (401, "APIGW.0303"),
    "unavailable": (503, None),
    "malformed_json": (200, None),
}
# Kinds that drop the connection without an answer.
DROPPED: tuple[FaultKind, ...] = ("reset", "disconnect")
# Kinds that hold the request until the client gives up.
HELD: tuple[FaultKind, ...] = ("timeout",)


def test_every_kind_that_answers_is_in_a_table() -> None:
    # The behaviours change how a handler answers; their tests are with the handlers they change.
    tabled = [*ANSWERS, *DROPPED, *HELD]
    assert sorted(tabled) == sorted(set(get_args(FaultKind)) - BEHAVIOURS)


@pytest.mark.parametrize(("kind", "status", "code"), [(k, *a) for k, a in ANSWERS.items()])
async def test_answering_faults_fire_the_given_number_of_times(
    api: Api, kind: FaultKind, status: int, code: str | None
) -> None:
    fault = api.sim.add_fault(kind, "cloudservers/detail", times=2)
    for _ in range(2):
        async with api.session.get(api.sim.url + api.ecs(DETAIL)) as response:
            assert response.status == status
            raw = await response.read()
            assert "Retry-After" not in response.headers
            assert response.headers["X-Request-Id"]
        if code is None:
            with pytest.raises(json.JSONDecodeError):
                json.loads(raw)
        else:
            answer = json.loads(raw)
            assert code in (answer.get("error_code"), answer.get("error", {}).get("code"))
    assert (await api.call("GET", api.ecs(DETAIL))).status == 200
    assert fault.hits == 2
    assert [c.error_code for c in api.sim.calls_to("detail")] == [code, code, None]


async def test_retry_after_and_always_on_faults(api: Api) -> None:
    api.sim.add_fault("throttle", method="PUT", times=None, retry_after=2)
    for _ in range(3):
        answer = await api.call("PUT", api.ecs("/cloudservers/os-reset-passwords"), json={})
        assert (answer.status, answer.headers["Retry-After"]) == (429, "2")
    assert (await api.call("GET", api.ecs(DETAIL))).status == 200  # method does not match
    api.sim.clear_faults()
    assert (await api.call("PUT", api.ecs("/cloudservers/os-reset-passwords"), json={})).status == 400


async def test_unavailable_answers_plain_text_like_a_load_balancer(api: Api) -> None:
    api.sim.add_fault("unavailable", DETAIL)
    async with api.session.get(api.sim.url + api.ecs(DETAIL)) as response:
        assert response.status == 503
        assert response.content_type == "text/plain"
        assert "Service Unavailable" in await response.text()
    assert [c.error_code for c in api.sim.calls_to(DETAIL)] == [None]
    assert (await api.call("GET", api.ecs(DETAIL))).status == 200


@pytest.mark.parametrize("kind", DROPPED)
async def test_dropped_connections(api: Api, kind: FaultKind) -> None:
    # aiohttp retries an idempotent request once after a dropped connection: fire twice.
    api.sim.add_fault(kind, DETAIL, times=2)
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await api.call("GET", api.ecs(DETAIL))
    assert [c.status for c in api.sim.calls_to(DETAIL)] == [0, 0]
    assert (await api.call("GET", api.ecs(DETAIL))).status == 200


@pytest.mark.parametrize("kind", HELD)
async def test_held_requests_wait_until_the_client_gives_up(kind: FaultKind) -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        sim.add_fault(kind, DETAIL, hold_s=60)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await session.get(
                sim.url + f"/v1/{sim.project_id}{DETAIL}", timeout=aiohttp.ClientTimeout(total=0.3)
            )
        assert time.monotonic() - started < 5
        await eventually(lambda: sim.in_flight == 1, 5, "the held request in flight", interval=0.01)
        # stop() releases the held request instead of waiting 60 s.
    assert time.monotonic() - started < 10
    assert sim.in_flight == 0


async def test_latency_is_applied_and_adjustable(api: Api) -> None:
    api.sim.latency_s = 0.2
    started = time.monotonic()
    await api.call("GET", api.ecs(DETAIL))
    assert time.monotonic() - started >= 0.2
    api.sim.latency_s = 0.0
    started = time.monotonic()
    await api.call("GET", api.ecs(DETAIL))
    assert time.monotonic() - started < 0.2


async def test_max_in_flight_counts_concurrent_requests(api: Api) -> None:
    api.sim.latency_s = 0.1
    await asyncio.gather(*(api.call("GET", api.ecs(DETAIL)) for _ in range(12)))
    assert api.sim.max_in_flight == 12
    assert api.sim.in_flight == 0
    api.sim.reset_stats()
    await asyncio.gather(*(api.call("GET", api.ecs(DETAIL)) for _ in range(3)))
    assert api.sim.max_in_flight == 3
    assert len(api.sim.calls) == 3


async def test_records_never_hold_a_password(api: Api) -> None:
    canary = "Canary:Pw9x"
    server = next(iter(api.sim.fleet))
    await api.call(
        "PUT",
        api.ecs("/cloudservers/os-reset-passwords"),
        json={"new_password": canary, "servers": [{"id": server.id}]},
    )
    await api.call(
        "PUT",
        api.ecs(f"/cloudservers/{server.id}/os-reset-password"),
        json={"reset-password": {"new_password": canary}},
    )
    await api.call(
        "PUT", api.ecs("/cloudservers/os-reset-passwords"), raw=f'{{"new_password": "{canary}"'.encode()
    )
    await api.token()
    assert api.sim.fleet.password_matches(server.id, canary)
    dump = repr(api.sim.calls) + repr(list(api.sim.fleet)) + repr(api.sim)
    assert canary not in dump
    assert api.sim.users[0].password not in dump
    batch = api.sim.calls_to("os-reset-passwords", "PUT")[0]
    assert batch.body == {"new_password": "***", "servers": [{"id": server.id}]}
    assert batch.status == 200
    assert batch.request_id


async def test_every_response_has_a_request_id(api: Api) -> None:
    answers = [
        await api.call("GET", api.ecs(DETAIL)),
        await api.call("GET", api.ecs(DETAIL), auth=False),
        await api.call("GET", "/nowhere", auth=False),
        await api.call("POST", "/v3/auth/tokens", json={}, auth=False),
    ]
    ids = [a.headers["X-Request-Id"] for a in answers]
    assert len(set(ids)) == 4
    assert [c.request_id for c in api.sim.calls] == ids


async def test_serve_forever_prints_what_it_accepts() -> None:
    import io

    from bot.simulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, DEMO_USER, serve_forever

    out = io.StringIO()
    task = asyncio.create_task(serve_forever(0, servers=5, seed=1, latency_ms=0, out=out))
    await eventually(lambda: "listening" in out.getvalue(), 5, "the simulator listening", interval=0.01)
    text = out.getvalue()
    for fact in (DEMO_PROJECT_ID, DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER.name, "http://127.0.0.1:"):
        assert fact in text
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
