"""No secret leaves through cloud text: a canary in every field of every documented answer shape, per kind.

Each secret of a call (the new password, the access and secret key, the IAM password and the current
token) is echoed by a hostile fake cloud in every text field of the ECS, gateway, IAM, job and HTML
answer shapes; nothing the client returns, raises or logs may hold it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.fake_cloud import FAST_RETRY, PROJECT, FakeCloud, Recorded, reply

from bot.ecs import (
    AkSkCredentials,
    EcsClient,
    EcsError,
    Endpoints,
    PasswordCredentials,
    ServerResetResult,
    TokenAuthenticator,
)
from bot.ecs.scrub import REDACTED, Scrubber

BATCH = "/v1/pid/cloudservers/os-reset-passwords"
SINGLE = r"/v1/pid/cloudservers/[^/]+/os-reset-password"
JOB = "/v1/pid/jobs/job-1"
ACTION = "/v1/pid/cloudservers/action"
IAM = "/v3/auth/tokens"

NEW_PASSWORD = "Canary=Pw[7x]Q2"
ACCESS_KEY = "AKCANARY0123456789"
SECRET_KEY = "SkCanary-0123456789abcdef"
IAM_PASSWORD = "IamCanary!Pw-42"
TOKEN = "MIItokenCANARY-abcdef0123456789"


def echoing(secret: str) -> list[tuple[int, dict[str, str], bytes]]:
    """Every documented failure shape, with `secret` in every text field (and forms of it)."""
    said = f"new_password '{secret}' rejected"
    internal = [
        {"id": "s2", "error_code": f"Ecs.9999-{secret}", "error_message": said},
        {"id": "s3", "error_code": "Ecs.7777", "error_message": json.dumps({"password": secret})},
    ]
    headers = {"X-Request-Id": f"req-{secret}"}
    shapes: list[tuple[int, dict[str, Any]]] = [
        (200, {"response": [{"id": "s1"}], "internalError": internal}),  # issue 9 case 1
        (400, {"error": {"code": "Ecs.0611", "message": said}, "internalError": internal}),
        (400, {"error": {"code": f"Ecs.{secret}", "message": said}}),
        (400, {"error": {"code": "Ecs.0011", "message": said}}),
        (401, {"error_code": "APIGW.0301", "error_msg": said, "request_id": secret}),
        (404, {"error_code": f"APIGW.{secret}", "error_msg": said}),
        (403, {"error": {"code": "Pdp.0001", "title": said}}),
        (500, {"error_code": "Common.0001", "error_msg": said}),
        (202, {"error_code": "Common.0024", "error_msg": said}),
    ]
    answers = [(status, headers, json.dumps(body).encode()) for status, body in shapes]
    html = f"<html><title>502 {secret}</title><body>&lt;{secret}&gt; {json.dumps(secret)}</body></html>"
    answers.append((502, headers, html.encode()))
    answers.append((200, headers, f'{{"response": [{{"id": "s1"}}], "note": "{secret}"'.encode()))
    return answers


def texts_of(value: object) -> str:
    """Everything a caller could print, store or raise from a result or an error."""
    if isinstance(value, ServerResetResult):
        return repr(value) + str(value._asdict())
    if isinstance(value, BaseException):
        return str(value) + repr(value) + str(value.args) + str(vars(value))
    return repr(value) + str(value)


async def run_every_call(build: Callable[[], EcsClient], password: str) -> list[object]:
    """A batch reset, a per-server reset, the single-server fallback, a reboot and its job; each with a
    client of its own (a refused credential stops the calls of the client that saw it)."""
    seen: list[object] = list(await build().reset_passwords(["s1", "s2", "s3"], password, dry_run=False))
    seen += await build().reset_passwords_each({"s4": password}, dry_run=False)
    client = build()
    client.batch_reset_supported = False
    seen += await client.reset_passwords(["s5"], password, dry_run=False)
    try:
        await build().reboot(["s1"], hard=True, secrets=[password])
    except EcsError as error:
        seen.append(error)
    try:
        seen.append(await build().wait_job("job-1", timeout_s=1, poll_interval_s=0.001, secrets=[password]))
    except EcsError as error:
        seen.append(error)
    return seen


def script(cloud: FakeCloud, status: int, headers: dict[str, str], body: bytes, secret: str) -> None:
    answer = web.Response(status=status, body=body, headers=headers)
    for method, path in (("PUT", BATCH), ("PUT", SINGLE), ("POST", ACTION)):
        cloud.on(method, path, answer)
    cloud.on("GET", JOB, job_answer(secret))


def job_answer(secret: str) -> web.Response:
    sub = {"job_id": "sub-1", "status": "FAIL", "entities": {"server_id": "s1"}, "fail_reason": secret}
    body = {
        "status": "FAIL",
        "fail_reason": f"reboot failed: {secret}",
        "error_code": secret,
        "entities": {"sub_jobs": [sub]},
    }
    return reply(200, body)


class EchoingIam:
    """Issues `TOKEN`; the ECS fake then echoes the token or the IAM password."""

    async def __call__(self, _: Recorded) -> web.Response:
        return reply(201, {"token": {"expires_at": "2999-01-01T00:00:00Z"}}, {"X-Subject-Token": TOKEN})


AKSK = AkSkCredentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
IAM_USER = PasswordCredentials(user="alice", password=IAM_PASSWORD, domain="OTC")
#: Each secret of a call, and the credentials that make the client hold it.
KINDS = {
    "new password": (NEW_PASSWORD, AKSK),
    "access key": (ACCESS_KEY, AKSK),
    "secret key": (SECRET_KEY, AKSK),
    "IAM password": (IAM_PASSWORD, IAM_USER),
    "token": (TOKEN, IAM_USER),
}


@pytest.mark.parametrize("shape", range(len(echoing("x"))))
@pytest.mark.parametrize("kind", list(KINDS))
async def test_call_secrets_never_leave_through_cloud_text(
    cloud: FakeCloud,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    shape: int,
) -> None:
    caplog.set_level("DEBUG")
    secret, credentials = KINDS[kind]
    status, headers, body = echoing(secret)[shape]
    script(cloud, status, headers, body, secret)
    cloud.on("POST", IAM, EchoingIam())
    endpoints = Endpoints(ecs=cloud.url, iam=cloud.url)
    seen = await run_every_call(
        lambda: EcsClient(session, endpoints, PROJECT, credentials, retry=FAST_RETRY), NEW_PASSWORD
    )
    assert cloud.calls("PUT", BATCH)
    assert cloud.calls("PUT", SINGLE)
    assert cloud.calls("GET", JOB)
    leaked = [texts_of(v) for v in seen if secret in texts_of(v)]
    assert not leaked
    assert secret not in caplog.text
    assert any(REDACTED in texts_of(v) for v in seen), "the fake's echo should have been seen, scrubbed"


@pytest.mark.parametrize("shape", range(len(echoing("x"))))
async def test_iam_refusal_never_echoes_the_iam_password(
    cloud: FakeCloud, session: aiohttp.ClientSession, shape: int
) -> None:
    status, headers, body = echoing(IAM_PASSWORD)[shape]
    if 200 <= status < 300:
        status = 401  # a token answer that is a 2xx is no refusal
    cloud.on("POST", IAM, web.Response(status=status, body=body, headers=headers))
    credentials = PasswordCredentials(user="alice", password=IAM_PASSWORD, domain="OTC")
    auth = TokenAuthenticator(session, cloud.url, credentials, PROJECT, retry=FAST_RETRY)
    with pytest.raises(EcsError) as info:
        await auth.token()
    assert IAM_PASSWORD not in texts_of(info.value)


def test_scrubber_masks_every_form_and_the_longest_first() -> None:
    scrub = Scrubber(["Ab=12<x", "Ab=12<x-longer", "abc"])  # "abc" is too short to mask anything
    assert scrub("raw Ab=12<x-longer and Ab=12<x") == f"raw {REDACTED} and {REDACTED}"
    assert scrub(json.dumps("Ab=12<x")) == f'"{REDACTED}"'
    assert scrub("Ab\\u003d12\\u003cx") == REDACTED
    assert scrub("Ab=12&lt;x / Ab%3D12%3Cx") == f"{REDACTED} / {REDACTED}"
    assert scrub("abc") == "abc"
    assert Scrubber([]).text(None) is None
    assert Scrubber([]).text("x") == "x"
    assert "Ab=12" not in repr(scrub)


def test_scrubbing_costs_nothing_until_there_is_text() -> None:
    scrub = Scrubber(["secret-one"])
    assert scrub._pattern is None
    assert scrub("") == ""
    assert scrub._pattern is None
    assert scrub("x secret-one") == f"x {REDACTED}"
