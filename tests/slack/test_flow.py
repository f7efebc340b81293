"""The whole flow through Bolt over signed HTTP, and what Bolt and the Web API client add around it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    GOOD_REASON,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    delivered_passwords,
    effects,
    resettable_servers,
    reveal_offer,
    server_id,
    status_of,
    submit_request,
)

from bot.demo import World
from bot.domain import NewRequest, NewServer, PasswordMode, RebootMode, RequestStatus
from bot.simulator.slack import SignedRequest, SlackCall
from bot.slack import ids

AUDIT_CHANNEL = "CAUDITLOG01"


async def test_whole_flow_with_an_audit_channel(make_world: Any) -> None:
    world: World = await make_world(env={"BOT_AUDIT_CHANNEL": AUDIT_CHANNEL})
    world.slack.add_channel(AUDIT_CHANNEL, "ecs-audit")  # the bot must be invited, as on Slack
    names = resettable_servers(world, 2)
    request = await submit_request(world, names)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    _, passwords = await delivered_passwords(world, request.id)
    offer = await reveal_offer(world, request.id)
    await world.click(REQUESTER, ids.REVEAL_ACTION, offer)
    await card_where(world, request.id, card_says("*Done*"))
    await world.runtime.tasks.idle()
    for name in names:
        assert world.sim.fleet.password_matches(server_id(world, name), passwords[name])
    audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
    assert audit[0] == f"#{request.id} submitted by <@{REQUESTER}> for demo-aksk (2 servers)"
    assert f"#{request.id} approved_by by <@{APPROVERS[0]}>" not in audit, "1 approval: straight to running"
    assert f"#{request.id} finished" in audit
    assert not any(p in line for line in audit for p in passwords.values())
    stored = await world.runtime.store.get_request(request.id)
    assert stored is not None
    assert stored.status == RequestStatus.SUCCEEDED
    assert set(stored.message_refs) == {"card", "dm", "reveal"}


def forge(request: SignedRequest, **headers: str) -> SignedRequest:
    return SignedRequest(request.body, {**request.headers, **headers})


@pytest.mark.parametrize("attack", ["bad signature", "stale timestamp", "tampered body", "no headers"])
async def test_unsigned_requests_are_rejected_without_effect(world: World, attack: str) -> None:
    since = world.slack.call_count
    good = world.requests.slash_command(ids.COMMAND, "web-0001", user_id=REQUESTER)
    if attack == "bad signature":
        request = forge(good, **{"X-Slack-Signature": "v0=" + "0" * 64})
    elif attack == "stale timestamp":
        request = world.requests.slash_command(
            ids.COMMAND, "web-0001", user_id=REQUESTER, timestamp=int(time.time()) - 600
        )
    elif attack == "tampered body":
        request = SignedRequest(good.body.replace(b"UDEMOREQUESTER", b"UDEMOAPPROVER1"), good.headers)
    else:
        request = SignedRequest(good.body, {"Content-Type": "application/x-www-form-urlencoded"})
    status, _ = await world.send(request)
    assert status == 401
    await world.runtime.tasks.idle()
    assert world.slack.calls()[since:] == [], "not even auth.test: Bolt stops before any listener"


async def test_forged_approval_click_changes_nothing(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    posted = card(world, request.id)
    click = world.requests.block_actions(
        user_id=APPROVERS[0],
        action_id=ids.APPROVE_ACTION,
        value=str(request.id),
        channel_id=APPROVERS_CHANNEL,
        message_ts=posted.ts,
        message=posted.as_api(),
    )
    await world.runtime.tasks.idle()
    since = world.slack.call_count
    status, _ = await world.send(forge(click, **{"X-Slack-Signature": "v0=" + "f" * 64}))
    assert status == 401
    await world.runtime.tasks.idle()
    assert effects(world, since) == []
    assert (await world.runtime.store.decisions(request.id)) == []


async def test_rate_limited_card_is_still_posted(make_world: Any) -> None:
    """A 429 on chat.postMessage is retried after Retry-After (the client's retry handler)."""
    world: World = await make_world(latency_s=0.3)  # pre-flight takes a while: the DM is posted first
    names = resettable_servers(world, 1)
    view = await world.open_modal(REQUESTER, names[0])
    await world.submit(REQUESTER, view, target="demo-aksk", servers=names, reason="OPS-7 rate limits")
    await world.wait("chat.postMessage", lambda c: str(c.args.get("channel", "")).startswith("D"))
    world.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    [request] = await world.runtime.store.list_requests()
    posted = await world.card_for(request.id)
    tries = [c for c in world.slack.calls("chat.postMessage") if c.args.get("channel") == APPROVERS_CHANNEL]
    assert [c.status for c in tries] == [429, 200]
    assert tries[1].ts - tries[0].ts >= 0.9, "Retry-After was honoured"
    assert posted.channel == APPROVERS_CHANNEL
    assert [b for b in posted.blocks if b["type"] == "actions"]


async def test_rate_limited_requester_dm_is_still_posted(world: World) -> None:
    world.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    request = await submit_request(world, resettable_servers(world, 1))
    dm = world.message_like(world.slack.dm_channel(REQUESTER), f"Request #{request.id}")
    assert dm.ts
    assert world.slack.calls("chat.postMessage")[0].status == 429


async def test_card_update_survives_a_server_error(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.runtime.tasks.idle()
    world.slack.fail("chat.update", "internal_error", times=1, status=500)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    await card_where(world, request.id, card_says("*Done*"))
    assert any(c.status == 500 for c in world.slack.calls("chat.update"))


async def test_a_replayed_signed_approve_click_changes_nothing_the_second_time(make_world: Any) -> None:
    """A valid signed request sent twice (a double delivery, or a replay inside Slack's 5-minute
    window) is idempotent: one decision, one execution, and the second click is told so."""
    world: World = await make_world()
    names = resettable_servers(world, 1)
    request = await submit_request(world, names)
    message = card(world, request.id)
    click = world.requests.block_actions(
        user_id=APPROVERS[0],
        action_id=ids.APPROVE_ACTION,
        value=str(request.id),
        channel_id=message.channel,
        message_ts=message.ts,
        message=message.as_api(),
    )
    assert (await world.send(click))[0] == 200
    await delivered_passwords(world, request.id)
    await world.runtime.tasks.idle()
    since = world.slack.call_count
    assert (await world.send(click))[0] == 200  # byte for byte the same, signature still valid
    refusal = await world.slack.wait_for("chat.postEphemeral", None, 10, since=since)
    assert "already" in str(refusal.args.get("text"))
    await world.runtime.tasks.idle()
    assert len(await world.runtime.store.decisions(request.id)) == 1
    resets = [
        c for c in world.sim.calls_to("os-reset-passwords") if c.body and c.body.get("dry_run") is False
    ]
    assert len(resets) == 1


async def test_a_request_its_process_never_announced_is_announced_once_after_a_restart(world: World) -> None:
    """The bot stopped between recording a request and posting anything: recovery posts the
    requester's DM (number and a working Cancel button) and the card, each once, however many
    recovery passes and "show what is missing" passes run afterwards."""
    store, sweeper = world.runtime.store, world.runtime.sweeper
    server = world.sim.fleet.by_name(resettable_servers(world, 1)[0])
    assert server is not None
    now = datetime.now(UTC)
    left = (
        await store.create_request_once(
            NewRequest(
                target="demo-aksk",
                requester_id=REQUESTER,
                reason=GOOD_REASON,
                password_mode=PasswordMode.SHARED,
                reboot=RebootMode.NONE,
                approvals_required=1,
                expires_at=now + timedelta(hours=1),
            ),
            [NewServer(server.id, server.name, os_type=server.os_type, cloud_status=server.status)],
        )
    ).request
    later = now + timedelta(minutes=3)
    dm_channel = world.slack.dm_channel(REQUESTER)

    def received_dms() -> list[SlackCall]:
        return [
            c
            for c in world.slack.calls("chat.postMessage")
            if c.args.get("channel") == dm_channel
            and f"Request #{left.id} received" in str(c.args.get("text"))
        ]

    await asyncio.gather(sweeper.recover(later), sweeper.recover(later))
    await world.card_for(left.id)
    await world.runtime.tasks.idle()
    assert len(received_dms()) == 1, "sent by the recovery itself"
    await sweeper.recover(later + timedelta(minutes=3))
    await sweeper.show_unseen(later + timedelta(minutes=3), later + timedelta(minutes=3))
    await world.runtime.tasks.idle()
    assert len(received_dms()) == 1, "and by nothing after it"

    dm = world.message_like(dm_channel, f"Request #{left.id}")
    assert "Waiting for approval" in block_texts(dm.blocks), "edited in place once pending"
    cards = [
        m
        for m in world.slack.messages(APPROVERS_CHANNEL)
        if m.thread_ts is None and m.text.startswith(f"Password reset request #{left.id} ")
    ]
    assert len(cards) == 1
    stored = await store.get_request(left.id)
    assert stored is not None
    assert set(stored.message_refs) == {"card", "dm"}

    assert (await world.click(REQUESTER, ids.CANCEL_ACTION, dm))[0] == 200
    await card_where(world, left.id, card_says("Cancelled"))
    assert await status_of(world, left.id) == RequestStatus.CANCELLED
