"""The simulator's AK/SK verifier: the reference test vector, the official SDK, and the gateway rules."""

from __future__ import annotations

import json

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from sim_http import Api
from support.clock import ManualClock

from bot.simulator import DEMO_ACCESS_KEY, Simulator
from bot.simulator.signature import parse_authorization, sign, signature_valid

VECTOR_HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "X-Project-Id": "pid",
    "X-Sdk-Date": "20240101T000000Z",
    "User-Agent": "huaweicloud-usdk-python/3.0",
    "Host": "ecs.eu-de.otc.t-systems.com",
}
VECTOR_BODY = json.dumps({"new_password": "Abc@12345", "dry_run": True, "servers": [{"id": "s1"}]}).encode()
VECTOR_SIGNATURE = "92305a23dfab65b4b95469476f87e59875deb03a79d2edf7863947ec5ee8094c"


def test_reference_test_vector() -> None:
    header = sign(
        "AKEXAMPLE",
        "SKEXAMPLE",
        "PUT",
        "/v1/pid/cloudservers/os-reset-passwords",
        [],
        VECTOR_HEADERS,
        VECTOR_BODY,
    )
    auth = parse_authorization(header)
    assert auth is not None
    assert auth.access_key == "AKEXAMPLE"
    assert ";".join(auth.signed_headers) == "content-type;host;user-agent;x-project-id;x-sdk-date"
    assert auth.signature == VECTOR_SIGNATURE
    assert signature_valid(
        auth, "SKEXAMPLE", "PUT", "/v1/pid/cloudservers/os-reset-passwords", [], VECTOR_HEADERS, VECTOR_BODY
    )
    assert not signature_valid(
        auth, "SKEXAMPLE", "PUT", "/v1/pid/cloudservers/os-reset-passwords", [], VECTOR_HEADERS, b"{}"
    )


def test_official_sdk_signatures_verify_with_query_and_encoded_path() -> None:
    request = SdkRequest(
        method="GET",
        schema="https",
        host="ecs.eu-de.otc.t-systems.com",
        resource_path="/v1/pid/cloudservers/detail",
        query_params=[("name", "web 0~1:x"), ("limit", 50), ("offset", 2), ("tags", "env=prod")],
        header_params={"Content-Type": "application/json", "X-Project-Id": "pid", "X_Ignored": "1"},
        body="",
    )
    signed = Signer(BasicCredentials(ak="AK1", sk="SK1")).sign(request)
    headers = dict(signed.header_params)
    auth = parse_authorization(headers["Authorization"])
    assert auth is not None
    assert "x_ignored" not in auth.signed_headers
    query = [("name", "web 0~1:x"), ("limit", "50"), ("offset", "2"), ("tags", "env=prod")]
    assert signature_valid(auth, "SK1", "GET", "/v1/pid/cloudservers/detail", query, headers, b"")
    assert not signature_valid(auth, "SK2", "GET", "/v1/pid/cloudservers/detail", query, headers, b"")


async def test_signed_request_is_accepted(api: Api) -> None:
    answer = await api.call("GET", api.ecs("/cloudservers/detail"), params={"name": "web 00", "limit": "5"})
    assert answer.status == 200
    assert api.sim.calls[-1].auth == "aksk"


async def test_bad_signature_unknown_key_and_no_auth_are_rejected(api: Api) -> None:
    wrong = await api.call("GET", api.ecs("/cloudservers/detail"), sk="not-the-secret")
    assert wrong.status == 401
    assert wrong.body["error_code"] == "APIGW.0301"
    assert wrong.body["request_id"] == wrong.headers["X-Request-Id"]
    unknown = await api.call("GET", api.ecs("/cloudservers/detail"), ak="NOSUCHKEY")
    assert (unknown.status, unknown.body["error_code"]) == (401, "APIGW.0301")
    anonymous = await api.call("GET", api.ecs("/cloudservers/detail"), auth=False)
    assert (anonymous.status, anonymous.body["error_code"]) == (401, "APIGW.0301")


async def test_tampered_body_is_rejected(api: Api) -> None:
    url_path = api.ecs("/cloudservers/os-reset-passwords")
    from yarl import URL

    url = URL(api.sim.url + url_path)
    body = json.dumps({"dry_run": True, "servers": [{"id": "x"}]}).encode()
    headers = api.signed_headers("PUT", url, body)
    async with api.session.put(url, data=body + b" ", headers=headers) as response:
        assert response.status == 401


async def test_stale_date_is_rejected_as_a_bad_signature(api: Api, clock: ManualClock) -> None:
    # As documented: a date more than 15 minutes off gets the same answer as any bad AK/SK signature.
    stale = await api.call("GET", api.ecs("/cloudservers/detail"), date=clock() - 16 * 60)
    assert (stale.status, stale.body["error_code"]) == (401, "APIGW.0301")
    future = await api.call("GET", api.ecs("/cloudservers/detail"), date=clock() + 16 * 60)
    assert future.body["error_code"] == "APIGW.0301"
    slightly_off = await api.call("GET", api.ecs("/cloudservers/detail"), date=clock() - 14 * 60)
    assert slightly_off.status == 200


async def test_five_bad_signatures_lock_the_key_for_five_minutes(api: Api, clock: ManualClock) -> None:
    for _ in range(4):
        assert (await api.call("GET", api.ecs("/cloudservers/detail"), sk="bad")).status == 401
    # A good one in between resets the count.
    assert (await api.call("GET", api.ecs("/cloudservers/detail"))).status == 200
    for _ in range(5):
        assert (await api.call("GET", api.ecs("/cloudservers/detail"), sk="bad")).status == 401
    locked = await api.call("GET", api.ecs("/cloudservers/detail"))
    assert locked.status == 401
    assert "locked" in locked.body["error_msg"]
    clock.advance(4 * 60)
    assert (await api.call("GET", api.ecs("/cloudservers/detail"))).status == 401
    clock.advance(61)
    assert (await api.call("GET", api.ecs("/cloudservers/detail"))).status == 200


async def test_wrong_project_in_path_or_header_is_forbidden(api: Api) -> None:
    other = "f" * 32
    in_path = await api.call("GET", f"/v1/{other}/cloudservers/detail")
    assert in_path.status == 403
    assert in_path.body["error"]["code"] == "Ecs.0003"


async def test_extra_access_keys_are_accepted(clock: ManualClock) -> None:
    async with Simulator(access_keys={"AK2": "SK2"}, clock=clock) as sim:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            api = Api(sim, session, clock)
            assert (await api.call("GET", api.ecs("/cloudservers/detail"), ak="AK2", sk="SK2")).status == 200
            assert (await api.call("GET", api.ecs("/cloudservers/detail"))).status == 401
    assert DEMO_ACCESS_KEY not in sim.access_keys
