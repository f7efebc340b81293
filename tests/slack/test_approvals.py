"""Approve and Deny on the card over signed HTTP: every click re-authorised, the card edited in place."""

from __future__ import annotations

import json

import pytest
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    OUTSIDER,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    ephemeral_for,
    resettable_servers,
    server_id,
    status_of,
    submit_request,
    view_json,
)

from bot.demo import World, deny_values
from bot.domain import RequestStatus
from bot.simulator.slack import SlackCall
from bot.slack import ids
from bot.store import StoreUnavailable


async def click_and_hear(world: World, user: str, action_id: str, request_id: int) -> str:
    """Clicks a card button as `user` and returns the ephemeral answer they get."""
    since = world.slack.call_count
    status, _ = await world.click(user, action_id, card(world, request_id))
    assert status == 200
    call = await ephemeral_for(world, user, since=since)
    assert call.args["channel"] == APPROVERS_CHANNEL
    return str(call.args["text"])


async def deny_view_for(world: World, user: str, request_id: int) -> tuple[dict[str, object], SlackCall]:
    since = world.slack.call_count
    status, _ = await world.click(user, ids.DENY_ACTION, card(world, request_id))
    assert status == 200
    call = await world.slack.wait_for("views.open", None, 5.0, since=since)
    assert call.ok
    [opened] = world.slack.open_views(user)
    return world.slack.view_payload(opened.id), call


def never_reset(world: World, names: list[str]) -> bool:
    return all(world.sim.fleet.get(server_id(world, n)).password_changed_at is None for n in names)  # type: ignore[union-attr]


async def test_non_approver_is_refused_and_the_card_is_unchanged(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    before = card(world, request.id)
    blocks = json.dumps(before.blocks)
    updates = len(world.slack.calls("chat.update"))
    answer = await click_and_hear(world, OUTSIDER, ids.APPROVE_ACTION, request.id)
    assert answer == (f"You are not an approver for target demo-aksk, so you cannot decide on #{request.id}.")
    await world.runtime.tasks.idle()
    assert json.dumps(card(world, request.id).blocks) == blocks
    assert (
        len([c for c in world.slack.calls("chat.update")[updates:] if c.args["channel"] == APPROVERS_CHANNEL])
        == 0
    )
    assert await status_of(world, request.id) == RequestStatus.PENDING
    assert [e.user for e in world.slack.ephemerals(APPROVERS_CHANNEL)] == [OUTSIDER]


async def test_requester_cannot_approve_their_own_request(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1), user=REQUESTER)
    answer = await click_and_hear(world, REQUESTER, ids.APPROVE_ACTION, request.id)
    assert answer == f"You cannot approve or deny your own request #{request.id}."
    await world.runtime.tasks.idle()
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_an_approver_runs_it_and_the_card_shows_done(world: World) -> None:
    names = resettable_servers(world, 2)
    request = await submit_request(world, names)
    posted = card(world, request.id)
    answer = await click_and_hear(world, APPROVERS[0], ids.APPROVE_ACTION, request.id)
    assert answer == f"Approved. Request #{request.id} is running now."
    done = await card_where(world, request.id, card_says("*Done*"))
    assert done.ts == posted.ts, "the card is edited in place, not posted again"
    assert done.edited
    text = block_texts(done.blocks)
    assert "1 of 1 approval(s)" in text
    assert f"<@{APPROVERS[0]}>" in text
    assert not [b for b in done.blocks if b["type"] == "actions"], "no buttons on a finished card"
    updates = [c for c in world.slack.calls("chat.update") if c.args["channel"] == APPROVERS_CHANNEL]
    assert {c.args["ts"] for c in updates} == {posted.ts}
    await world.runtime.tasks.idle()
    thread = "\n".join(m.text for m in world.slack.replies(APPROVERS_CHANNEL, posted.ts))
    for name in names:
        assert f":white_check_mark: `{name}`" in thread
    assert "2 of 2 server(s) reset" in thread
    assert await status_of(world, request.id) == RequestStatus.SUCCEEDED
    assert len([m for m in world.slack.messages(APPROVERS_CHANNEL)]) == 1


