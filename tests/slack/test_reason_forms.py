"""The reason forms (Deny, Flag) past Slack's 3 s, over signed HTTP: the decision runs to its end in its
own task, and a late refusal reaches the person by DM (the denial's own case is in test_approvals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from break_glass_aids import IC, break_glass, start
from slack_helpers import APPROVERS, card_says, card_where, resettable_servers

from bot.demo import World
from bot.domain import ReviewState
from bot.slack import ids


@pytest.fixture
async def bg_world(make_world: Any, tmp_path: Path) -> World:
    return await start(make_world, tmp_path)


def flag_values(reason: str) -> dict[str, Any]:
    return {ids.FLAG_REASON_BLOCK: {ids.FLAG_REASON_ACTION: {"type": "plain_text_input", "value": reason}}}


async def flag_form(world: World, user: str, request_id: int) -> Any:
    since = world.slack.call_count
    await world.click(user, ids.FLAG_ACTION, await card_where(world, request_id, card_says("*Done*")))
    await world.slack.wait_for(
        "views.open", lambda c: ids.FLAG_MODAL in json.dumps(c.args.get("view")), 10.0, since=since
    )
    return world.slack.open_views(user)[-1]


async def test_a_flag_slower_than_slack_waits_is_recorded_whole(bg_world: World) -> None:
    world = bg_world
    request_id = await break_glass(world, IC, resettable_servers(world, 1))
    modal = await flag_form(world, APPROVERS[0], request_id)
    writers = world.runtime.store._sqlite_writers
    assert writers is not None
    async with writers:  # every write of this process waits, as on a database that stalls
        status, body = await world.send(
            world.requests.view_submission(
                user_id=APPROVERS[0],
                view=world.slack.view_payload(modal.id),
                values=flag_values("no incident"),
            )
        )
        assert status == 200
        answer = json.loads(body)
        assert answer["response_action"] == "update"
        assert "still being recorded" in json.dumps(answer["view"])
    await card_where(world, request_id, card_says("DISPUTED"))
    await world.runtime.tasks.idle()
    stored = await world.runtime.store.get_request(request_id)
    assert stored is not None
    assert stored.break_glass is not None
    assert stored.break_glass.state == ReviewState.DISPUTED


async def test_a_flag_refused_after_the_deadline_is_told_by_dm(bg_world: World) -> None:
    """Two approvers flag at once while the database stalls: one wins; the other was told "still being
    recorded", so the refusal that follows reaches them in the bot's DM."""
    world = bg_world
    request_id = await break_glass(world, IC, resettable_servers(world, 1))
    first = await flag_form(world, APPROVERS[0], request_id)
    second = await flag_form(world, APPROVERS[1], request_id)
    writers = world.runtime.store._sqlite_writers
    assert writers is not None
    async with writers:
        for user, modal in ((APPROVERS[0], first), (APPROVERS[1], second)):
            status, body = await world.send(
                world.requests.view_submission(
                    user_id=user,
                    view=world.slack.view_payload(modal.id),
                    values=flag_values(f"flag by {user}"),
                )
            )
            assert status == 200
            assert json.loads(body)["response_action"] == "update"
    await world.runtime.tasks.idle()
    told = [
        m.text
        for user in APPROVERS
        for m in world.slack.messages(world.slack.dm_channel(user))
        if f"Break-glass request #{request_id} was already flagged" in m.text
    ]
    assert len(told) == 1, told
