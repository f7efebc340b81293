"""Batch and single password resets: validation, per-server errors, dry run, the real change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_http import Api

from bot.simulator.password_rules import password_violations

GOOD = "Xk7:mQ2-pL9w"
BATCH = "/cloudservers/os-reset-passwords"


def ids(api: Api, n: int) -> list[dict[str, str]]:
    return [{"id": s.id} for s in list(api.sim.fleet)[:n]]


@pytest.mark.parametrize(
    ("password", "windows"),
    [
        ("Ab1:xyz", False),  # 7 characters
        ("Ab1:" + "x" * 23, False),  # 27 characters
        ("abcdefgh12", False),  # two classes
        ("ABCDEFGH!!", False),  # two classes
        ("Abcdefgh12#", False),  # '#' is not an allowed special
        ("Abcdefgh 12", False),  # space
        ("Abcdéfgh12", False),  # non-ASCII letter
        ("Xy1:RooTabc", False),  # contains root, any case
        ("Xy1:toorabc", False),  # root reversed
        ("Xy1administrator", False),  # Administrator, on any server
        ("Xy1:rotartsinimda", False),  # reversed
        ("Xy1:mINuvw", True),  # 'min' from Administrator, Windows only
    ],
)
async def test_each_password_rule_gives_ecs_0011(api: Api, password: str, windows: bool) -> None:
    server = api.sim.fleet.add("target", os_type="Windows" if windows else "Linux")
    answer = await api.call(
        "PUT",
        api.ecs(BATCH),
        json={"new_password": password, "dry_run": True, "servers": [{"id": server.id}]},
    )
    assert (answer.status, answer.body["error"]["code"]) == (400, "Ecs.0011")
    single = await api.call(
        "PUT",
        api.ecs(f"/cloudservers/{server.id}/os-reset-password"),
        json={"reset-password": {"new_password": password}},
    )
    assert (single.status, single.body["error"]["code"]) == (400, "Ecs.0011")


async def test_windows_only_rule_does_not_apply_to_linux(api: Api) -> None:
    answer = await api.call(
        "PUT", api.ecs(BATCH), json={"new_password": "Xy1:mINuvw", "dry_run": True, "servers": ids(api, 2)}
    )
    assert answer.status == 200


@given(st.text(alphabet="abcXYZ019!@%-_=+[]:./?#", min_size=8, max_size=26))
def test_rule_checker_accepts_only_three_classes_of_allowed_characters(password: str) -> None:
    classes = sum(
        any(c in group for c in password) for group in ("abcXYZ"[:3], "XYZ", "019", "!@%-_=+[]:./?")
    )
    problems = password_violations(password)
    if "#" in password or classes < 3:
        assert problems
    else:
        assert problems == []


async def test_batch_size_limits(api: Api) -> None:
    too_many = [{"id": f"id-{i}"} for i in range(1001)]
    answer = await api.call("PUT", api.ecs(BATCH), json={"new_password": GOOD, "servers": too_many})
    assert (answer.status, answer.body["error"]["code"]) == (400, "Ecs.0118")
    empty = await api.call("PUT", api.ecs(BATCH), json={"new_password": GOOD, "servers": []})
    assert (empty.status, empty.body["error"]["code"]) == (400, "Ecs.0005")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"new_password": "Xk7:mQ2-pL9w", "servers": [{"uuid": "x"}]}',
        b'{"new_password": "Xk7:mQ2-pL9w", "dry_run": "yes", "servers": [{"id": "x"}]}',
        b'{"new_password": 12345678, "servers": [{"id": "x"}]}',
        b'{"dry_run": false, "servers": [{"id": "x"}]}',
        b'{"new_password": "Xk7:mQ2-pL9w", "servers": [{"id": "x"}, {"id": "x"}]}',
    ],
)
async def test_malformed_requests_give_ecs_0005(api: Api, body: bytes) -> None:
    answer = await api.call("PUT", api.ecs(BATCH), raw=body)
    assert (answer.status, answer.body["error"]["code"]) == (400, "Ecs.0005")


async def test_bad_servers_go_to_internal_error(api: Api) -> None:
    fleet = api.sim.fleet
    good = fleet.add("good")
    stopped = fleet.add("stopped", status="SHUTOFF")
    locked = fleet.add("locked", locked=True)
    no_plugin = fleet.add("no-plugin", plugin_installed=False)
    rebooting = fleet.add("rebooting", status="REBOOT")
    servers = [{"id": s.id} for s in (good, stopped, locked, no_plugin, rebooting)] + [{"id": "ghost"}]
    answer = await api.call(
        "PUT", api.ecs(BATCH), json={"new_password": GOOD, "dry_run": False, "servers": servers}
    )
    assert answer.status == 200
    assert answer.body["response"] == [{"id": good.id}, {"id": stopped.id}]
    codes = {e["id"]: e["error_code"] for e in answer.body["internalError"]}
    assert codes == {
        locked.id: "Ecs.0605",
        no_plugin.id: "Ecs.0100",
        rebooting.id: "Ecs.0100",
        "ghost": "Ecs.0114",
    }
    assert all(e["error_message"] for e in answer.body["internalError"])
    assert fleet.password_matches(good.id, GOOD)
    assert fleet.password_matches(stopped.id, GOOD)
    assert not fleet.password_matches(locked.id, GOOD)


async def test_all_servers_failing_gives_ecs_0611(api: Api) -> None:
    locked = api.sim.fleet.add("locked", locked=True)
    answer = await api.call(
        "PUT", api.ecs(BATCH), json={"new_password": GOOD, "servers": [{"id": locked.id}, {"id": "ghost"}]}
    )
    assert answer.status == 400
    assert answer.body["error"]["code"] == "Ecs.0611"
    assert {e["error_code"] for e in answer.body["internalError"]} == {"Ecs.0605", "Ecs.0114"}


async def test_dry_run_changes_nothing(api: Api) -> None:
    servers = ids(api, 3)
    answer = await api.call(
        "PUT", api.ecs(BATCH), json={"new_password": GOOD, "dry_run": True, "servers": servers}
    )
    assert answer.status == 200
    assert answer.body == {"response": servers}
    assert all(s.password_changed_at is None and not s.password_hash for s in api.sim.fleet)
    no_password = await api.call("PUT", api.ecs(BATCH), json={"dry_run": True, "servers": servers})
    assert no_password.status == 200


async def test_real_reset_sets_the_hash(api: Api) -> None:
    servers = ids(api, 1000)[:40]
    answer = await api.call(
        "PUT", api.ecs(BATCH), json={"new_password": GOOD, "dry_run": False, "servers": servers}
    )
    assert answer.status == 200
    assert "internalError" not in answer.body
    for entry in servers:
        assert api.sim.fleet.password_matches(entry["id"], GOOD)
        assert api.sim.fleet.get(entry["id"]).password_pending_reboot  # type: ignore[union-attr]
    second = "Other:Pass9"
    await api.call("PUT", api.ecs(BATCH), json={"new_password": second, "servers": servers[:1]})
    assert api.sim.fleet.password_matches(servers[0]["id"], second)
    assert not api.sim.fleet.password_matches(servers[0]["id"], GOOD)


async def test_batch_api_unavailable_answers_like_the_gateway_and_single_reset_works(api: Api) -> None:
    api.sim.batch_api_available = False
    [entry] = ids(api, 1)
    answer = await api.call("PUT", api.ecs(BATCH), json={"new_password": GOOD, "servers": [entry]})
    assert answer.status == 404
    assert answer.body["error_code"] == "APIGW.0101"
    assert answer.body["error_msg"] == "The API does not exist or has not been published in the environment"
    assert answer.body["request_id"] == answer.headers["X-Request-Id"]
    single = await api.call(
        "PUT",
        api.ecs(f"/cloudservers/{entry['id']}/os-reset-password"),
        json={"reset-password": {"new_password": GOOD}},
    )
    assert single.status == 204
    assert single.body is None
    assert api.sim.fleet.password_matches(entry["id"], GOOD)


async def test_single_reset_errors(api: Api) -> None:
    fleet = api.sim.fleet
    locked = fleet.add("locked", locked=True)
    no_plugin = fleet.add("np", plugin_installed=False)
    body = {"reset-password": {"new_password": GOOD}}
    cases = [("ghost", 404, "Ecs.0114"), (locked.id, 400, "Ecs.0605"), (no_plugin.id, 400, "Ecs.0100")]
    for server_id, status, code in cases:
        answer = await api.call("PUT", api.ecs(f"/cloudservers/{server_id}/os-reset-password"), json=body)
        assert (answer.status, answer.body["error"]["code"]) == (status, code)
    malformed = await api.call(
        "PUT", api.ecs(f"/cloudservers/{locked.id}/os-reset-password"), json={"new_password": GOOD}
    )
    assert malformed.body["error"]["code"] == "Ecs.0005"


async def test_unknown_api_is_apigw_0101(api: Api) -> None:
    answer = await api.call("GET", api.ecs("/cloudservers/x/no-such-thing"))
    assert (answer.status, answer.body["error_code"]) == (404, "APIGW.0101")
