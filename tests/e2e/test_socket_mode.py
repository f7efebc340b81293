"""Socket Mode, the default deployment: the bot dials the (fake) Slack, no public URL, same flow.

The fake Slack answers `apps.connections.open` with its own WebSocket, sends the envelopes a real
workspace would, and reads the bot's acks; `/healthz` still serves on BOT_HTTP_PORT for the container.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.harness import APPROVERS, APPROVERS_CHANNEL, REQUESTER, Stack, make_stack, passwords_in_blocks

from bot.demo import submission_values
from bot.simulator.slack import FAKE_APP_TOKEN
from bot.slack import ids

pytestmark = pytest.mark.e2e


@pytest.fixture
async def socket_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with make_stack(tmp_path) as stack:
        await stack.start_bot(BOT_MODE="socket", SLACK_APP_TOKEN=FAKE_APP_TOKEN, SLACK_SIGNING_SECRET="")
        await stack.slack.socket_connected(timeout=20)
        yield stack


async def test_whole_flow_over_socket_mode(socket_stack: Stack) -> None:
    stack, slack, requests = socket_stack, socket_stack.slack, socket_stack.requests
    servers = stack.resettable(2)

    since = slack.call_count
    assert await slack.socket_deliver(requests.slash_command(ids.COMMAND, "", user_id=REQUESTER)) == {}
    await slack.wait_for("views.open", None, 10, since=since)
    [modal] = [v for v in slack.open_views(REQUESTER) if v.callback_id == ids.REQUEST_MODAL]

    values = submission_values(target="e2e-aksk", paste="\n".join(servers), reason="OPS-7 socket mode")
    answer = await slack.socket_deliver(
        requests.view_submission(user_id=REQUESTER, view={"id": modal.id}, values=values)
    )
    assert "errors" not in answer, answer

    card_call = await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == APPROVERS_CHANNEL and not c.args.get("thread_ts"),
        20,
    )
    request_id = int(str(card_call.args["text"]).split("#")[1].split()[0])
    card = await stack.card(request_id)
    await slack.socket_deliver(
        requests.block_actions(
            user_id=APPROVERS[0],
            action_id=ids.APPROVE_ACTION,
            value=str(request_id),
            channel_id=card.channel,
            message_ts=card.ts,
            message=card.as_api(),
        )
    )
    await stack.wait_final(request_id)
    [ephemeral] = [e for e in slack.ephemerals(user=REQUESTER) if passwords_in_blocks(e.blocks)]
    [password] = set(passwords_in_blocks(ephemeral.blocks))
    for name in servers:
        assert stack.sim.fleet.password_matches(stack.server_id(name), password)

    # SIGTERM: the bot closes its socket, finishes what is in flight and exits cleanly.
    assert await stack.bot.stop() == 0
