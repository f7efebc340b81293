"""The global and message shortcuts over signed HTTP: what the form opens with, and what it then creates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slack_helpers import GOOD_REASON, OUTSIDER, REQUESTER, block_texts, resettable_servers, targets_file
from surfaces import global_shortcut, message_shortcut, opened_view

from bot.demo import World, submission_values
from bot.simulator import Fleet, Simulator
from bot.slack import ids


def picked(view: dict[str, Any]) -> list[str]:
    """Server IDs pre-selected in the form's server picker."""
    for block in view["blocks"]:
        if block.get("block_id") == ids.SERVERS_BLOCK:
            return [o["value"] for o in block["element"].get("initial_options") or []]
    raise LookupError("no server picker")


def selected_target(view: dict[str, Any]) -> str | None:
    for block in view["blocks"]:
        if block.get("block_id") == ids.TARGET_BLOCK:
            initial = block["element"].get("initial_option")
            return initial["value"] if initial else None
    raise LookupError("no target select")


async def test_global_shortcut_opens_the_form(world: World) -> None:
    since = world.slack.call_count
    status, _ = await world.send(global_shortcut(world, REQUESTER, ids.GLOBAL_SHORTCUT))
    assert status == 200
    _, view = await opened_view(world, REQUESTER, since)
    assert view["callback_id"] == ids.REQUEST_MODAL
    targets = next(b for b in view["blocks"] if b.get("block_id") == ids.TARGET_BLOCK)
    assert [o["value"] for o in targets["element"]["options"]] == ["demo-aksk", "demo-iam"]


async def test_global_shortcut_tells_someone_without_targets(restricted_world: World) -> None:
    world = restricted_world
    since = world.slack.call_count
    status, _ = await world.send(global_shortcut(world, OUTSIDER, ids.GLOBAL_SHORTCUT))
    assert status == 200
    _, view = await opened_view(world, OUTSIDER, since)
    assert "may not request password resets for any target" in block_texts(view["blocks"])


async def test_message_shortcut_prefills_servers_named_by_name_id_and_ip(world: World) -> None:
    first, second, third, _ = resettable_servers(world, 4)
    by_id = world.sim.fleet.by_name(second)
    by_ip = world.sim.fleet.by_name(third)
    assert by_id is not None
    assert by_ip is not None
    alert = {
        "text": f":rotating_light: CPU high on {first}. Also {by_id.id} (node exporter down).",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Host address"},
                "fields": [{"type": "mrkdwn", "text": f"*IP*\n{by_ip.addresses[0]}"}],
            }
        ],
    }
    since = world.slack.call_count
    status, _ = await world.send(message_shortcut(world, REQUESTER, ids.MESSAGE_SHORTCUT, alert))
    assert status == 200
    _, view = await opened_view(world, REQUESTER, since)
    wanted = {world.sim.fleet.by_name(n).id for n in (first, second, third)}  # type: ignore[union-attr]
    assert set(picked(view)) == wanted
    assert selected_target(view) == "demo-aksk"  # both targets see this fleet: the first wins a tie
    text = block_texts(view["blocks"])
    assert "Found 3 server(s) of demo-aksk" in text
    assert "also names 3 server(s) of demo-iam" in text

    # Submitting the form as drawn creates a request for exactly those servers.
    values = submission_values(target="demo-aksk", paste="", reason=GOOD_REASON, picked=picked(view))
    status, answer = await world.send(
        world.requests.view_submission(user_id=REQUESTER, view=view, values=values)
    )
    assert status == 200, answer
    assert not answer.strip(), answer
    request = (await world.runtime.store.list_requests(requester_id=REQUESTER, limit=1))[0]
    assert {s.server_id for s in await world.runtime.store.servers(request.id)} == wanted


async def test_message_shortcut_on_a_message_naming_no_server(world: World) -> None:
    since = world.slack.call_count
    message = {"text": "Deploy of web-frontend 9999 finished; nothing to see (10.255.255.254)."}
    status, _ = await world.send(message_shortcut(world, REQUESTER, ids.MESSAGE_SHORTCUT, message))
    assert status == 200
    _, view = await opened_view(world, REQUESTER, since)
    assert picked(view) == []
    assert "No server of your targets is named in that message" in block_texts(view["blocks"])
    assert selected_target(view) is None  # two targets: the requester picks


async def test_message_shortcut_with_servers_of_two_targets(make_world: Any, tmp_path: Path) -> None:
    second = Simulator(Fleet.generate(12, seed=3, name_prefix="db"))
    await second.start()
    try:
        url = '"${SECOND_SIM_URL:-http://127.0.0.1:1}"'
        config = targets_file(tmp_path, {"demo-iam": {"ecs_endpoint": url, "iam_endpoint": url}})
        world: World = await make_world(env={"BOT_CONFIG": str(config), "SECOND_SIM_URL": second.url})
        web = resettable_servers(world, 1)
        dbs = sorted(s.name for s in second.fleet if s.plugin_installed and not s.locked)[:2]
        message = {"text": f"Disk full: {web[0]}, {dbs[0]} and {dbs[1]}."}
        since = world.slack.call_count
        status, _ = await world.send(message_shortcut(world, REQUESTER, ids.MESSAGE_SHORTCUT, message))
        assert status == 200
        _, view = await opened_view(world, REQUESTER, since)
        assert selected_target(view) == "demo-iam"  # the target the message names most
        assert set(picked(view)) == {second.fleet.by_name(n).id for n in dbs}  # type: ignore[union-attr]
        text = block_texts(view["blocks"])
        assert "Found 2 server(s) of demo-iam" in text
        assert f"also names 1 server(s) of demo-aksk ({web[0]})" in text
        assert "request those separately" in text
    finally:
        await second.stop()