async def test_two_approvals_for_demo_iam(world: World) -> None:
    names = resettable_servers(world, 1)
    request = await submit_request(world, names, target="demo-iam", reason="the key is lost")
    assert request.approvals_required == 2
    answer = await click_and_hear(world, APPROVERS[0], ids.APPROVE_ACTION, request.id)
    assert answer == f"Approved. Request #{request.id} needs 1 more approval(s)."
    first = await card_where(world, request.id, card_says("1 of 2 approval(s)"))
    assert [b for b in first.blocks if b["type"] == "actions"], "still waiting: buttons stay"
    await world.runtime.tasks.idle()
    assert await status_of(world, request.id) == RequestStatus.PENDING
    assert never_reset(world, names)

    again = await click_and_hear(world, APPROVERS[0], ids.APPROVE_ACTION, request.id)
    assert again == f"You have already decided on request #{request.id}."
    await world.runtime.tasks.idle()
    assert await status_of(world, request.id) == RequestStatus.PENDING
    assert never_reset(world, names)

    answer = await click_and_hear(world, APPROVERS[1], ids.APPROVE_ACTION, request.id)
    assert answer == f"Approved. Request #{request.id} is running now."
    done = await card_where(world, request.id, card_says("*Done*"))
    assert "2 of 2 approval(s)" in block_texts(done.blocks)
    await world.runtime.tasks.idle()
    assert not never_reset(world, names)


async def test_deny_needs_a_reason_then_tells_the_requester(world: World) -> None:
    names = resettable_servers(world, 1)
    request = await submit_request(world, names)
    view, call = await deny_view_for(world, APPROVERS[0], request.id)
    assert view_json(call)["callback_id"] == ids.DENY_MODAL
    assert view["private_metadata"] == str(request.id)

    status, body = await world.send(
        world.requests.view_submission(user_id=APPROVERS[0], view=view, values=deny_values("  "))
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {ids.DENY_REASON_BLOCK: "Give a reason for the denial."}
    assert await status_of(world, request.id) == RequestStatus.PENDING

    status, body = await world.send(
        world.requests.view_submission(
            user_id=APPROVERS[0], view=view, values=deny_values("Use the <vault> & not me")
        )
    )
    assert (status, body.strip()) == (200, "")
    assert world.slack.open_views(APPROVERS[0]) == []
    assert await status_of(world, request.id) == RequestStatus.DENIED

    dm = await world.wait(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == world.slack.dm_channel(REQUESTER) and "denied" in str(c.args["text"])
        ),
    )
    assert f"Your request #{request.id} was denied by <@{APPROVERS[0]}>" in str(dm.args["text"])
    denied = await card_where(world, request.id, card_says("*Denied*"))
    text = block_texts(denied.blocks)
    assert "Use the &lt;vault&gt; &amp; not me" in text
    assert not [b for b in denied.blocks if b["type"] == "actions"]
    await world.runtime.tasks.idle()
    assert never_reset(world, names)
    requester_dm = "\n".join(
        block_texts(m.blocks) + m.text for m in world.slack.messages(world.slack.dm_channel(REQUESTER))
    )
    assert "Use the" in requester_dm, "the requester learns the reason"


async def test_a_denial_slower_than_slack_waits_is_recorded_whole(world: World) -> None:
    """The database is slower than the modal's 3 s: the approver is told it is being recorded, and the
    denial is not cut off half-way (status, decision, audit and the requester's DM all follow)."""
    request = await submit_request(world, resettable_servers(world, 1))
    view, _ = await deny_view_for(world, APPROVERS[0], request.id)
    writers = world.runtime.store._sqlite_writers
    assert writers is not None
    async with writers:  # every write of this process waits, as on a database that stalls
        status, body = await world.send(
            world.requests.view_submission(user_id=APPROVERS[0], view=view, values=deny_values("Not today"))
        )
        assert status == 200
        answer = json.loads(body)
        assert answer["response_action"] == "update"
        assert "still being recorded" in json.dumps(answer["view"])
    await world.wait(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == world.slack.dm_channel(REQUESTER) and "denied" in str(c.args["text"])
        ),
    )
    assert await status_of(world, request.id) == RequestStatus.DENIED
    await world.runtime.tasks.idle()
    events = [a.event for a in await world.runtime.store.audit(request.id)]
    assert "denied" in events
    assert [d.decision for d in await world.runtime.store.decisions(request.id)] == ["deny"]


