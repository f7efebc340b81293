"""Break-glass runs awaiting review on the approvers' Home tabs, over signed HTTP: listed for the approvers
of the target only, with Acknowledge and Flag under every check of the card's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from break_glass_aids import IC, REASON, break_glass, start
from home_aids import buttons, click_home, published_for, text_of
from slack_helpers import APPROVERS, OUTSIDER, block_texts, card_says, card_where, resettable_servers

from bot.demo import World
from bot.domain import ReviewState
from bot.slack import ids

TO_REVIEW = "Break-glass runs to review"


@pytest.fixture
async def bg_world(make_world: Any, tmp_path: Path) -> World:
    return await start(make_world, tmp_path)


async def review_state(world: World, request_id: int) -> ReviewState | None:
    request = await world.runtime.store.get_request(request_id)
    assert request is not None
    assert request.break_glass is not None
    return request.break_glass.state


async def ran(world: World) -> int:
    """A break-glass run of the incident commander on demo-aksk, finished and awaiting review."""
    request_id = await break_glass(world, IC, resettable_servers(world, 1))
    await card_where(world, request_id, card_says("*Done*"))
    assert await review_state(world, request_id) == ReviewState.AWAITING
    return request_id


async def test_a_run_awaiting_review_is_on_its_approvers_home_tabs_only(bg_world: World) -> None:
    world = bg_world
    request_id = await ran(world)
    for approver in APPROVERS:
        home = await world.open_home(approver)
        shown = text_of(home)
        assert TO_REVIEW in shown
        assert f"#{request_id}" in shown
        assert f"<@{IC}>" in shown
        assert REASON in shown
        assert (ids.HOME_ACKNOWLEDGE_ACTION, str(request_id)) in buttons(home)
        assert (ids.FLAG_ACTION, str(request_id)) in buttons(home)
    for other in (IC, OUTSIDER):  # the one who ran it reviews nothing of theirs; an outsider sees nothing
        home = await world.open_home(other)
        assert TO_REVIEW not in text_of(home)
        assert ids.HOME_ACKNOWLEDGE_ACTION not in dict(buttons(home))
        assert ids.FLAG_ACTION not in dict(buttons(home))


async def test_acknowledge_from_home_is_recorded_and_leaves_every_approvers_list(bg_world: World) -> None:
    world = bg_world
    request_id = await ran(world)
    acknowledger, other = APPROVERS
    await world.open_home(other)
    await world.open_home(acknowledger)
    since = world.slack.call_count
    await click_home(world, acknowledger, ids.HOME_ACKNOWLEDGE_ACTION, str(request_id))
    answered = await published_for(
        world, acknowledger, f"Break-glass request #{request_id} acknowledged.", since
    )
    assert TO_REVIEW not in text_of(answered)
    assert await review_state(world, request_id) == ReviewState.ACKNOWLEDGED
    await card_where(world, request_id, card_says(f"Acknowledged by <@{acknowledger}>"))
    # The other approver, looking at their Home tab, sees it leave; their stale button says why.
    await world.slack.wait_for(
        "views.publish",
        lambda c: c.ok and c.args.get("user_id") == other and TO_REVIEW not in json.dumps(c.args),
        15.0,
        since=since,
    )
    since = world.slack.call_count
    await click_home(world, other, ids.HOME_ACKNOWLEDGE_ACTION, str(request_id))
    await published_for(world, other, f"Break-glass request #{request_id} was already acknowledged.", since)


@pytest.mark.parametrize(
    ("clicker", "refusal"),
    [
        (IC, "You cannot review your own break-glass request"),
        (OUTSIDER, "Only approvers of demo-aksk review break-glass request"),
    ],
)
async def test_a_crafted_acknowledge_on_the_home_tab_is_refused(
    bg_world: World, clicker: str, refusal: str
) -> None:
    """A button the person was never shown, forged with a real request number: the workflow's checks
    refuse it, on their Home tab, and nothing changes."""
    world = bg_world
    request_id = await ran(world)
    since = world.slack.call_count
    await click_home(world, clicker, ids.HOME_ACKNOWLEDGE_ACTION, str(request_id))
    answered = await published_for(world, clicker, refusal, since)
    assert REASON not in text_of(answered)
    assert await review_state(world, request_id) == ReviewState.AWAITING


async def test_flag_from_home_asks_for_a_reason_as_on_the_card(bg_world: World) -> None:
    world = bg_world
    request_id = await ran(world)
    flagger = APPROVERS[1]
    await world.open_home(flagger)
    since = world.slack.call_count
    await click_home(world, flagger, ids.FLAG_ACTION, str(request_id))
    await world.slack.wait_for("views.open", None, 10.0, since=since)
    [modal] = world.slack.open_views(flagger)
    assert modal.callback_id == ids.FLAG_MODAL
    why = {
        ids.FLAG_REASON_BLOCK: {ids.FLAG_REASON_ACTION: {"type": "plain_text_input", "value": "no incident"}}
    }
    status, answer = await world.send(
        world.requests.view_submission(user_id=flagger, view=world.slack.view_payload(modal.id), values=why)
    )
    assert (status, answer.strip()) == (200, "")
    disputed = await card_where(world, request_id, card_says("DISPUTED"))
    assert "no incident" in block_texts(disputed.blocks)
    assert await review_state(world, request_id) == ReviewState.DISPUTED
    await world.slack.wait_for(
        "views.publish",
        lambda c: c.ok and c.args.get("user_id") == flagger and TO_REVIEW not in json.dumps(c.args),
        15.0,
        since=since,
    )
