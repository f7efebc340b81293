"""The Home tab over signed HTTP: what each person sees, its buttons under every check of the card's,
refreshes coalesced per person, and refusals of views.publish that break nothing."""

from __future__ import annotations

import json
from typing import Any

from slack_helpers import (
    APPROVERS,
    GOOD_REASON,
    OUTSIDER,
    REQUESTER,
    block_texts,
    resettable_servers,
    submit_request,
)

from bot.demo import World
from bot.simulator.slack_api import StoredView
from bot.slack import ids

JsonDict = dict[str, Any]


async def open_home(world: World, user: str) -> StoredView:
    """The person opens the bot's Home tab: the event over HTTP, then the view Slack shows them."""
    since = world.slack.call_count
    answers = await world.requests.deliver_event(
        f"{world.bot_url}/slack/events", world.requests.app_home_opened(user_id=user), world.http
    )
    assert answers[-1][0] == 200, answers
    await world.slack.wait_for("views.publish", lambda c: c.args.get("user_id") == user, 10.0, since=since)
    home = world.slack.home(user)
    assert home is not None
    return home


async def click_home(world: World, user: str, action_id: str, value: str | None) -> None:
    """A click on the person's Home tab as Slack sends it (container `view`), `value` as given: a
    crafted value is a click on a button the person was never shown."""
    home = world.slack.home(user)
    view: JsonDict = {"id": home.id} if home is not None else {"type": "home"}
    request = world.requests.block_actions(user_id=user, action_id=action_id, value=value, view=view)
    status, _ = await world.send(request)
    assert status == 200


async def notice_for(world: World, user: str, text: str, since: int = 0) -> str:
    """The Home tab published for `user` (after call `since`) whose text holds `text`."""
    call = await world.slack.wait_for(
        "views.publish",
        lambda c: c.args.get("user_id") == user and text in str(c.args.get("view")),
        15.0,
        since=since,
    )
    assert call.ok, call.response
    return text_of(
        call.args["view"] if isinstance(call.args["view"], dict) else json.loads(call.args["view"])
    )


def text_of(home: StoredView | JsonDict) -> str:
    view = home.view if isinstance(home, StoredView) else home
    return block_texts(view["blocks"])


def buttons(home: StoredView) -> list[tuple[str, str]]:
    """(action_id, value) of every button on the Home tab."""
    return [
        (str(e["action_id"]), str(e.get("value") or ""))
        for b in home.view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict) and e.get("type") == "button"
    ]


async def test_each_person_sees_what_concerns_them_and_an_outsider_nothing_of_others(world: World) -> None:
    names = resettable_servers(world, 2)
    request = await submit_request(world, names)

    mine = await open_home(world, REQUESTER)
    assert f"#{request.id}" in text_of(mine)
    assert "Waiting for approval" in text_of(mine)
    assert all(name in text_of(mine) for name in names)
    assert (ids.HOME_CANCEL_ACTION, str(request.id)) in buttons(mine)
    assert ids.HOME_APPROVE_ACTION not in dict(buttons(mine))  # nobody approves their own request
    assert "Nothing waits on your decision." in text_of(mine)

    theirs = await open_home(world, APPROVERS[0])
    assert (ids.HOME_APPROVE_ACTION, str(request.id)) in buttons(theirs)
    assert (ids.DENY_ACTION, str(request.id)) in buttons(theirs)
    assert GOOD_REASON in text_of(theirs) and f"<@{REQUESTER}>" in text_of(theirs)
    assert "You have no requests yet." in text_of(theirs)

    outsider = await open_home(world, OUTSIDER)
    shown = text_of(outsider)
    assert f"#{request.id}" not in shown and GOOD_REASON not in shown
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
    await open_home(world, APPROVERS[0])  # a later event is served: the first one was not
    assert [c.args.get("user_id") for c in world.slack.calls("views.publish")[since:]] == [APPROVERS[0]]


async def test_new_request_opens_the_form(world: World) -> None:
    await open_home(world, REQUESTER)
    since = world.slack.call_count
    await click_home(world, REQUESTER, ids.HOME_NEW_REQUEST_ACTION, None)
    call = await world.slack.wait_for("views.open", None, 10.0, since=since)
    assert call.ok, call.response
    assert world.slack.open_views(REQUESTER)[-1].callback_id == ids.REQUEST_MODAL
