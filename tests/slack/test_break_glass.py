"""Break-glass over real HTTP: the Emergency choice only for allowed people, the confirmation that alone
creates the request, the run without approval (card marked, approvers' DMs, audit channel), refusals
(forged submissions, the cooldown), Acknowledge and Flag on the card, and reminders on a fake clock."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from break_glass_aids import (
    AUDIT_CHANNEL,
    IC,
    IC_BY_GROUP,
    REASON,
    ask,
    break_glass,
    confirm,
    counted,
    delivered_passwords_to,
    start,
)
from slack_helpers import (
    APPROVERS,
    APPROVERS_CHANNEL,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    resettable_servers,
)
from support.clock import FakeClock
from surfaces import message_shortcut, opened_view

from bot.demo import World, button_value
from bot.domain import RequestStatus, ReviewState
from bot.slack import ids, sentences


@pytest.fixture
async def bg_world(make_world: Any, tmp_path: Path) -> World:
    return await start(make_world, tmp_path)


def block_ids(view: dict[str, Any]) -> list[str]:
    return [str(b.get("block_id")) for b in view.get("blocks") or []]


async def test_the_emergency_choice_shows_only_for_allowed_people(bg_world: World) -> None:
    for user in (IC, IC_BY_GROUP):
        form = await bg_world.open_modal(user)
        assert ids.EMERGENCY_BLOCK in block_ids(form), user
        assert "Only for demo-aksk" in json.dumps(form)
    plain = await bg_world.open_modal(REQUESTER)
    assert ids.EMERGENCY_BLOCK not in block_ids(plain)


async def test_confirmation_then_run_without_approval_everyone_told(
    bg_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = bg_world
    runs = counted("run")
    servers = resettable_servers(world, 2)
    _, answer = await ask(world, IC, servers)
    pushed = json.loads(answer)
    assert pushed["response_action"] == "push"
    text = json.dumps(pushed["view"])
    assert "What will happen" in text
    assert "No approver is asked" in text
    assert "once per 24 h" in text
    assert f"<#{APPROVERS_CHANNEL}>" in text
    assert f"<@{APPROVERS[0]}>" in text
    assert f"<@{APPROVERS[1]}>" in text
    assert f"<#{AUDIT_CHANNEL}>" in text
    assert all(name in text for name in servers)
    assert await world.runtime.store.list_requests() == [], "only the confirmation creates the request"

    answer = await confirm(world, IC)
    assert json.loads(answer) == {"response_action": "clear"}
    assert world.slack.open_views(IC) == [], "both views closed"
    request = (await world.runtime.store.list_requests(requester_id=IC))[0]
    await world.card_for(request.id)
    _, passwords = await delivered_passwords_to(world, IC, request.id)
    final = await card_where(world, request.id, card_says("*Done*"))
    texts = block_texts(final.blocks)
    assert "BREAK-GLASS" in texts
    assert "No approval asked" in texts
    assert button_value(final.blocks, ids.ACKNOWLEDGE_ACTION) == str(request.id)
    assert button_value(final.blocks, ids.FLAG_ACTION) == str(request.id)
    with pytest.raises(LookupError):
        button_value(final.blocks, ids.APPROVE_ACTION)
    thread = [m.text for m in world.slack.replies(APPROVERS_CHANNEL, final.ts)]
    assert sentences.BREAK_GLASS_EXECUTING in thread
    assert not any("Approved" in line for line in thread), thread
    for approver in APPROVERS:
        dm = world.message_like(
            world.slack.dm_channel(approver), ":rotating_light: *Break-glass on demo-aksk*"
        )
        assert f"<@{IC}>" in dm.text
        assert REASON in dm.text
    await world.runtime.tasks.idle()
    audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
    assert any("BREAK-GLASS on demo-aksk" in line and REASON in line for line in audit), audit
    stored = await world.runtime.store.get_request(request.id)
    assert stored is not None
    assert stored.status == RequestStatus.SUCCEEDED
    assert await world.runtime.store.decisions(request.id) == []
    trail = {a.event: a.detail for a in await world.runtime.store.audit(request.id)}
    assert trail["break_glass"]["reason"] == REASON
    assert counted("run") == runs + 1
    everything = json.dumps([c.args for c in world.slack.calls() if c.method != "chat.postEphemeral"])
    everything += json.dumps([a.detail for a in await world.runtime.store.audit(request.id)])
    assert not any(p in everything for p in passwords.values()), "a password outside its private message"
    assert passwords
    assert not any(p in caplog.text for p in passwords.values()), "a password in the logs, even at DEBUG"
    assert "break-glass: request" in caplog.text


async def test_a_member_of_the_allowed_group_may_break_glass(bg_world: World) -> None:
    request_id = await break_glass(bg_world, IC_BY_GROUP, resettable_servers(bg_world, 1))
    await card_where(bg_world, request_id, card_says("BREAK-GLASS"))


async def test_forged_emergency_from_someone_not_allowed_is_refused(bg_world: World) -> None:
    world = bg_world
    servers = resettable_servers(world, 1)
    _, answer = await ask(world, REQUESTER, servers)  # the box was never shown to them: a forged value
    refused = json.loads(answer)
    assert refused["response_action"] == "errors"
    assert "not allowed to break glass" in refused["errors"][ids.TARGET_BLOCK]

    # A confirmation forged from scratch (its callback id, a submission where the key belongs) is not
    # known: the confirmation carries only a key the bot made, and the bot keeps what it stands for.
    metadata = json.dumps({"t": "demo-aksk", "s": servers, "r": REASON, "m": "shared", "b": "none"})
    forged = {"callback_id": ids.BREAK_GLASS_MODAL, "private_metadata": metadata, "type": "modal"}
    status, answer = await world.send(world.requests.view_submission(user_id=REQUESTER, view=forged))
    assert status == 200
    shown = json.loads(answer)
    assert shown["response_action"] == "update"
    assert "This confirmation is not known" in json.dumps(shown["view"])
    assert await world.runtime.store.list_requests() == [], "nothing created"


async def test_inside_the_cooldown_it_is_refused_saying_when_and_what_remains(bg_world: World) -> None:
    world = bg_world
    first = await break_glass(world, IC, resettable_servers(world, 1))
    await card_where(world, first, card_says("*Done*"))
    _, answer = await ask(world, IC, resettable_servers(world, 1, skip=1))
    refused = json.loads(answer)
    assert refused["response_action"] == "errors"
    message = refused["errors"][ids.TARGET_BLOCK]
    assert "again from" in message
    assert "approvers decide as usual" in message


async def test_acknowledge_and_flag_on_the_card(bg_world: World) -> None:
    world = bg_world
    acks, flags = counted("acknowledged"), counted("flagged")
    request_id = await break_glass(world, IC, resettable_servers(world, 1))
    await card_where(world, request_id, card_says("*Done*"))

    # The requester cannot review their own (even if they were an approver); the form does not open.
    await world.click(IC, ids.FLAG_ACTION, card(world, request_id))
    notice = await world.wait("views.open", lambda c: "Cannot flag" in json.dumps(c.args.get("view")))
    assert "your own break-glass request" in json.dumps(notice.args.get("view"))

    await world.click(APPROVERS[0], ids.ACKNOWLEDGE_ACTION, card(world, request_id))
    acknowledged = await card_where(world, request_id, card_says("Acknowledged by"))
    with pytest.raises(LookupError):
        button_value(acknowledged.blocks, ids.ACKNOWLEDGE_ACTION)
    assert button_value(acknowledged.blocks, ids.FLAG_ACTION) == str(request_id), "still disputable"

    since = world.slack.call_count
    await world.click(APPROVERS[1], ids.FLAG_ACTION, acknowledged)
    opened = await world.slack.wait_for(
        "views.open", lambda c: ids.FLAG_MODAL in json.dumps(c.args.get("view")), 10.0, since=since
    )
    assert opened.ok
    modal = world.slack.open_views(APPROVERS[1])[-1]
    empty = {ids.FLAG_REASON_BLOCK: {ids.FLAG_REASON_ACTION: {"type": "plain_text_input", "value": " "}}}
    status, answer = await world.send(
        world.requests.view_submission(
            user_id=APPROVERS[1], view=world.slack.view_payload(modal.id), values=empty
        )
    )
    assert json.loads(answer)["response_action"] == "errors"
    why = {
        ids.FLAG_REASON_BLOCK: {
            ids.FLAG_REASON_ACTION: {"type": "plain_text_input", "value": "no incident open"}
        }
    }
    status, answer = await world.send(
        world.requests.view_submission(
            user_id=APPROVERS[1], view=world.slack.view_payload(modal.id), values=why
        )
    )
    assert status == 200
    assert not answer.strip(), answer
    disputed = await card_where(world, request_id, card_says("DISPUTED"))
    assert "no incident open" in block_texts(disputed.blocks)
    with pytest.raises(LookupError):
        button_value(disputed.blocks, ids.FLAG_ACTION)
    await world.runtime.tasks.idle()
    audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
    assert f"#{request_id} flagged by <@{APPROVERS[1]}>: `no incident open`" in audit
    told = world.message_like(
        world.slack.dm_channel(IC), ":triangular_flag_on_post: Your break-glass request"
    )
    assert "no incident open" in told.text
    stored = await world.runtime.store.get_request(request_id)
    assert stored is not None
    assert stored.break_glass is not None
    assert stored.break_glass.state == ReviewState.DISPUTED
    assert counted("acknowledged") == acks + 1
    assert counted("flagged") == flags + 1


async def test_reminders_when_nobody_reviews_on_a_fake_clock(make_world: Any, tmp_path: Path) -> None:
    clock = FakeClock()
    world = await start(make_world, tmp_path, clock=clock)
    request_id = await break_glass(world, IC, resettable_servers(world, 1))
    first_card = await card_where(world, request_id, card_says("*Done*"))

    def reminders() -> list[str]:
        return [m.text for m in world.slack.replies(APPROVERS_CHANNEL, first_card.ts) if ":bell:" in m.text]

    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.tasks.idle()
    assert reminders() == []
    clock.advance(timedelta(hours=24))
    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.sweeper.sweep(clock.now())
    await world.runtime.tasks.idle()
    assert len(reminders()) == 1, "one reminder per interval"
    assert all(f"<@{a}>" in reminders()[0] for a in APPROVERS)
    audit = [m.text for m in world.slack.messages(AUDIT_CHANNEL)]
    assert any(f"#{request_id} break-glass" in line and "not reviewed" in line for line in audit)


async def test_an_alert_opened_with_the_message_shortcut_offers_the_emergency_choice(bg_world: World) -> None:
    """The alert is where an incident starts: the form pre-filled from it offers break-glass too, to the
    people allowed, and only to them."""
    world = bg_world
    server = resettable_servers(world, 1)[0]
    alert = {"text": f":rotating_light: {server} unreachable over SSH"}
    for user, offered in ((IC, True), (REQUESTER, False)):
        since = world.slack.call_count
        status, _ = await world.send(message_shortcut(world, user, ids.MESSAGE_SHORTCUT, alert))
        assert status == 200
        _, view = await opened_view(world, user, since)
        assert (ids.EMERGENCY_BLOCK in block_ids(view)) is offered, user
