"""The simulator answers as the documented cloud and as clouds seen in the field: the gateway's one answer for
a stale date, the first page at offset 0, a capped page size, an ignored offset, a password echoed in an error
message, and reboot sub-jobs that end one by one (and fail under a job that says SUCCESS)."""

from __future__ import annotations

from sim_http import Api
from support.clock import ManualClock

from bot.simulator import Fault

LIST = "/cloudservers/detail"


async def test_a_stale_date_gets_the_bad_signature_answer_and_counts_toward_the_lock(
    api: Api, clock: ManualClock
) -> None:
    for _ in range(5):
        stale = await api.call("GET", api.ecs(LIST), date=clock() + 20 * 60)
        assert (stale.status, stale.body["error_code"]) == (401, "APIGW.0301")
        assert (
            stale.body["error_msg"] == "Incorrect IAM authentication information: verify aksk signature fail"
        )
    locked = await api.call("GET", api.ecs(LIST))  # a good clock now: the key is locked for 5 minutes
    assert (locked.status, locked.body["error_code"]) == (401, "APIGW.0301")
    assert "locked" in locked.body["error_msg"]
    clock.advance(5 * 60 + 1)
    assert (await api.call("GET", api.ecs(LIST))).status == 200


async def test_offset_0_is_the_first_page(api: Api) -> None:
    first = await api.call("GET", api.ecs(LIST), params={"offset": "1", "limit": "7"})
    zero = await api.call("GET", api.ecs(LIST), params={"offset": "0", "limit": "7"})
    assert zero.status == 200
    assert [s["id"] for s in zero.body["servers"]] == [s["id"] for s in first.body["servers"]]


async def test_a_capped_page_size(api: Api) -> None:
    api.sim.add_fault(Fault("page_size_cap", LIST, times=None, cap=10))
    page2 = await api.call("GET", api.ecs(LIST), params={"offset": "2", "limit": "1000"})
    assert page2.body["count"] == 40
    assert len(page2.body["servers"]) == 10
    everything = await api.call("GET", api.ecs(LIST), params={"offset": "1", "limit": "40"})
    assert len(everything.body["servers"]) == 10


async def test_an_ignored_offset_with_and_without_a_count(api: Api) -> None:
    first = await api.call("GET", api.ecs(LIST), params={"offset": "1", "limit": "5"})
    api.sim.add_fault(Fault("ignore_offset", LIST, times=1))
    api.sim.add_fault(Fault("ignore_offset", LIST, times=1, omit_count=True))
    counted = await api.call("GET", api.ecs(LIST), params={"offset": "3", "limit": "5"})
    uncounted = await api.call("GET", api.ecs(LIST), params={"offset": "3", "limit": "5"})
    assert counted.body["servers"] == first.body["servers"]
    assert counted.body["count"] == 40
    assert uncounted.body["servers"] == first.body["servers"]
    assert "count" not in uncounted.body


async def test_a_password_echoed_in_an_error_message(api: Api) -> None:
    api.sim.add_fault(Fault("echo_password", "/os-reset-password", times=None))
    a, b, c = (s.id for s in list(api.sim.fleet)[:3])
    password = "Echo-Canary-9x"
    batch = await api.call(
        "PUT",
        api.ecs("/cloudservers/os-reset-passwords"),
        json={"new_password": password, "dry_run": False, "servers": [{"id": a}, {"id": b}]},
    )
    assert batch.status == 200
    assert batch.body["response"] == [{"id": a}]
    assert batch.body["internalError"] == [
        {"id": b, "error_code": "Ecs.9999", "error_message": f"new_password '{password}' rejected"}
    ]
    assert api.sim.fleet.password_matches(a, password)  # the first one now has exactly that password
    assert not api.sim.fleet.password_matches(b, password)
    single = await api.call(
        "PUT",
        api.ecs(f"/cloudservers/{c}/os-reset-password"),
        json={"reset-password": {"new_password": password}},
    )
    assert single.status == 400
    assert password in single.body["error"]["message"]


async def test_sub_jobs_end_one_by_one_and_may_fail_under_a_successful_job(api: Api) -> None:
    a, b, c = (s.id for s in list(api.sim.fleet)[:3])
    api.sim.jobs.one_by_one = True
    api.sim.jobs.failing = {b: "the guest did not come back"}
    api.sim.jobs.status_ignores_sub_jobs = True
    body = {"reboot": {"type": "SOFT", "servers": [{"id": a}, {"id": b}, {"id": c}]}}
    job_id = (await api.call("POST", api.ecs("/cloudservers/action"), json=body)).body["job_id"]
    seen = []
    for _ in range(5):
        job = (await api.call("GET", api.ecs(f"/jobs/{job_id}"))).body
        seen.append((job["status"], [s["status"] for s in job["entities"]["sub_jobs"]]))
    assert seen == [
        ("INIT", ["INIT", "INIT", "INIT"]),
        ("RUNNING", ["SUCCESS", "RUNNING", "RUNNING"]),
        ("RUNNING", ["SUCCESS", "FAIL", "RUNNING"]),
        ("SUCCESS", ["SUCCESS", "FAIL", "SUCCESS"]),  # as seen: SUCCESS with a failed sub-job
        ("SUCCESS", ["SUCCESS", "FAIL", "SUCCESS"]),
    ]
    failed = job["entities"]["sub_jobs"][1]
    assert failed["fail_reason"] == "the guest did not come back"
