"""Batch reboot jobs: INIT, RUNNING, then SUCCESS or FAIL with per-server sub-jobs."""

from __future__ import annotations

from typing import Any

from sim_http import Api
from support.clock import ManualClock

from bot.simulator import Fleet, Simulator


async def poll_until_final(api: Api, job_id: str, max_polls: int = 20) -> tuple[list[str], dict[str, Any]]:
    statuses: list[str] = []
    for _ in range(max_polls):
        answer = await api.call("GET", api.ecs(f"/jobs/{job_id}"))
        assert answer.status == 200
        statuses.append(answer.body["status"])
        if answer.body["status"] in ("SUCCESS", "FAIL"):
            return statuses, answer.body
    raise AssertionError(f"job never finished: {statuses}")


async def test_reboot_succeeds_after_the_configured_polls(api: Api) -> None:
    server = api.sim.fleet.add("r1")
    api.sim.fleet.set_password(server.id, "Xk7:mQ2-pL9w")
    answer = await api.call(
        "POST",
        api.ecs("/cloudservers/action"),
        json={"reboot": {"type": "SOFT", "servers": [{"id": server.id}]}},
    )
    assert answer.status == 200
    statuses, job = await poll_until_final(api, answer.body["job_id"])
    assert statuses == ["INIT", "RUNNING", "SUCCESS"]
    assert job["fail_reason"] is None
    [sub] = job["entities"]["sub_jobs"]
    assert (sub["status"], sub["entities"]["server_id"]) == ("SUCCESS", server.id)
    assert not server.password_pending_reboot
    again, _ = await poll_until_final(api, answer.body["job_id"])
    assert again == ["SUCCESS"]


async def test_reboot_fails_for_servers_that_cannot_reboot(api: Api) -> None:
    good = api.sim.fleet.add("ok")
    stopped = api.sim.fleet.add("stopped", status="SHUTOFF")
    body = {"reboot": {"type": "HARD", "servers": [{"id": good.id}, {"id": stopped.id}, {"id": "ghost"}]}}
    answer = await api.call("POST", api.ecs("/cloudservers/action"), json=body)
    _, job = await poll_until_final(api, answer.body["job_id"])
    assert job["status"] == "FAIL"
    assert job["fail_reason"]
    subs = {s["entities"]["server_id"]: s for s in job["entities"]["sub_jobs"]}
    assert subs[good.id]["status"] == "SUCCESS"
    assert subs[stopped.id]["status"] == "FAIL"
    assert "SHUTOFF" in subs[stopped.id]["fail_reason"]
    assert subs["ghost"]["status"] == "FAIL"


async def test_reboot_validation_and_unknown_job(api: Api) -> None:
    for body in (
        {"reboot": {"type": "SOFTLY", "servers": [{"id": "x"}]}},
        {"reboot": {"type": "SOFT", "servers": []}},
        {"stop": {}},
    ):
        answer = await api.call("POST", api.ecs("/cloudservers/action"), json=body)
        assert (answer.status, answer.body["error"]["code"]) == (400, "Ecs.0005")
    missing = await api.call("GET", api.ecs("/jobs/0123"))
    assert missing.status == 404


async def test_time_based_jobs(clock: ManualClock) -> None:
    import aiohttp

    fleet = Fleet()
    server = fleet.add("t")
    async with Simulator(fleet, clock=clock, job_duration_s=30) as sim, aiohttp.ClientSession() as session:
        api = Api(sim, session, clock)
        answer = await api.call(
            "POST",
            api.ecs("/cloudservers/action"),
            json={"reboot": {"type": "SOFT", "servers": [{"id": server.id}]}},
        )
        job_path = api.ecs(f"/jobs/{answer.body['job_id']}")
        for _ in range(5):
            assert (await api.call("GET", job_path)).body["status"] in ("INIT", "RUNNING")
        clock.advance(30)
        assert (await api.call("GET", job_path)).body["status"] == "SUCCESS"
