"""Private delivery over signed HTTP: the ephemeral, the one-time Reveal, and no password anywhere else."""

from __future__ import annotations

import copy
import json

from slack_helpers import (
    APPROVERS,
    OUTSIDER,
    REQUESTER,
    card,
    delivered_passwords,
    passwords_by_server,
    resettable_servers,
    reveal_offer,
    server_id,
    submit_request,
    view_json,
)

from bot.demo import World
from bot.domain import RequestRecord
from bot.simulator.slack_api import SlackCall, StoredMessage
from bot.slack import ids


async def approved_and_delivered(
    world: World, names: list[str], *, mode: str = "shared"
) -> tuple[RequestRecord, dict[str, str], StoredMessage]:
    """Submits, approves, and returns the request, the ephemeral's passwords and the Reveal DM."""
    request = await submit_request(world, names, mode=mode)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    ephemeral, passwords = await delivered_passwords(world, request.id)
    dm = world.slack.dm_channel(REQUESTER)
    assert ephemeral.args["channel"] == dm
    assert ephemeral.args["user"] == REQUESTER
    offer = await reveal_offer(world, request.id)
    assert offer.channel == dm
    return request, passwords, offer


async def click_reveal(world: World, user: str, offer: StoredMessage) -> SlackCall:
    since = world.slack.call_count
    status, _ = await world.click(user, ids.REVEAL_ACTION, offer)
    assert status == 200
    call = await world.slack.wait_for("views.open", None, 5.0, since=since)
    assert call.ok
    return call


def is_delivery(call: SlackCall) -> bool:
    """The two places a password may travel: the ephemeral to the requester and the reveal modal."""
    if call.method == "chat.postEphemeral":
        return call.args.get("user") == REQUESTER and "New password(s)" in str(call.args.get("text"))
    return call.method == "views.open" and view_json(call).get("callback_id") == ids.REVEAL_MODAL


def assert_only_delivered(world: World, passwords: set[str]) -> None:
    """No password in any other call, stored message, button value, view or private_metadata."""
    assert passwords
    for call in world.slack.calls():
        if is_delivery(call):
            continue
        dumped = json.dumps(call.args)
        for password in passwords:
            assert password not in dumped, f"password leaked in {call.method}"
    for channel in list(world.slack._messages):
        for message in world.slack._messages[channel]:
            dumped = json.dumps(message.as_api())
            assert not any(p in dumped for p in passwords), f"password stored in a message in {channel}"
    for stored in world.slack._views.values():
        if stored.callback_id == ids.REVEAL_MODAL:
            assert stored.view.get("private_metadata", "") == ""
            continue
        assert not any(p in json.dumps(stored.view) for p in passwords)


async def test_ephemeral_carries_the_password_the_cloud_set(world: World) -> None:
    names = resettable_servers(world, 3)
    _, passwords, _ = await approved_and_delivered(world, names)
    opens = [c for c in world.slack.calls("conversations.open") if c.args.get("users") == REQUESTER]
    assert opens, "the DM channel comes from conversations.open"
    assert sorted(passwords) == names
    assert len(set(passwords.values())) == 1, "shared mode: one password for the batch"
    for name, password in passwords.items():
        assert world.sim.fleet.password_matches(server_id(world, name), password)


async def test_reveal_once_then_already_revealed(world: World) -> None:
    names = resettable_servers(world, 2)
    _, passwords, offer = await approved_and_delivered(world, names)
    stale = copy.deepcopy(offer)  # the stored message is edited in place; a slow client still shows this
    [button] = [e for b in offer.blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == ids.REVEAL_ACTION
    assert button["value"] not in passwords.values()

    shown = await click_reveal(world, REQUESTER, offer)
    modal = view_json(shown)
    assert modal["callback_id"] == ids.REVEAL_MODAL
    assert passwords_by_server(modal["blocks"]) == passwords
    updated = await world.wait(
        "chat.update", lambda c: c.args.get("channel") == offer.channel and c.args.get("ts") == offer.ts
    )
    assert "revealed" in str(updated.args["text"])
    now = world.slack.message(offer.channel, offer.ts)
    assert "were revealed" in json.dumps(now.blocks)
    assert not [b for b in now.blocks if b["type"] == "actions"], "the Reveal button is gone"

    again = await click_reveal(world, REQUESTER, stale)
    notice = view_json(again)
    assert notice["title"]["text"] == "Nothing to reveal"
    assert "already revealed once" in json.dumps(notice)
    await world.runtime.tasks.idle()
    assert_only_delivered(world, set(passwords.values()))


async def test_reveal_by_someone_else_is_refused_and_spends_nothing(world: World) -> None:
    _, passwords, offer = await approved_and_delivered(world, resettable_servers(world, 1))
    for intruder in (OUTSIDER, APPROVERS[0]):
        refused = view_json(await click_reveal(world, intruder, offer))
        assert refused["title"]["text"] == "Nothing to reveal"
        assert "Only the requester can reveal this password." in json.dumps(refused)
        assert not any(p in json.dumps(refused) for p in passwords.values())
    assert "Reveal once" in json.dumps(world.slack.message(offer.channel, offer.ts).blocks)
    shown = view_json(await click_reveal(world, REQUESTER, offer))
    assert passwords_by_server(shown["blocks"]) == passwords


async def test_forged_reveal_token_reveals_nothing(world: World) -> None:
    _, _, offer = await approved_and_delivered(world, resettable_servers(world, 1))
    since = world.slack.call_count
    await world.send(
        world.requests.block_actions(
            user_id=REQUESTER,
            action_id=ids.REVEAL_ACTION,
            value="guessed-token",
            channel_id=offer.channel,
            message_ts=offer.ts,
            message=offer.as_api(),
        )
    )
    call = await world.slack.wait_for("views.open", None, 5.0, since=since)
    assert "There is nothing to reveal here." in json.dumps(view_json(call))


async def test_per_server_passwords(world: World) -> None:
    names = resettable_servers(world, 3)
    _, passwords, offer = await approved_and_delivered(world, names, mode="per_server")
    assert sorted(passwords) == names
    assert len(set(passwords.values())) == 3, "one password per server"
    for name, password in passwords.items():
        assert world.sim.fleet.password_matches(server_id(world, name), password)
        others = [n for n in names if n != name]
        assert not any(world.sim.fleet.password_matches(server_id(world, o), password) for o in others)
    shown = view_json(await click_reveal(world, REQUESTER, offer))
    assert passwords_by_server(shown["blocks"]) == passwords
    await world.runtime.tasks.idle()
    assert_only_delivered(world, set(passwords.values()))


async def test_ephemeral_failure_still_leaves_the_reveal(world: World) -> None:
    """Ephemeral delivery is not guaranteed: when Slack refuses it, the Reveal button still works."""
    names = resettable_servers(world, 1)
    request = await submit_request(world, names)
    world.slack.fail("chat.postEphemeral", "user_not_in_channel", times=5)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    offer = await reveal_offer(world, request.id)
    shown = view_json(await click_reveal(world, REQUESTER, offer))
    passwords = passwords_by_server(shown["blocks"])
    assert sorted(passwords) == names
    assert world.sim.fleet.password_matches(server_id(world, names[0]), passwords[names[0]])
