"""The bot as operators run it (`python -m bot run`, HTTP mode), driven end to end over real HTTP.

Slash command -> modal -> submission -> pre-flight -> card -> approval(s) -> ephemeral password +
one-time Reveal -> reveal modal; the password delivered must be the one the cloud now holds.
"""

from __future__ import annotations

import pytest
from support.harness import APPROVERS, REQUESTER, Stack

from bot.slack import ids

pytestmark = pytest.mark.e2e


async def test_health_and_metrics_are_served(stack: Stack) -> None:
    async with stack.http.get(f"{stack.bot.url}/healthz") as r:
        assert r.status == 200
        assert (await r.json())["ok"] is True
    async with stack.http.get(f"{stack.bot.url}/metrics") as r:
        assert r.status == 200
        assert "# HELP" in await r.text()


@pytest.mark.parametrize(
    ("target", "mode", "approvers"),
    [
        pytest.param("e2e-aksk", "shared", APPROVERS[:1], id="aksk-shared-1-approval"),
        pytest.param("e2e-aksk", "per_server", APPROVERS[:1], id="aksk-per-server-1-approval"),
        pytest.param("e2e-iam", "shared", APPROVERS[:2], id="iam-shared-2-approvals"),
        pytest.param("e2e-iam", "per_server", APPROVERS[:2], id="iam-per-server-2-approvals"),
    ],
)
async def test_request_to_revealed_password(
    stack: Stack, target: str, mode: str, approvers: tuple[str, ...]
) -> None:
    names = stack.resettable(3)
    request_id, card = await stack.new_request(REQUESTER, names, target=target, mode=mode)
    assert "Approve" in str(card.blocks)

    if len(approvers) == 2:
        # One approval is not enough: nothing is reset before the second.
        status, _ = await stack.click(approvers[0], ids.APPROVE_ACTION, card)
        assert status == 200
        answer = await stack.slack.wait_for(
            "chat.postEphemeral", lambda c: c.args.get("user") == approvers[0], 15
        )
        assert "1 more approval" in str(answer.args["text"])
        assert stack.reset_calls() == {}
        approvers = approvers[1:]

    flow = await stack.approve_and_collect(request_id, await stack.card(request_id), approvers)
    await stack.wait_final(request_id)

    # The ephemeral copy and the reveal modal carry the same password(s) ...
    assert flow.ephemeral_passwords, "no password in the ephemeral message"
    assert sorted(flow.ephemeral_passwords) == sorted(flow.revealed_passwords)
    expected_count = 1 if mode == "shared" else len(names)
    assert len(flow.revealed_passwords) == expected_count
    # ... and they are what the cloud now holds, one per server in per-server mode.
    for name in names:
        server_id = stack.server_id(name)
        matches = [p for p in flow.revealed_passwords if stack.sim.fleet.password_matches(server_id, p)]
        assert len(matches) == 1, f"{name}: the delivered password is not the one set"
    assert stack.reset_calls() == {stack.server_id(n): 1 for n in names}

    # A second Reveal gets a refusal, never the password again.
    done = await stack.slack.wait_for(
        "chat.update", lambda c: c.args.get("text") == "Password revealed", 10
    )  # the offer is edited in place: no button left
    offer = stack.slack.message(str(done.args["channel"]), str(done.args["ts"]))
    assert f"*#{request_id}* were revealed" in str(offer.blocks)
    assert ids.REVEAL_ACTION not in str(offer.blocks)
    since = stack.slack.call_count
    reveal_again = stack.requests.block_actions(
        user_id=REQUESTER,
        action_id=ids.REVEAL_ACTION,
        value=_reveal_token(stack, request_id),
        channel_id=offer.channel,
        message_ts=offer.ts,
    )
    assert (await stack.send(reveal_again))[0] == 200
    refusal = await stack.slack.wait_for("views.open", None, 10, since=since)
    assert "already revealed" in str(refusal.args["view"])
    for password in flow.revealed_passwords:
        assert password not in str(refusal.args["view"])

    # The card ends in place, with the outcome.
    final_card = await stack.card(request_id)
    assert f"{len(names)} of {len(names)} server(s) reset" in str(final_card.blocks)


def _reveal_token(stack: Stack, request_id: int) -> str:
    """The token the Reveal button carried (from the recorded call; the message was since edited)."""
    from bot.demo import button_value

    for call in stack.slack.calls("chat.postMessage"):
        if f"request #{request_id} is ready to reveal" in str(call.args.get("text")):
            blocks = call.args["blocks"]
            if isinstance(blocks, str):
                import json

                blocks = json.loads(blocks)
            return button_value(blocks, ids.REVEAL_ACTION)
    raise LookupError("no reveal offer")
