"""The simulated IAM: tokens issued, used, expired, revoked and counted."""

from __future__ import annotations

from datetime import UTC, datetime

from sim_http import Api
from support.clock import ManualClock


async def test_token_is_issued_and_accepted(api: Api, clock: ManualClock) -> None:
    token = await api.token()
    call = api.sim.calls_to("/v3/auth/tokens")[-1]
    assert call.status == 201
    assert call.body["auth"]["identity"]["password"]["user"]["password"] == "***"
    answer = await api.call("GET", api.ecs("/cloudservers/detail"), token=token)
    assert answer.status == 200
    assert api.sim.calls[-1].auth == "token"
    assert api.sim.tokens_issued == 1


async def test_expires_at_follows_the_configured_lifetime(api: Api, clock: ManualClock) -> None:
    api.sim.token_lifetime_s = 600
    token = await api.token()
    answer = await api.call(
        "POST",
        "/v3/auth/tokens",
        auth=False,
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": api.sim.users[0].name,
                            "password": api.sim.users[0].password,
                            "domain": {"name": api.sim.users[0].domain},
                        }
                    },
                },
                "scope": {"project": {"name": api.sim.project_name}},
            }
        },
    )
    expires = datetime.strptime(answer.body["token"]["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC
    )
    assert expires.timestamp() == clock() + 600
    clock.advance(599)
    assert (await api.call("GET", api.ecs("/cloudservers/detail"), token=token)).status == 200
    clock.advance(1)
    expired = await api.call("GET", api.ecs("/cloudservers/detail"), token=token)
    assert (expired.status, expired.body["error_code"]) == (401, "APIGW.0301")


async def test_wrong_credentials_and_scope_are_refused(api: Api) -> None:
    for overrides in (
        {"password": "wrong"},
        {"name": "nobody"},
        {"domain": "other"},
        {"project_id": "f" * 32},
    ):
        body = api.token_body(**overrides)
        answer = await api.call("POST", "/v3/auth/tokens", json=body, auth=False)
        assert answer.status == 401, overrides
        assert answer.body["error"]["title"] == "Unauthorized"
    malformed = await api.call("POST", "/v3/auth/tokens", raw=b"{not json", auth=False)
    assert malformed.status == 400
    assert api.sim.tokens_issued == 0


async def test_revoked_and_unknown_tokens_are_refused(api: Api) -> None:
    first, second = await api.token(), await api.token()
    api.sim.revoke_tokens(first)
    assert (await api.call("GET", api.ecs("/cloudservers/detail"), token=first)).status == 401
    assert (await api.call("GET", api.ecs("/cloudservers/detail"), token=second)).status == 200
    api.sim.revoke_tokens()
    assert (await api.call("GET", api.ecs("/cloudservers/detail"), token=second)).status == 401
    assert (await api.call("GET", api.ecs("/cloudservers/detail"), token="MIIforged")).status == 401
    assert api.sim.tokens_issued == 2


async def test_token_for_another_project_path_is_forbidden(api: Api) -> None:
    token = await api.token()
    answer = await api.call("GET", f"/v1/{'f' * 32}/cloudservers/detail", token=token)
    assert answer.status == 403
