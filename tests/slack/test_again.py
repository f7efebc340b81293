""" "Request again for these servers": offered on a finished request with failures, to its requester only."""

from __future__ import annotations

from typing import Any

import pytest
from slack_helpers import (
    APPROVERS,
    GOOD_REASON,
    REQUESTER,
    block_texts,
    card,
    resettable_servers,
    server_id,
    status_of,
    submit_request,
)
from surfaces import opened_view
from test_shortcuts import picked, selected_target

from bot.demo import World, button_value
from bot.domain import RequestStatus
from bot.simulator.slack import StoredMessage
from bot.slack import ids


async def finished_dm(world: World, request_id: int) -> StoredMessage:
    """The requester's status DM once it shows the request finished (it is edited in place)."""
    channel = world.slack.dm_channel(REQUESTER)

    def dm() -> StoredMessage:
        return world.message_like(channel, f"Request #{request_id}")

    def finished(_: Any = None) -> bool:
        try:
            return "Request again" in str(dm().blocks) or "*Done*" in block_texts(dm().blocks)
        except LookupError:
            return False

    if not finished():
        await world.slack.wait_for("chat.update", lambda c: finished(), 20.0)
    return dm()


async def partly_failed(world: World, names: list[str], broken: list[str], **kwargs: Any) -> int:
    """A request for `names` whose `broken` servers get locked after pre-flight, so they fail to reset."""
    request = await submit_request(world, names, **kwargs)
    for name in broken:
        world.sim.fleet.get(server_id(world, name)).locked = True
    approvers = APPROVERS[: request.approvals_required]
    for approver in approvers:
        await world.click(approver, ids.APPROVE_ACTION, card(world, request.id))
    await finished_dm(world, request.id)
    return request.id


async def test_request_again_prefills_exactly_the_failed_servers(world: World) -> None:
    names = resettable_servers(world, 3)
    request_id = await partly_failed(world, names, [names[1]])
    assert await status_of(world, request_id) == RequestStatus.PARTLY_FAILED
    dm = await finished_dm(world, request_id)
    assert button_value(dm.blocks, ids.AGAIN_ACTION) == str(request_id)

    since = world.slack.call_count
    status, _ = await world.click(REQUESTER, ids.AGAIN_ACTION, dm)
    assert status == 200
    _, view = await opened_view(world, REQUESTER, since)
    assert picked(view) == [server_id(world, names[1])]
    assert selected_target(view) == "demo-aksk"
    reason = next(b for b in view["blocks"] if b.get("block_id") == ids.REASON_BLOCK)
    # demo-aksk wants the reason to start with a ticket ID, so the number goes after it.
    assert reason["element"]["initial_value"] == f"{GOOD_REASON} (again for #{request_id})"
    assert f"of request #{request_id} that failed" in block_texts(view["blocks"])


async def test_request_again_puts_the_number_first_without_a_pattern(world: World) -> None:
    names = resettable_servers(world, 2)
    request_id = await partly_failed(world, names, [names[0]], target="demo-iam", reason="broken login")
    since = world.slack.call_count
    await world.click(REQUESTER, ids.AGAIN_ACTION, await finished_dm(world, request_id))
    _, view = await opened_view(world, REQUESTER, since)
    reason = next(b for b in view["blocks"] if b.get("block_id") == ids.REASON_BLOCK)
    assert reason["element"]["initial_value"] == f"Again for #{request_id}: broken login"
    assert selected_target(view) == "demo-iam"


async def test_no_request_again_when_every_server_succeeded(world: World) -> None:
    names = resettable_servers(world, 2)
    request_id = await partly_failed(world, names, [])
    dm = await finished_dm(world, request_id)
    with pytest.raises(LookupError):
        button_value(dm.blocks, ids.AGAIN_ACTION)


@pytest.mark.parametrize("clicker", [APPROVERS[0], "UOUTSIDER"])
async def test_request_again_is_the_requesters_only(world: World, clicker: str) -> None:
    names = resettable_servers(world, 2)
    request_id = await partly_failed(world, names, [names[0]])
    dm = await finished_dm(world, request_id)
    since = world.slack.call_count
    await world.click(clicker, ids.AGAIN_ACTION, dm)  # a forged or forwarded click
    _, view = await opened_view(world, clicker, since)
    assert view.get("callback_id") != ids.REQUEST_MODAL
    assert f"Request #{request_id} is not one of yours." in block_texts(view["blocks"])
