"""The Home tab over signed HTTP: what each person sees, its buttons under every check of the card's,
refreshes coalesced per person, and refusals of views.publish that break nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from home_aids import buttons, click_home, published_for, publishes, text_of
from slack_helpers import (
    APPROVERS,
    GOOD_REASON,
    OUTSIDER,
    REQUESTER,
    block_texts,
    card,
    card_says,
    card_where,
    delivered_passwords,
    passwords_by_server,
    resettable_servers,
    reveal_offer,
    status_of,
    submit_request,
    view_json,
)
from support.clock import FakeClock
from support.polling import eventually
from surfaces import url_verification

from bot.app import Tuning
from bot.demo import World, deny_values
from bot.domain import RequestStatus
from bot.simulator.slack import FAKE_APP_TOKEN
from bot.slack import ids
from bot.slack_link import SocketModeLink


async def test_each_person_sees_what_concerns_them_and_an_outsider_nothing_of_others(world: World) -> None:
    names = resettable_servers(world, 2)
    request = await submit_request(world, names)

    mine = await world.open_home(REQUESTER)
    assert f"#{request.id}" in text_of(mine)
    assert "Waiting for approval" in text_of(mine)
    assert all(name in text_of(mine) for name in names)
    assert (ids.HOME_CANCEL_ACTION, str(request.id)) in buttons(mine)
    assert ids.HOME_APPROVE_ACTION not in dict(buttons(mine))  # nobody approves their own request
    assert "Nothing waits on your decision." in text_of(mine)

    theirs = await world.open_home(APPROVERS[0])
    assert (ids.HOME_APPROVE_ACTION, str(request.id)) in buttons(theirs)
    assert (ids.DENY_ACTION, str(request.id)) in buttons(theirs)
    assert GOOD_REASON in text_of(theirs)
    assert f"<@{REQUESTER}>" in text_of(theirs)
    assert "You have no requests yet." in text_of(theirs)

    outsider = await world.open_home(OUTSIDER)
    shown = text_of(outsider)
    assert f"#{request.id}" not in shown
    assert GOOD_REASON not in shown
    assert not any(name in shown for name in names)
    assert {a for a, _ in buttons(outsider)} == {ids.HOME_NEW_REQUEST_ACTION}


async def test_the_messages_tab_publishes_nothing(world: World) -> None:
    since = world.slack.call_count
    answers = await world.requests.deliver_event(
        f"{world.bot_url}/slack/events",
        world.requests.app_home_opened(user_id=REQUESTER, tab="messages"),
        world.http,
    )
    assert answers == [(200, "")]
    await world.open_home(APPROVERS[0])  # a later event is served: the first one was not
    assert [c.args.get("user_id") for c in publishes(world, since)] == [APPROVERS[0]]


async def test_new_request_opens_the_form(world: World) -> None:
    await world.open_home(REQUESTER)
    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_NEW_REQUEST_ACTION, None)
    call = await world.slack.wait_for("views.open", None, 10.0, since=since)
    assert call.ok, call.response
    assert world.slack.open_views(REQUESTER)[-1].callback_id == ids.REQUEST_MODAL


async def test_approve_from_home_runs_it_and_updates_the_card(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.open_home(APPROVERS[0])
    since = world.slack.call_count
    await click_home(world, APPROVERS[0], ids.HOME_APPROVE_ACTION, str(request.id))
    answered = await published_for(
        world, APPROVERS[0], f"Approved. Request #{request.id} is running now.", since
    )
    assert (ids.HOME_APPROVE_ACTION, str(request.id)) not in buttons(answered)
    await card_where(world, request.id, card_says(f"approved by <@{APPROVERS[0]}>"))
    await eventually(
        lambda: _final(world, request.id), 20.0, f"request #{request.id} finished after a Home approval"
    )


async def _final(world: World, request_id: int) -> bool:
    return (await status_of(world, request_id)).is_final


@pytest.mark.parametrize(
    ("clicker", "refusal"),
    [
        (OUTSIDER, "You are not an approver for target demo-aksk"),
        (REQUESTER, "You cannot approve or deny your own request"),
    ],
)
async def test_a_crafted_approve_on_the_home_tab_is_refused(world: World, clicker: str, refusal: str) -> None:
    """A button the person was never shown, forged with a real request number: the workflow's checks
    on fresh facts refuse it, and the refusal is on their Home tab."""
    request = await submit_request(world, resettable_servers(world, 1))
    since = world.slack.call_count
    await click_home(world, clicker, ids.HOME_APPROVE_ACTION, str(request.id))
    answered = await published_for(world, clicker, refusal, since)
    assert GOOD_REASON not in text_of(answered)  # the refusal shows nothing of the request itself
    assert await status_of(world, request.id) == RequestStatus.PENDING
    assert "approved by" not in block_texts(card(world, request.id).blocks)


async def test_deciding_twice_or_on_a_settled_request_says_so(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1), target="demo-iam", reason="broken")
    approver, other = APPROVERS
    since = world.slack.call_count
    await click_home(world, approver, ids.HOME_APPROVE_ACTION, str(request.id))
    await published_for(world, approver, f"Request #{request.id} needs 1 more approval(s).", since)
    since = world.slack.call_count
    await click_home(world, approver, ids.HOME_APPROVE_ACTION, str(request.id))
    await published_for(world, approver, f"You have already decided on request #{request.id}.", since)

    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_CANCEL_ACTION, str(request.id))
    await published_for(world, REQUESTER, f"Request #{request.id} cancelled.", since)
    since = world.slack.call_count
    await click_home(world, other, ids.HOME_APPROVE_ACTION, str(request.id))
    await published_for(world, other, f"Request #{request.id} is already cancelled.", since)
    assert await status_of(world, request.id) == RequestStatus.CANCELLED
    await card_where(world, request.id, card_says("Cancelled"))


async def test_deny_from_home_asks_for_a_reason_as_on_the_card(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    denier = APPROVERS[1]
    await world.open_home(REQUESTER)
    await world.open_home(denier)
    since = world.slack.call_count
    await click_home(world, denier, ids.DENY_ACTION, str(request.id))
    await world.slack.wait_for("views.open", None, 10.0, since=since)
    [modal] = world.slack.open_views(denier)
    assert modal.callback_id == ids.DENY_MODAL
    values = deny_values("freeze")
    status, answer = await world.send(
        world.requests.view_submission(user_id=denier, view=world.slack.view_payload(modal.id), values=values)
    )
    assert status == 200
    assert "errors" not in answer
    assert await status_of(world, request.id) == RequestStatus.DENIED
    await card_where(world, request.id, card_says(f"denied by <@{denier}>"))
    # Both Home tabs follow: gone from the approver's list, denied on the requester's.
    theirs = await published_for(world, denier, "Nothing waits on your decision.", since)
    assert (ids.HOME_APPROVE_ACTION, str(request.id)) not in buttons(theirs)
    mine = await published_for(world, REQUESTER, "Denied: ", since)
    assert "freeze" in text_of(mine)
    assert (ids.HOME_CANCEL_ACTION, str(request.id)) not in buttons(mine)


async def test_reveal_from_home_shows_the_password_once_and_the_home_tab_never_carries_it(
    world: World,
) -> None:
    request = await submit_request(world, resettable_servers(world, 2))
    await world.open_home(REQUESTER)
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    _, passwords = await delivered_passwords(world, request.id)
    assert passwords
    offered = await published_for(world, REQUESTER, "can be revealed once", 0)
    assert (ids.HOME_REVEAL_ACTION, str(request.id)) in buttons(offered)

    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_REVEAL_ACTION, str(request.id))
    shown = await world.slack.wait_for("views.open", None, 10.0, since=since)
    assert shown.ok, shown.response
    assert passwords_by_server(view_json(shown)["blocks"]) == passwords
    after = await published_for(world, REQUESTER, "Done", since)
    assert (ids.HOME_REVEAL_ACTION, str(request.id)) not in buttons(after)
    offer = await reveal_offer(world, request.id)  # the DM's offer says it was used, as after its own click
    await eventually(
        lambda: "were revealed" in block_texts(world.slack.message(offer.channel, offer.ts).blocks),
        10.0,
        "the DM's Reveal offer marked revealed",
    )

    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_REVEAL_ACTION, str(request.id))  # a stale button
    again = await world.slack.wait_for("views.open", None, 10.0, since=since)
    assert "already revealed once" in block_texts(view_json(again)["blocks"])

    # The canary: no Home tab anyone was ever shown carries the password.
    for call in world.slack.calls("views.publish"):
        for password in passwords.values():
            assert password not in str(call.args)


async def test_cancel_from_home(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.open_home(REQUESTER)
    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_CANCEL_ACTION, str(request.id))
    mine = await published_for(world, REQUESTER, f"Request #{request.id} cancelled.", since)
    assert (ids.HOME_CANCEL_ACTION, str(request.id)) not in buttons(mine)
    assert await status_of(world, request.id) == RequestStatus.CANCELLED
    await card_where(world, request.id, card_says("Cancelled"))


WorldFactory = Callable[..., Awaitable[World]]


async def test_a_burst_of_changes_is_one_publish_per_person(make_world: WorldFactory) -> None:
    world = await make_world(
        tuning=Tuning(
            sweep_interval_s=1.0, job_poll_interval_s=0.05, drain_timeout_s=5.0, home_refresh_s=None
        )
    )
    involved = sorted([REQUESTER, *APPROVERS])

    def published(since: int) -> list[str]:
        return sorted(str(c.args.get("user_id")) for c in publishes(world, since))

    for person in [*involved, OUTSIDER]:  # everyone has the tab open; the outsider is not involved
        await world.open_home(person)
    request = await submit_request(world, resettable_servers(world, 2))  # submitted, then ready
    await world.runtime.tasks.idle()
    since = world.slack.call_count
    assert await world.runtime.home.flush() == len(involved)
    assert published(since) == involved

    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))  # executing, delivered, done
    await eventually(lambda: _final(world, request.id), 20.0, "the approved request finished")
    await world.runtime.tasks.idle()
    since = world.slack.call_count
    assert await world.runtime.home.flush() == len(involved)
    assert published(since) == involved  # one each, the outsider none
    assert "Done" in text_of(world.slack.homes_published(REQUESTER)[-1])
    assert await world.runtime.home.flush() == 0


async def test_only_people_looking_at_their_home_tab_are_refreshed(world: World) -> None:
    """Opening the tab always publishes it fresh, so a change is published only to those who opened it
    lately: a target's whole approver group is not sent a Home tab at every change."""
    await world.open_home(APPROVERS[0])
    since = world.slack.call_count
    request = await submit_request(world, resettable_servers(world, 1))
    await published_for(world, APPROVERS[0], f"#{request.id}", since)
    await world.runtime.tasks.idle()
    assert {c.args.get("user_id") for c in publishes(world, since)} == {APPROVERS[0]}


