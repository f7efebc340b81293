"""The client's calls over real HTTP: pagination, chunking under the bound, per-server results, fallback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from aiohttp import web
from support.fake_cloud import FakeCloud, Recorded, reply

from bot.ecs import EcsClient, EcsError, EcsJobTimeout, EcsNotFound, JobStatus, ResetOutcome, RetryPolicy

BATCH = "/v1/pid/cloudservers/os-reset-passwords"
SINGLE = r"/v1/pid/cloudservers/[^/]+/os-reset-password"
LIST = "/v1/pid/cloudservers/detail"
CANARY = "Canary!Pw-7xQ2"


def raw_server(i: int) -> dict[str, object]:
    return {
        "id": f"id-{i}",
        "name": f"web-{i}",
        "status": "ACTIVE",
        "metadata": {"os_type": "Windows" if i % 2 else "Linux"},
        "addresses": {"net-a": [{"addr": f"10.0.0.{i % 250}"}], "net-b": [{"addr": "fe80::1"}]},
        "locked": i == 3,
        "tags": ["env=prod", {"key": "team", "value": "sre"}],
    }


def paged(fleet: list[dict[str, object]], report_count: bool = True) -> Callable[[Recorded], web.Response]:
    def answer(request: Recorded) -> web.Response:
        page, limit = int(request.query["offset"]), int(request.query["limit"])
        items = fleet[(page - 1) * limit : page * limit]
        body: dict[str, object] = {"servers": items}
        if report_count:
            body["count"] = len(fleet)
        return reply(200, body)

    return answer


async def test_list_servers_every_page(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("GET", LIST, paged([raw_server(i) for i in range(2300)]))
    listing = await make_client().list_servers(name="web", ip="10.0.0.1", tags=["env=prod"], status="ACTIVE")
    servers = listing.servers
    assert len(servers) == 2300
    assert listing.complete
    calls = cloud.calls("GET", LIST)
    assert [(c.query["offset"], c.query["limit"]) for c in calls] == [
        ("1", "1000"),
        ("2", "1000"),
        ("3", "1000"),
    ]
    assert calls[0].query["name"] == "web"
    assert calls[0].query["ip"] == "10.0.0.1"
    assert calls[0].query["tags"] == "env=prod"
    assert calls[0].query["status"] == "ACTIVE"
    s3 = servers[3]
    assert (s3.id, s3.name, s3.os_type, s3.locked) == ("id-3", "web-3", "Windows", True)
    assert s3.addresses == ["10.0.0.3", "fe80::1"]
    assert s3.tags == ["env=prod", "team=sre"]


async def test_list_stops_when_count_reached(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("GET", LIST, paged([raw_server(i) for i in range(2000)]))
    assert len((await make_client().list_servers()).servers) == 2000
    assert len(cloud.calls("GET", LIST)) == 2


async def test_list_without_count_stops_on_a_short_page(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", LIST, paged([raw_server(i) for i in range(1000)], report_count=False))
    listing = await make_client().list_servers()
    assert len(listing.servers) == 1000
    assert listing.complete
    assert len(cloud.calls("GET", LIST)) == 2  # the second page is empty


async def test_get_server_flag_and_check_access(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", "/v1/pid/cloudservers/id-1", reply(200, {"server": raw_server(1)}))
    cloud.on("GET", "/v1/pid/cloudservers/id-1/os-resetpwd-flag", reply(200, {"resetpwd_flag": "True"}))
    cloud.on("GET", "/v1/pid/cloudservers/id-2/os-resetpwd-flag", reply(200, {"resetpwd_flag": "False"}))
    cloud.on("GET", "/v1/pid/cloudservers/gone", reply(404, {"error": {"code": "Ecs.0114", "message": "x"}}))
    cloud.on("GET", LIST, reply(200, {"count": 0, "servers": []}))
    client = make_client()
    assert (await client.get_server("id-1")).name == "web-1"
    assert await client.reset_plugin_installed("id-1") is True
    assert await client.reset_plugin_installed("id-2") is False
    with pytest.raises(EcsNotFound) as info:
        await client.get_server("gone")
    assert str(info.value).startswith("Server gone: the server does not exist")
    await client.check_access()
    assert cloud.calls("GET", LIST)[0].query == {"offset": "1", "limit": "1"}


async def test_chunks_of_1000_never_above_the_bound(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    bound, chunks = 2, 3
    arrived = asyncio.Condition()
    seen = 0

    async def batch(request: Recorded) -> web.Response:
        nonlocal seen
        async with arrived:
            seen += 1
            arrived.notify_all()
            # hold each call until the bound is reached (or no more calls can come), so overlap is real
            await arrived.wait_for(lambda: cloud.in_flight >= bound or seen == chunks)
        return reply(200, {"response": request.json()["servers"]})

    cloud.on("PUT", BATCH, batch)
    ids = [f"id-{i}" for i in range(2500)]
    before: list[list[str]] = []

    async def record(chunk: list[str]) -> None:
        before.append(chunk)

    client = make_client(max_concurrency=bound)
    cloud.on("GET", LIST, reply(200, {"count": 0, "servers": []}))
    await client.check_access()  # the credentials are proven: calls no longer wait for a first answer
    results = await client.reset_passwords(ids, CANARY, dry_run=False, on_before_call=record)
    calls = cloud.calls("PUT", BATCH)
    assert sorted(len(c.json()["servers"]) for c in calls) == [500, 1000, 1000]
    assert cloud.max_in_flight == bound
    assert [r.server_id for r in results] == ids
    assert all(r.outcome is ResetOutcome.SUCCEEDED for r in results)
    assert sorted(map(len, before)) == [500, 1000, 1000]
    body = calls[0]
    assert body.json()["dry_run"] is False
    assert body.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body.body == json.dumps(body.json()).encode()  # json.dumps default separators


async def test_internal_error_mapping(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on(
        "PUT",
        BATCH,
        reply(
            200,
            {
                "response": [{"id": "a"}],
                "internalError": [{"id": "b", "error_code": "Ecs.0605", "error_message": "locked"}],
            },
            {"X-Request-Id": "rq-1"},
        ),
    )
    results = {
        r.server_id: r for r in await make_client().reset_passwords(["a", "b", "c"], CANARY, dry_run=True)
    }
    assert results["a"].outcome is ResetOutcome.SUCCEEDED
    assert (results["b"].outcome, results["b"].error_code, results["b"].error_message) == (
        ResetOutcome.FAILED,
        "Ecs.0605",
        "the server is locked",
    )
    assert results["c"].outcome is ResetOutcome.UNKNOWN
    assert {r.request_id for r in results.values()} == {"rq-1"}
    assert cloud.calls("PUT", BATCH)[0].json()["dry_run"] is True


async def test_failed_batch_with_internal_errors(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on(
        "PUT",
        BATCH,
        reply(
            400,
            {
                "error": {"code": "Ecs.0611", "message": "batch failed"},
                "internalError": [{"id": "b", "error_code": "Ecs.0100", "error_message": "status"}],
            },
        ),
    )
    results = {r.server_id: r for r in await make_client().reset_passwords(["a", "b"], CANARY, dry_run=True)}
    # "a" is not named: the cloud may have reset it, so it is unknown, not failed
    assert (results["a"].outcome, results["a"].error_code) == (ResetOutcome.UNKNOWN, "Ecs.0611")
    assert "without naming this server" in (results["a"].error_message or "")
    assert (results["b"].outcome, results["b"].error_code) == (ResetOutcome.FAILED, "Ecs.0100")
    assert len(cloud.calls("PUT", BATCH)) == 1


async def test_call_errors_become_per_server_results(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("PUT", BATCH, reply(400, {"error": {"code": "Ecs.0011", "message": "weak"}}))
    (result,) = await make_client().reset_passwords(["a"], CANARY, dry_run=True)
    assert (result.outcome, result.error_code) == (ResetOutcome.FAILED, "Ecs.0011")
    assert result.error_message == "the new password does not meet the complexity rules"


async def test_timeout_after_sending_is_unknown(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("PUT", BATCH, cloud.hang)
    client = make_client(timeout_s=0.5, retry=RetryPolicy(2, 5, 0.001, 0.005))
    (result,) = await client.reset_passwords(["a"], CANARY, dry_run=False)
    assert result.outcome is ResetOutcome.UNKNOWN
    assert len(cloud.calls("PUT", BATCH)) == 2


async def test_fallback_to_single_calls(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("PUT", BATCH, reply(404, {"error_code": "APIG.0101", "error_msg": "The API does not exist"}))

    def single(request: Recorded) -> web.Response:
        if "bad" in request.path:
            return reply(400, {"error": {"code": "Ecs.0605", "message": "locked"}})
        return web.Response(status=204)

    cloud.on("PUT", SINGLE, single)
    client = make_client()

    dry = await client.reset_passwords(["a", "b"], CANARY, dry_run=True)
    assert [(r.outcome, r.checked) for r in dry] == [(ResetOutcome.SUCCEEDED, False)] * 2
    assert not cloud.calls("PUT", SINGLE)
    assert client.batch_reset_supported is False

    before: list[list[str]] = []

    async def record(ids: list[str]) -> None:
        before.append(ids)

    results = await client.reset_passwords(["a", "bad"], CANARY, dry_run=False, on_before_call=record)
    assert [(r.server_id, r.outcome, r.error_code) for r in results] == [
        ("a", ResetOutcome.SUCCEEDED, None),
        ("bad", ResetOutcome.FAILED, "Ecs.0605"),
    ]
    assert len(cloud.calls("PUT", BATCH)) == 1  # once known to be missing, the batch path is not tried again
    assert sorted(before) == [["a"], ["bad"]]
    assert {json.dumps(c.json()) for c in cloud.calls("PUT", SINGLE)} == {
        json.dumps({"reset-password": {"new_password": CANARY}})
    }


async def test_per_server_passwords(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("PUT", BATCH, lambda r: reply(200, {"response": r.json()["servers"]}))
    passwords = {f"id-{i}": f"{CANARY}{i}" for i in range(5)}
    results = await make_client(max_concurrency=2).reset_passwords_each(passwords, dry_run=False)
    assert [r.outcome for r in results] == [ResetOutcome.SUCCEEDED] * 5
    sent = {c.json()["servers"][0]["id"]: c.json()["new_password"] for c in cloud.calls("PUT", BATCH)}
    assert sent == passwords
    assert cloud.max_in_flight <= 2


async def test_on_before_call_failure_sends_nothing(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    async def broken(_: list[str]) -> None:
        raise RuntimeError("store down")

    (result,) = await make_client().reset_passwords(["a"], CANARY, dry_run=False, on_before_call=broken)
    assert result.outcome is ResetOutcome.FAILED
    assert not cloud.calls("PUT", BATCH)


async def test_reboot_and_job_polling(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("POST", "/v1/pid/cloudservers/action", reply(200, {"job_id": "job-1"}))
    sub = {"job_id": "sub-1", "status": "SUCCESS", "entities": {"server_id": "a"}}
    cloud.on(
        "GET",
        "/v1/pid/jobs/job-1",
        [
            reply(200, {"status": "INIT", "entities": {}}),
            reply(200, {"status": "RUNNING", "entities": {"sub_jobs": [{**sub, "status": "RUNNING"}]}}),
            reply(200, {"status": "SUCCESS", "entities": {"sub_jobs": [sub]}}),
        ],
    )
    client = make_client()
    assert await client.reboot(["a", "b"], hard=True) == ["job-1"]
    assert cloud.calls("POST", "/v1/pid/cloudservers/action")[0].json() == {
        "reboot": {"type": "HARD", "servers": [{"id": "a"}, {"id": "b"}]}
    }
    job = await client.wait_job("job-1", timeout_s=5, poll_interval_s=0.001)
    assert job.status is JobStatus.SUCCESS
    assert [(s.server_id, s.status) for s in job.sub_jobs] == [("a", JobStatus.SUCCESS)]
    assert len(cloud.calls("GET", "/v1/pid/jobs/job-1")) == 3


async def test_reboot_chunks_and_soft(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on(
        "POST", "/v1/pid/cloudservers/action", lambda r: reply(200, {"job_id": f"j{len(cloud.requests)}"})
    )
    jobs = await make_client().reboot([f"id-{i}" for i in range(1500)], hard=False)
    assert len(jobs) == 2
    calls = cloud.calls("POST", "/v1/pid/cloudservers/action")
    assert sorted(len(c.json()["reboot"]["servers"]) for c in calls) == [500, 1000]
    assert {c.json()["reboot"]["type"] for c in calls} == {"SOFT"}


async def test_job_failure_and_timeout(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    cloud.on("GET", "/v1/pid/jobs/bad", reply(200, {"status": "FAIL", "fail_reason": "disk", "entities": {}}))
    cloud.on("GET", "/v1/pid/jobs/slow", reply(200, {"status": "RUNNING", "entities": {}}))
    client = make_client()
    failed = await client.wait_job("bad", timeout_s=1, poll_interval_s=0.001)
    assert (failed.status, failed.fail_reason) == (JobStatus.FAIL, "disk")
    with pytest.raises(EcsJobTimeout, match="job slow is still RUNNING"):
        await client.wait_job("slow", timeout_s=0.05, poll_interval_s=0.01)


async def test_canary_password_never_leaks(
    cloud: FakeCloud, make_client: Callable[..., EcsClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    # a hostile cloud that echoes the password in its error message
    echo = {"error": {"code": "Ecs.9999", "message": f"bad password {CANARY}"}}
    cloud.on("PUT", BATCH, reply(400, echo))
    cloud.on("PUT", SINGLE, reply(400, echo))
    client = make_client()
    results = await client.reset_passwords(["a"], CANARY, dry_run=False)
    results += await client.reset_passwords_each({"b": CANARY}, dry_run=True)
    cloud.on("PUT", BATCH, reply(404, {"error_code": "APIG.0101", "error_msg": "gone"}))
    results += await client.reset_passwords(["c"], CANARY, dry_run=False)
    assert len(cloud.calls("PUT", SINGLE)) == 1
    for result in results:
        assert result.outcome is ResetOutcome.FAILED
        assert CANARY not in repr(result) + str(result._asdict())
    assert results[0].error_message == "bad password [redacted]"
    assert CANARY not in caplog.text
    assert CANARY not in repr(client)
    with pytest.raises(EcsError) as info:
        await client._caller.answer(
            "PUT",
            "/cloudservers/x/os-reset-password",
            payload={"p": CANARY},
            server_id="x",
            scrub=client._caller.scrubber(CANARY),
        )
    assert CANARY not in str(info.value) + repr(info.value) + str(info.value.args)


async def test_an_html_404_on_the_batch_call_is_an_api_not_available_here(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    page = b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>"
    cloud.on("PUT", BATCH, web.Response(status=404, body=page, content_type="text/html"))
    results = await make_client().reset_passwords(["a", "b"], CANARY, dry_run=False)
    assert {r.outcome for r in results} == {ResetOutcome.FAILED}
    assert {r.error_message for r in results} == {"the API is not available at this endpoint"}
    assert not cloud.calls("PUT", SINGLE), "a 404 page is no reason to try every server one by one"


async def test_a_gateway_404_on_the_batch_call_falls_back_to_single_calls(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("PUT", BATCH, reply(404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"}))
    cloud.on("PUT", SINGLE, reply(204))
    results = await make_client().reset_passwords(["a", "b"], CANARY, dry_run=False)
    assert {r.outcome for r in results} == {ResetOutcome.SUCCEEDED}
    assert len(cloud.calls("PUT", SINGLE)) == 2
