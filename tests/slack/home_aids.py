"""Home tab moves the tests share: a click on it as Slack sends it, and reading what was published."""

from __future__ import annotations

from typing import Any

from slack_helpers import block_texts, view_json

from bot.demo import World
from bot.simulator.slack import SlackCall, StoredView

JsonDict = dict[str, Any]


async def click_home(world: World, user: str, action_id: str, value: str | None) -> None:
    """A click on the person's Home tab as Slack sends it (container `view`), `value` as given: a
    crafted value is a click on a button the person was never shown."""
    home = world.slack.home(user)
    view: JsonDict = {"id": home.id} if home is not None else {"type": "home"}
    request = world.requests.block_actions(user_id=user, action_id=action_id, value=value, view=view)
    status, _ = await world.send(request)
    assert status == 200


async def published_for(world: World, user: str, text: str, since: int = 0) -> JsonDict:
    """The Home tab published for `user` (after call `since`) whose text holds `text`."""
    call = await world.slack.wait_for(
        "views.publish",
        lambda c: c.args.get("user_id") == user and text in text_of(view_json(c)),
        15.0,
        since=since,
    )
    assert call.ok, call.response
    return view_json(call)


def publishes(world: World, since: int) -> list[SlackCall]:
    """The views.publish calls Slack took since call number `since`."""
    return [c for c in world.slack.calls()[since:] if c.method == "views.publish" and c.ok]


def text_of(home: StoredView | JsonDict) -> str:
    view = home.view if isinstance(home, StoredView) else home
    return block_texts(view["blocks"])


def buttons(home: StoredView | JsonDict) -> list[tuple[str, str]]:
    """(action_id, value) of every button on the Home tab."""
    view = home.view if isinstance(home, StoredView) else home
    return [
        (str(e["action_id"]), str(e.get("value") or ""))
        for b in view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict) and e.get("type") == "button"
    ]