async def test_a_refused_publish_breaks_nothing_and_the_clicker_hears_by_dm(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    approver = APPROVERS[0]
    await world.open_home(REQUESTER)
    world.slack.fail("views.publish", "internal_error", times=None, user=approver)
    since = world.slack.call_count
    answers = await world.requests.deliver_event(
        f"{world.bot_url}/slack/events", world.requests.app_home_opened(user_id=approver), world.http
    )
    assert answers == [(200, "")]  # answered at once, never redelivered
    refused = await world.slack.wait_for("views.publish", lambda c: not c.ok, 10.0, since=since)
    assert refused.error == "internal_error"
    async with world.http.get(f"{world.bot_url}/metrics") as answer:  # classified like every refusal
        metrics = await answer.text()
    labels = 'error="internal_error",kind="retry_later",method="views.publish"'
    counted = f"ecs_reset_slack_refusals_total{{{labels}}}"
    assert counted in metrics

    await click_home(world, approver, ids.HOME_APPROVE_ACTION, str(request.id))
    told = await world.slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == world.slack.dm_channel(approver) and "Approved." in str(c.args),
        15.0,
        since=since,
    )
    assert told.ok
    await card_where(world, request.id, card_says(f"approved by <@{approver}>"))
    # Everyone else's Home tab still follows the change.
    await published_for(world, REQUESTER, "Done", since)


