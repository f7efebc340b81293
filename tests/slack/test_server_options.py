"""The server typeahead over signed HTTP (Slack's `block_suggestion`): by name, ID or IP, only for targets the
person may request for, and always within Slack's 3 s, even when the cloud is slow."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_helpers import REQUESTER

from bot.demo import World
from bot.slack import ids

SLACK_DEADLINE_S = 3.0


def _modal_with_target(world: World, user: str, target: str | None) -> dict[str, Any]:
    """The open request modal as a block_suggestion carries it, with `target` picked."""
    [opened] = world.slack.open_views(user)
    picked: dict[str, Any] = {"type": "static_select", "selected_option": None}
    if target is not None:
        picked["selected_option"] = {"value": target}
    return {"id": opened.id, "state": {"values": {ids.TARGET_BLOCK: {ids.TARGET_ACTION: picked}}}}


async def options(
    world: World, typed: str, target: str | None, user: str = REQUESTER
) -> list[dict[str, Any]]:
    await world.open_modal(user)
    view = _modal_with_target(world, user, target)
    started = time.monotonic()
    status, body = await world.send(
        world.requests.block_suggestion(user_id=user, action_id=ids.SERVERS_ACTION, value=typed, view=view)
    )
    assert status == 200
    assert time.monotonic() - started < SLACK_DEADLINE_S
    return list(json.loads(body)["options"])


@pytest.mark.parametrize("how", ["name", "id", "ip"])
async def test_options_match_name_id_or_ip(world: World, how: str) -> None:
    server = next(s for s in world.sim.fleet if s.name == "web-0017")
    typed = {"name": "web-0017", "id": server.id[:13], "ip": server.addresses[0]}[how]
    found = await options(world, typed, "demo-aksk")
    assert server.id in [o["value"] for o in found]
    first = next(o for o in found if o["value"] == server.id)
    assert first["text"]["text"].startswith("web-0017 (")
    assert server.addresses[0] in first["text"]["text"]
    assert len(first["text"]["text"]) <= 75


async def test_options_for_a_prefix_list_many(world: World) -> None:
    found = await options(world, "web-00", "demo-iam")
    assert len(found) == len(world.sim.fleet)
    assert all(o["text"]["text"].startswith("web-00") for o in found)


async def test_options_without_a_picked_target_use_the_only_allowed_one(restricted_world: World) -> None:
    found = await options(restricted_world, "web-0001", None)
    assert [o["text"]["text"].split(" ")[0] for o in found][:1] == ["web-0001"]


async def test_options_for_a_target_the_user_may_not_use(restricted_world: World) -> None:
    assert await options(restricted_world, "web", "demo-iam") == []


async def test_options_for_an_unknown_target(world: World) -> None:
    assert await options(world, "web", "nowhere") == []


async def test_options_when_the_cloud_is_slow_still_answer_in_time(make_world: Any) -> None:
    """A cold inventory behind a slow cloud: the answer is empty but within Slack's deadline."""
    world: World = await make_world(latency_s=2.5)
    await world.open_modal(REQUESTER)
    assert await options(world, "web", "demo-aksk") == []