async def test_deny_by_a_non_approver_gets_a_notice(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    view, call = await deny_view_for(world, OUTSIDER, request.id)
    assert view_json(call)["title"]["text"] == "Cannot deny"
    assert "not an approver" in json.dumps(view)
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_forged_deny_submission_by_a_non_approver_is_refused(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    view, _ = await deny_view_for(world, APPROVERS[0], request.id)
    status, body = await world.send(
        world.requests.view_submission(user_id=OUTSIDER, view=view, values=deny_values("nope"))
    )
    assert status == 200
    assert "not an approver" in json.loads(body)["errors"][ids.DENY_REASON_BLOCK]
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_clicks_on_a_finished_request_are_refused(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    stale = card(world, request.id)  # the card as a slow client still shows it, buttons and all
    await click_and_hear(world, APPROVERS[0], ids.APPROVE_ACTION, request.id)
    await card_where(world, request.id, card_says("*Done*"))
    await world.runtime.tasks.idle()

    since = world.slack.call_count
    await world.send(
        world.requests.block_actions(
            user_id=APPROVERS[1],
            action_id=ids.APPROVE_ACTION,
            value=str(request.id),
            channel_id=APPROVERS_CHANNEL,
            message_ts=stale.ts,
            message=stale.as_api(),
        )
    )
    answer = await ephemeral_for(world, APPROVERS[1], since=since)
    assert answer.args["text"] == f"Request #{request.id} is already done."

    since = world.slack.call_count
    await world.send(
        world.requests.block_actions(
            user_id=APPROVERS[1],
            action_id=ids.DENY_ACTION,
            value=str(request.id),
            channel_id=APPROVERS_CHANNEL,
            message_ts=stale.ts,
            message=stale.as_api(),
        )
    )
    opened = await world.slack.wait_for("views.open", None, 5.0, since=since)
    assert view_json(opened)["title"]["text"] == "Cannot deny"
    assert f"Request #{request.id} is already done." in json.dumps(view_json(opened))


async def test_forged_button_values_are_refused(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    posted = card(world, request.id)
    for value in ("1; DROP TABLE requests", "999"):
        since = world.slack.call_count
        await world.send(
            world.requests.block_actions(
                user_id=APPROVERS[0],
                action_id=ids.APPROVE_ACTION,
                value=value,
                channel_id=APPROVERS_CHANNEL,
                message_ts=posted.ts,
                message=posted.as_api(),
            )
        )
        answer = await ephemeral_for(world, APPROVERS[0], since=since)
        assert answer.args["text"] in (
            "This button is damaged; nothing was approved.",
            "There is no request #999.",
        )
    await world.runtime.tasks.idle()
    assert await status_of(world, request.id) == RequestStatus.PENDING


async def test_cancel_from_the_requesters_dm(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    dm = world.message_like(world.slack.dm_channel(REQUESTER), f"Request #{request.id}")
    since = world.slack.call_count
    status, _ = await world.click(OUTSIDER, ids.CANCEL_ACTION, dm)
    assert status == 200
    refusal = await ephemeral_for(world, OUTSIDER, since=since)
    assert "Only the requester or an approver" in str(refusal.args["text"])
    assert await status_of(world, request.id) == RequestStatus.PENDING
    await world.click(REQUESTER, ids.CANCEL_ACTION, dm)
    cancelled = await card_where(world, request.id, card_says("*Cancelled*"))
    assert not [b for b in cancelled.blocks if b["type"] == "actions"]
    assert await status_of(world, request.id) == RequestStatus.CANCELLED


async def test_approval_when_the_database_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.runtime.tasks.idle()

    async def unavailable(*_: object, **__: object) -> None:
        raise StoreUnavailable("database is unavailable: OperationalError")

    monkeypatch.setattr(world.runtime.store, "get_request", unavailable)
    answer = await click_and_hear(world, APPROVERS[0], ids.APPROVE_ACTION, request.id)
    assert answer.startswith(f"Your approval of #{request.id} could not be recorded")
    assert "Nothing changed" in answer
    monkeypatch.undo()
    assert await status_of(world, request.id) == RequestStatus.PENDING