async def test_url_verification_is_answered_with_the_challenge(world: World) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    status, body = await world.send(url_verification(world, challenge))
    assert status == 200
    assert challenge in body


async def test_the_home_tab_in_socket_mode(make_world: WorldFactory) -> None:
    """The same event as an Events API envelope over the bot's own WebSocket to the (fake) Slack."""
    world = await make_world(env={"BOT_MODE": "socket", "SLACK_APP_TOKEN": FAKE_APP_TOKEN})
    link = SocketModeLink(
        world.runtime.app, FAKE_APP_TOKEN, world.runtime.health, client=world.runtime.slack_client
    )
    await link.connect()
    try:
        since = world.slack.call_count
        assert await world.slack.socket_deliver(world.requests.app_home_opened(user_id=REQUESTER)) == {}
        home = await published_for(world, REQUESTER, "You have no requests yet.", since)
        assert ids.HOME_NEW_REQUEST_ACTION in dict(buttons(home))
        click = world.requests.block_actions(
            user_id=REQUESTER,
            action_id=ids.HOME_NEW_REQUEST_ACTION,
            view={"id": world.slack.home(REQUESTER).id},
        )
        await world.slack.socket_deliver(click)
        opened = await world.slack.wait_for("views.open", None, 10.0, since=since)
        assert opened.ok, opened.response
        assert world.slack.open_views(REQUESTER)[-1].callback_id == ids.REQUEST_MODAL
    finally:
        await link.close()


