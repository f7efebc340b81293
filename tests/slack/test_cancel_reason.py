"""`cancel <id> <reason>` by an approver over signed HTTP: refused without a reason, and with one the
reason is on the card, in its thread and in the requester's DM."""

from __future__ import annotations

import json

from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    REQUESTER,
    block_texts,
    card_where,
    resettable_servers,
    status_of,
    submit_request,
)

from bot.demo import World
from bot.slack import ids
from bot.workflow import RequestStatus


async def cancel(world: World, user: str, words: str) -> str:
    status, body = await world.send(
        world.requests.slash_command(ids.COMMAND, f"cancel {words}", user_id=user)
    )
    assert status == 200
    return str(json.loads(body)["text"]) if body.strip().startswith("{") else body


async def test_an_approver_cancels_with_a_reason_everyone_sees(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    refused = await cancel(world, APPROVERS[0], str(request.id))
    assert "say why" in refused
    assert await status_of(world, request.id) == RequestStatus.PENDING
    done = await cancel(world, APPROVERS[0], f"{request.id} <!here> duplicate of OPS-41")
    assert done == f"Request #{request.id} cancelled."
    shown = await card_where(world, request.id, lambda m: "duplicate of OPS-41" in block_texts(m.blocks))
    assert "&lt;!here&gt; duplicate of OPS-41" in block_texts(shown.blocks)
    thread = await world.slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == APPROVERS_CHANNEL and "Cancelled by" in str(c.args.get("text")),
        10,
    )
    assert "duplicate of OPS-41" in str(thread.args["text"])
    told = await world.slack.wait_for(
        "chat.postMessage",
        lambda c: f"Your request #{request.id} was cancelled by <@{APPROVERS[0]}>" in str(c.args.get("text")),
        10,
    )
    assert "duplicate of OPS-41" in str(told.args["text"])
    assert REQUESTER != APPROVERS[0]
