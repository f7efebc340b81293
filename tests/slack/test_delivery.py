"""Private delivery over signed HTTP: the ephemeral, the one-time Reveal, and no password anywhere else."""

from __future__ import annotations

import asyncio
import copy
import json
import logging

import pytest
from slack_helpers import (
    APPROVERS,
    OUTSIDER,
    REQUESTER,
    card,
    delivered_passwords,
    ephemeral_for,
    passwords_by_server,
    resettable_servers,
    reveal_offer,
    server_id,
    submit_request,
    view_json,
)
from support.shown import is_delivery

from bot.demo import World
from bot.domain import RequestRecord
from bot.simulator.slack import SlackCall, StoredMessage
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


def assert_only_delivered(world: World, passwords: set[str]) -> None:
    """No password in any other call, stored message, button value, view or private_metadata."""
    assert passwords
    for call in world.slack.calls():
        if is_delivery(call.method, call.args, to=REQUESTER):
            continue
        dumped = json.dumps(call.args)
        for password in passwords:
            assert password not in dumped, f"password leaked in {call.method}"
    for channel in list(world.slack._messages):
        for message in world.slack._messages[channel]:
            dumped = json.dumps(message.as_api())
            assert not any(p in dumped for p in passwords), f"password stored in a message in {channel}"
    for stored in world.slack.views.values():
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


async def test_reveal_slack_did_not_show_is_not_spent(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """views.open refuses the Reveal's modal (expired_trigger_id): nothing is erased, the requester is told
    to click again, the audit trail tells the attempt from the reveal, and the second click shows it."""
    caplog.set_level(logging.DEBUG)
    names = resettable_servers(world, 1)
    request, passwords, offer = await approved_and_delivered(world, names)
    world.slack.fail("views.open", "expired_trigger_id")
    since = world.slack.call_count
    await world.click(REQUESTER, ids.REVEAL_ACTION, offer)
    told = await ephemeral_for(world, since=since)
    assert told.ok
    assert told.args["channel"] == offer.channel
    assert "click *Reveal once* again" in str(told.args["text"])
    assert "Reveal once" in json.dumps(world.slack.message(offer.channel, offer.ts).blocks), "offer intact"

    shown = view_json(await click_reveal(world, REQUESTER, offer))
    assert passwords_by_server(shown["blocks"]) == passwords
    await world.runtime.tasks.idle()
    trail = [a.event for a in await world.runtime.store.audit(request.id)]
    assert trail[-2:] == ["reveal_not_shown", "reveal_revealed"]
    assert_only_delivered(world, set(passwords.values()))
    for password in passwords.values():
        assert password not in caplog.text


async def test_reveal_refused_and_ephemeral_refused_still_gets_the_password(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the ephemeral copy nor the first Reveal reached the requester, and Slack refuses
    ephemerals in the DM: the answer goes through the click's response_url, and the password is still
    obtainable with a second click: the one the cloud set (the canary)."""
    caplog.set_level(logging.DEBUG)
    names = resettable_servers(world, 1)
    request = await submit_request(world, names)
    world.slack.fail("chat.postEphemeral", "user_not_in_channel", times=50)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    offer = await reveal_offer(world, request.id)
    assert not [c for c in world.slack.calls("chat.postEphemeral") if c.ok], "no copy reached anyone"

    world.slack.fail("views.open", "expired_trigger_id")
    since = world.slack.call_count
    await world.click(REQUESTER, ids.REVEAL_ACTION, offer)
    answer = await world.slack.wait_for("response_url", None, 10.0, since=since)
    assert answer.ok
    assert "click *Reveal once* again" in str(answer.args["text"])
    assert answer.args.get("response_type") == "ephemeral"

    shown = view_json(await click_reveal(world, REQUESTER, offer))
    canary = passwords_by_server(shown["blocks"])[names[0]]
    assert world.sim.fleet.password_matches(server_id(world, names[0]), canary)
    await world.runtime.tasks.idle()
    assert_only_delivered(world, {canary})
    assert canary not in caplog.text
    trail = await world.runtime.store.audit(request.id)
    assert canary not in json.dumps([a.detail for a in trail])
    assert [a.event for a in trail][-2:] == ["reveal_not_shown", "reveal_revealed"]


async def test_concurrent_reveal_clicks_show_the_password_once(world: World) -> None:
    """Five clicks at once on the Reveal: one modal with the password, the others a notice."""
    _, passwords, offer = await approved_and_delivered(world, resettable_servers(world, 1))
    since = world.slack.call_count
    await asyncio.gather(*(world.click(REQUESTER, ids.REVEAL_ACTION, offer) for _ in range(5)))
    await world.runtime.tasks.idle()
    opened = [c for c in world.slack.calls()[since:] if c.method == "views.open"]
    modals = [view_json(c) for c in opened if c.ok]
    assert len(modals) == 5
    revealing = [m for m in modals if m.get("callback_id") == ids.REVEAL_MODAL]
    assert len(revealing) == 1
    assert passwords_by_server(revealing[0]["blocks"]) == passwords
    for notice in (m for m in modals if m.get("callback_id") != ids.REVEAL_MODAL):
        assert not any(p in json.dumps(notice) for p in passwords.values())