async def test_approve_from_home_on_an_expired_request_says_so(make_world: WorldFactory) -> None:
    clock = FakeClock()
    # The sweeper would expire it first: it runs once at start, then not again during the test.
    tuning = Tuning(sweep_interval_s=3600.0, job_poll_interval_s=0.05, drain_timeout_s=5.0)
    world = await make_world(clock=clock, tuning=tuning)
    request = await submit_request(world, resettable_servers(world, 1))
    clock.advance(timedelta(hours=2))  # demo-aksk's requests expire after 1 h
    since = world.slack.call_count
    await click_home(world, APPROVERS[0], ids.HOME_APPROVE_ACTION, str(request.id))
    await published_for(world, APPROVERS[0], f"Request #{request.id} has expired.", since)
    assert await status_of(world, request.id) == RequestStatus.EXPIRED
    await card_where(world, request.id, card_says("Expired"))


async def test_crafted_cancel_and_reveal_of_someone_elses_request_are_refused(world: World) -> None:
    request = await submit_request(world, resettable_servers(world, 1))
    await world.click(APPROVERS[0], ids.APPROVE_ACTION, card(world, request.id))
    await delivered_passwords(world, request.id)  # its one-time reveal is armed now
    since = world.slack.call_count
    await click_home(world, OUTSIDER, ids.HOME_REVEAL_ACTION, str(request.id))
    refused = await world.slack.wait_for("views.open", None, 10.0, since=since)
    assert "Only the requester can reveal this password." in block_texts(view_json(refused)["blocks"])
    assert (await world.runtime.store.revealable(REQUESTER, [request.id], datetime.now(UTC))) != {}

    pending = await submit_request(world, resettable_servers(world, 1, skip=1))
    since = world.slack.call_count
    await click_home(world, OUTSIDER, ids.HOME_CANCEL_ACTION, str(pending.id))
    await published_for(world, OUTSIDER, f"can cancel request #{pending.id}", since)
    assert await status_of(world, pending.id) == RequestStatus.PENDING


async def test_a_home_tab_refused_for_a_passing_reason_is_published_at_the_next_refresh(world: World) -> None:
    world.slack.fail("views.publish", "internal_error", times=1, user=APPROVERS[0])
    since = world.slack.call_count
    answers = await world.requests.deliver_event(
        f"{world.bot_url}/slack/events", world.requests.app_home_opened(user_id=APPROVERS[0]), world.http
    )
    assert answers == [(200, "")]
    published = await world.slack.wait_for(
        "views.publish", lambda c: c.ok and c.args.get("user_id") == APPROVERS[0], 10.0, since=since
    )
    refused = [c for c in world.slack.calls()[since:] if c.method == "views.publish" and not c.ok]
    assert [c.error for c in refused] == ["internal_error"]
    assert "Waiting for your decision" in text_of(view_json(published))
